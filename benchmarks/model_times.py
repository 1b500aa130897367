"""How long one run of each model under /static/models/ takes in headless Chromium with onnxruntime-web's wasm
backend and the widget's session options (median after warm-up), served by the running server; how the models'
variants and precisions were compared (`benchmarks.browser` measures the whole widget).

    python -m benchmarks.model_times [FILE ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from runtime.onnx_models import onnx_session
from runtime.paths import MODELS_DIR, WIDGET_MODELS_DIR
from tests.browser_harness import find_chromium
from tests.server_process import running_server

SCRIPT = Path(__file__).with_name("model_times.js")
SERVED_MODELS = (WIDGET_MODELS_DIR, MODELS_DIR)
"""The folders the server answers /static/models/ from: the browser's copies of the widget's models (ORT format),
and the ONNX models."""
PAGE = "/benchmark-model-times"
ISOLATION = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp",
             "Content-Type": "text/html"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="*", help="model file names under /static/models/ (default: all)")
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--threads", type=int, default=2, help="wasm threads, as the widget plans them on 2 cores")
    return p.parse_args(argv)


def input_side(path: Path) -> int:
    """The side of a model's square image input, from its graph."""
    return int(onnx_session(path, "model", threads=1).get_inputs()[0].shape[-1])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    served = {path.name: path for folder in SERVED_MODELS for pattern in ("*.ort", "*.onnx")
              for path in folder.glob(pattern)}
    files = [served[name] for name in args.files or sorted(served)]
    chromium = find_chromium()
    if chromium is None:
        print("Chromium not found (`make setup` installs it)", file=sys.stderr)
        return 2
    models = [[f.name, input_side(f), 1] for f in files]
    with running_server() as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        page = browser.new_page()
        page.route(f"{server.url}{PAGE}", lambda route: route.fulfill(status=200, headers=ISOLATION, body=""))
        page.goto(f"{server.url}{PAGE}")
        result = page.evaluate(SCRIPT.read_text(), {"ortUrl": f"{server.url}/static/ort/",
                                                    "modelsUrl": f"{server.url}/static/models/", "models": models,
                                                    "threads": args.threads, "runs": args.runs})
        version = browser.version
        browser.close()
    print(f"headless Chromium {version}, onnxruntime-web wasm, {result['threads']} thread(s) "
          f"(cross-origin isolated: {result['isolated']}), median of {args.runs} runs")
    for name, ms in result["medians"].items():
        size = served[name].stat().st_size / 1e6
        print(f"{name:32} {ms:7.1f} ms  ({size:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Write the browser's copies of the widget's three models in onnxruntime's own ORT format (`static/widget/models/`).

    python -m export.ort_format     # `make setup` runs it; `python -m export.to_onnx` also writes the ones it exports

onnxruntime optimises each graph here once (folding the float16 weights' casts and the int8 model's
quantize/dequantize pairs), instead of in every participant's browser while the first result waits; the
metadata travels along. The layout step ('all') is left to the browser: it depends on the machine. See
docs/decisions.md#models-in-onnxruntimes-own-format-for-the-browser.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import onnxruntime as ort

from runtime.onnx_models import onnx_session
from runtime.paths import CLASSIFIER_INT8, HAND_LANDMARKS, MODELS_DIR, PALM_DETECTOR, WIDGET_MODELS_DIR

WIDGET_MODELS = {CLASSIFIER_INT8: "gesture classifier", PALM_DETECTOR: "palm detector",
                 HAND_LANDMARKS: "hand landmark model"}
"""The ONNX files of the widget's models, with what each is (for errors)."""


def write_ort_format(onnx_path: Path, folder: Path, what: str) -> Path:
    """`onnx_path` in ORT format in `folder` (`.ort` for `.onnx`), its graph optimised to onnxruntime's 'extended'
    level; a missing or damaged ONNX file is a ModelFileError naming it and `what`."""
    onnx_session(onnx_path, what, threads=1)  # the clear error for a missing or damaged file
    out = folder / onnx_path.with_suffix(".ort").name
    folder.mkdir(parents=True, exist_ok=True)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(out)
    options.add_session_config_entry("session.save_model_format", "ORT")
    options.intra_op_num_threads = 1
    ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", type=Path, default=MODELS_DIR, help="folder of the widget's ONNX models")
    p.add_argument("--out", type=Path, default=WIDGET_MODELS_DIR, help="folder of the browser's copies")
    args = p.parse_args(argv)
    for name, what in WIDGET_MODELS.items():
        out = write_ort_format(args.models / name, args.out, what)
        print(f"{out}: {out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()

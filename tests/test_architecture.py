"""The house's one-way rule: the runtime at the bottom needs only numpy, Pillow and onnxruntime; training, export,
the command-line tools and the server build on it; research sits on top, imported by none of them; no import cycle
between the top-level packages."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from runtime.paths import ROOT
from tests.conftest import manifest_rows
from tests.without_imports import REFUSED

PACKAGES = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file() and p.name != "tests")
RUNTIME_MAY_IMPORT = {"numpy", "PIL", "onnxruntime", "runtime"}


def imports_of(package: str) -> set[str]:
    """Top-level names of every absolute import in a package, at module level or inside functions."""
    names = set()
    for file in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


def test_no_import_cycle_between_top_level_packages() -> None:
    edges = {package: imports_of(package) & set(PACKAGES) - {package} for package in PACKAGES}
    assert {"runtime", "training", "export", "webapp", "research"} <= set(edges)
    done: set[str] = set()

    def visit(package: str, path: tuple[str, ...]) -> None:
        assert package not in path, "import cycle: " + " -> ".join((*path, package))
        if package not in done:
            for imported in sorted(edges[package]):
                visit(imported, (*path, package))
            done.add(package)

    for package in PACKAGES:
        visit(package, ())


def test_nothing_builds_on_research() -> None:
    importers = [package for package in PACKAGES if package != "research" and "research" in imports_of(package)]
    assert not importers, f"research is the top layer, yet imported by {importers}"


def test_the_runtime_needs_only_numpy_pillow_and_onnxruntime() -> None:
    third_party = {name for name in imports_of("runtime") if name not in sys.stdlib_module_names}
    assert third_party <= RUNTIME_MAY_IMPORT, sorted(third_party - RUNTIME_MAY_IMPORT)


def test_the_server_builds_on_the_runtime_alone() -> None:
    assert imports_of("webapp") & set(PACKAGES) <= {"webapp", "runtime"}


def run_without_torch(module: str, *args: str) -> subprocess.CompletedProcess:
    """`python -m MODULE ARGS` from the repository root, where importing torch or torchvision raises ImportError."""
    return subprocess.run([sys.executable, "-m", "tests.without_imports", "torch", module, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def test_the_blocker_really_blocks_torch() -> None:
    result = run_without_torch("training.inference")
    assert result.returncode != 0 and f"{REFUSED} torch" in result.stderr


def test_predict_and_frame_evaluation_run_without_torch(data_dir: Path, tmp_path: Path) -> None:
    frames = [r for r in manifest_rows(data_dir) if r["kind"] == "frame" and r["split"] == "test"]
    chosen = [next(r for r in frames if r["label"] == label) for label in ("like", "dislike", "ok", "none")]
    predicted = run_without_torch("export.predict", *(str(data_dir / r["path"]) for r in chosen))
    assert predicted.returncode == 0, predicted.stderr
    assert [line.split(": ")[0] for line in predicted.stdout.splitlines()] == [str(data_dir / r["path"])
                                                                                for r in chosen]
    # a frame evaluation of the shipped export on a few real frames, through the training CLI
    small = tmp_path / "data"
    for row in chosen:
        (small / row["path"]).parent.mkdir(parents=True, exist_ok=True)
        (small / row["path"]).write_bytes((data_dir / row["path"]).read_bytes())
    header = list(chosen[0])
    (small / "manifest.csv").write_text(",".join(header) + "\n" + "".join(
        ",".join(json.dumps(r[k]) if "," in r[k] else r[k] for k in header) + "\n" for r in chosen))
    out = tmp_path / "frames.json"
    evaluated = run_without_torch("training.evaluate", "--data", str(small), "--kind", "frame", "--json", str(out))
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(out.read_text())
    assert report["n"] == len(chosen) and report["model_file"] == "classifier.int8.onnx"
    assert REFUSED not in predicted.stderr + evaluated.stderr

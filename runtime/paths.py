"""Where things are by default: the shared data, the exported models, the caches. The one place that reads the
environment variables that move them (`GESTURE_DATA`, `GESTURE_REACTIONS_CACHE`, `GESTURE_REACTIONS_WEIGHTS`)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
"""The repository (or installed project) root."""

WIDGET_DIR = ROOT / "static" / "widget"
"""The widget's npm package: exactly what its package.json publishes (served under /static/ and /widget/{version}/)."""
PAGES_DIR = ROOT / "static" / "pages"
"""The demo, meeting and call pages' own scripts and CSS (served under /static/ beside the widget's)."""
MODELS_DIR = ROOT / "export" / "models"
"""The models as exported, in ONNX: what the Python runtime runs, and what the browser's copies are written from."""
WIDGET_MODELS_DIR = WIDGET_DIR / "models"
"""The browser's copies of the widget's three models, in onnxruntime's ORT format, published with the widget
(`browser_model`)."""

CLASSIFIER_INT8 = "classifier.int8.onnx"
CLASSIFIER_FP32 = "classifier.fp32.onnx"
PALM_VARIANT = "lite"
PALM_DETECTOR = f"palm_detection_{PALM_VARIANT}.onnx"
LANDMARK_VARIANT = "lite"
HAND_LANDMARKS = f"hand_landmark_{LANDMARK_VARIANT}.onnx"

SHIPPED_CHECKPOINT = ROOT / "training" / "weights" / "classifier.pt"
"""The classifier the project ships, in PyTorch: what evaluation and the export use when given no other."""
POSE_ENCODER = ROOT / "training" / "weights" / "pose_encoder.json"
"""The shipped pose encoder's weights (`training.pose_encoder`), which the export writes into the landmark model."""


def data_dir() -> Path:
    """The gesture dataset: `$GESTURE_DATA`, else `../shared/data/gestures` beside the repository."""
    return Path(os.environ.get("GESTURE_DATA", ROOT.parent / "shared" / "data" / "gestures"))


def recorded(path: str | Path) -> str:
    """`path` as the shipped model's records keep it: inside the repository (`runs/`) or the shared folder beside
    it, relative to the repository, so that no machine's own folders land in committed files; any other path as
    given."""
    if any(Path(path).is_absolute() and Path(path).is_relative_to(base) for base in (ROOT, ROOT.parent / "shared")):
        return os.path.relpath(path, ROOT)
    return str(path)


def cache_dir() -> Path:
    """Decoded images, pipeline-cut crops and the widget's files compressed ahead: `$GESTURE_REACTIONS_CACHE`, else
    `~/.cache/gesture-reactions`."""
    return Path(os.environ.get("GESTURE_REACTIONS_CACHE", Path.home() / ".cache" / "gesture-reactions"))


def weights_dir() -> Path:
    """Third-party weights fetched at set-up: `$GESTURE_REACTIONS_WEIGHTS`, else `~/.cache/gesture-reactions/weights`
    (apart from the image cache, so that a fresh image cache downloads nothing)."""
    return Path(os.environ.get("GESTURE_REACTIONS_WEIGHTS", Path.home() / ".cache" / "gesture-reactions" / "weights"))


def browser_model(onnx_name: str) -> Path:
    """The browser's ORT-format copy of one of the widget's ONNX models, e.g. `classifier.int8.onnx` ->
    static/widget/models/classifier.int8.ort (written by `export.ort_format`)."""
    return WIDGET_MODELS_DIR / Path(onnx_name).with_suffix(".ort").name


def classifier_model() -> Path:
    """The int8 classifier the widget runs."""
    return MODELS_DIR / CLASSIFIER_INT8


def palm_model() -> Path:
    """The palm detector the widget runs (built at set-up)."""
    return MODELS_DIR / PALM_DETECTOR


def landmark_model() -> Path:
    """MediaPipe's hand landmark model (built at set-up)."""
    return MODELS_DIR / HAND_LANDMARKS

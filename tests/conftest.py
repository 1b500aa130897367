"""Shared fixtures. Tests that need real images read them from ../shared/data/gestures
(or $GESTURE_DATA); without it they are skipped with a message saying so, except under CI, where
a missing dataset is a failure."""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image

from export.ort_format import write_ort_format
from runtime.images import read_rgb
from runtime.paths import SHIPPED_CHECKPOINT, classifier_model, data_dir
from runtime.settings import PipelineSettings, RaiseHandSettings
from runtime.tracking import _square, signature
from tests.browser_harness import FakeCameraBrowser, fake_camera_browser, missing_system_tools
from tests.server_process import running_server
from training.gestures import LABEL_SETS, emoji_of, names_of

DATA = data_dir()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA / "manifest.csv").is_file():
        message = (f"real images not found: expected {DATA}/manifest.csv "
                   "(the shared gesture dataset; set GESTURE_DATA to its folder)")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return DATA


@pytest.fixture(scope="session")
def node() -> str:
    """Node.js, which runs the widget's modules in tests; missing, the tests skip (fail under CI)."""
    path = shutil.which("node")
    if path is None:
        message = "Node.js not found: the widget's module tests need it (`make setup` installs the npm packages)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeCameraBrowser]:
    """Headless Chromium with a fake camera, one per test module (skipped without it, failed under CI)."""
    if missing := missing_system_tools():
        message = (f"not installed: {', '.join(missing)} (the browser tests need Debian's chromium and ffmpeg; "
                   "`make setup` installs them)")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with fake_camera_browser(tmp_path_factory.mktemp("camera")) as browser:
        yield browser


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The app, started as `python -m webapp`, one per test module: its base URL."""
    with running_server() as server:
        yield server.url


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test session decodes into its own cache, so tests never depend on a developer's cache."""
    monkeypatch.setenv("GESTURE_REACTIONS_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def manifest_rows(data_dir: Path) -> list[dict[str, str]]:
    with (data_dir / "manifest.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def make_small_dataset(data_dir: Path, target: Path, per_class: dict[str, int], frames: int = 0) -> Path:
    """A copy of a few real crops per (split, label) in the shared manifest layout, and `frames` training frames
    per label."""
    taken: dict[tuple[str, ...], int] = {}
    kept = []
    for row in manifest_rows(data_dir):
        key = (row["kind"], row["split"], row["label"])
        wanted = per_class.get(row["split"], 0) if row["kind"] == "crop" else frames * (row["split"] == "train")
        if taken.get(key, 0) < wanted:
            taken[key] = taken.get(key, 0) + 1
            kept.append(row)
    return copy_rows(data_dir, kept, target)


def copy_rows(data_dir: Path, rows: list[dict[str, str]], target: Path) -> Path:
    """`rows` of the shared manifest, their images copied, as a dataset of their own in the manifest layout."""
    for row in rows:
        (target / row["path"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(data_dir / row["path"], target / row["path"])
    with (target / "manifest.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return target


def copy_with_metadata(source: Path, target: Path, key: str, value: str | None) -> Path:
    """`source` with metadata `key` set to `value` (None: removed)."""
    model = onnx.load(str(source))
    entries = {p.key: p.value for p in model.metadata_props if p.key != key}
    if value is not None:
        entries[key] = value
    del model.metadata_props[:]
    for name, text in entries.items():
        model.metadata_props.add(key=name, value=text)
    onnx.save(model, str(target))
    return target


def with_raise_hand(folder: Path) -> Path:
    """The shipped classifier with its OK sign and raise hand swapped in its labels, and raise hand among the default
    gestures, as an export writes such metadata (and its ORT-format copy, for the browser, beside it): OK photos
    then raise the hand, to test the widget's raise-hand state on the real photos of the clips."""
    settings = RaiseHandSettings()
    labels = list(LABEL_SETS["extended"])
    ok, raised = labels.index("ok"), labels.index(settings.label)
    labels[ok], labels[raised] = labels[raised], labels[ok]
    metadata = {"labels": json.dumps(labels), "emoji": json.dumps(emoji_of(labels)),
                "names": json.dumps(names_of(labels)), "raise_hand": json.dumps(asdict(settings)),
                "default_gestures": json.dumps(["like", "dislike", settings.label])}
    model = classifier_model()
    for key, value in metadata.items():
        model = copy_with_metadata(model, folder / f"classifier-{key}.onnx", key, value)
    write_ort_format(model, model.parent, "gesture classifier")
    return model


def swayed_and_raised(data_dir: Path, count: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """`count` real photos of people (`none` frames), each seen through a window of the photo, the same window moved
    12 px and re-lit by 2% (a participant swaying), and the first with a real thumbs-up crop pasted in (a hand
    raised), as frame-square signatures (shipped settings)."""
    rows = sorted((r for r in manifest_rows(data_dir) if r["kind"] == "frame" and r["split"] == "test"),
                  key=lambda r: r["path"])
    crops = sorted((r for r in manifest_rows(data_dir) if r["kind"] == "crop" and r["label"] == "like"),
                   key=lambda r: r["path"])
    nones, crop = [r for r in rows if r["label"] == "none"][:count], crops[0]
    settings = PipelineSettings()
    cases = []
    for row in nones:
        image = read_rgb(data_dir / row["path"])
        height, width = image.shape[:2]
        first, swayed = image[:, :width - 12], np.clip(image[:, 12:] * 1.02, 0, 255).astype(np.uint8)
        raised = Image.fromarray(first)
        side = height // 4
        raised.paste(Image.open(data_dir / crop["path"]).convert("RGB").resize((side, side)), (width // 3, height // 3))
        square = _square(None, width - 12, height)  # the letterboxed frame's square, as the search takes it
        cases.append(tuple(signature(frame, square, settings) for frame in (first, swayed, np.asarray(raised))))
    return cases


@pytest.fixture(scope="session")
def four_label(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The shipped classifier's four-label network alone (its base, before the branch was grafted on), as a
    checkpoint and as a float32 ONNX file with an export's metadata: what the research rows and the `none` prior
    were measured on."""
    from export.classifier_onnx import export_fp32, metadata
    from training.checkpoint import load_checkpoint, save_checkpoint
    from training.gestures import LABELS

    folder = tmp_path_factory.mktemp("four-label")
    model, meta = load_checkpoint(SHIPPED_CHECKPOINT)
    checkpoint = folder / "classifier.pt"
    save_checkpoint(checkpoint, model.base, "efficientnet_lite0_slim", LABELS)
    base_meta = {**meta, "model": "efficientnet_lite0_slim", "labels": list(LABELS)}
    return checkpoint, export_fp32(checkpoint, folder / "classifier.onnx", metadata(base_meta, None, "test", "float32"))

"""The exported classifier: int8 and fp32 agree with PyTorch on real crops, its metadata says what the browser
needs, an export is deterministic, and bad model files fail with their path; the browser's ORT-format copies of the
widget's models read and run as the ONNX files."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from PIL import Image

from export import to_onnx
from export.classifier_onnx import calibration_crops, export_fp32, metadata, quantize_int8
from export.ort_format import WIDGET_MODELS, write_ort_format
from runtime.classifier import OnnxClassifier
from runtime.images import read_rgb
from runtime.onnx_models import ModelFileError, onnx_session
from runtime.paths import (
    CLASSIFIER_FP32,
    CLASSIFIER_INT8,
    MODELS_DIR,
    PALM_DETECTOR,
    SHIPPED_CHECKPOINT,
    browser_model,
    landmark_model,
)
from runtime.pipeline import GesturePipeline
from runtime.settings import PipelineSettings, ReactionSettings
from tests.conftest import make_small_dataset, manifest_rows
from tests.test_widget_modules import run_node
from training.cache import load_cached
from training.checkpoint import load_checkpoint
from training.datasets import load_samples
from training.gestures import EMOJI, GESTURES, LABELS, MEAN, STD, emoji_of, names_of
from training.inference import torch_probabilities
from training.metrics import classification_report

VAL_CROPS = 1200
SHIPPED = {CLASSIFIER_FP32: MODELS_DIR / CLASSIFIER_FP32, CLASSIFIER_INT8: MODELS_DIR / CLASSIFIER_INT8}
"""The two classifier exports the repository holds."""


@pytest.fixture(scope="module")
def val_crops(data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """A fixed, spread-out share of the real validation crops (every class is in it)."""
    cached = load_cached(load_samples(data_dir, "val", "crop"), desc="decoding val")
    keep = np.linspace(0, len(cached.labels) - 1, VAL_CROPS).astype(int)
    return cached.images[keep], cached.labels[keep]


@pytest.fixture(scope="module")
def pytorch_predictions(val_crops: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    torch.set_num_threads(2)
    model, meta = load_checkpoint(SHIPPED_CHECKPOINT)
    return torch_probabilities(model, val_crops[0], meta["input_size"]).argmax(1)


@pytest.mark.parametrize("name", [CLASSIFIER_FP32, CLASSIFIER_INT8])
def test_shipped_exports_agree_with_pytorch_on_real_crops(name: str, val_crops: tuple[np.ndarray, np.ndarray],
                                                          pytorch_predictions: np.ndarray) -> None:
    images, labels = val_crops
    predicted = OnnxClassifier(SHIPPED[name]).probabilities(images).argmax(1)
    agreement = np.mean(predicted == pytorch_predictions)
    assert agreement >= (0.999 if name == CLASSIFIER_FP32 else 0.99)
    drop = (classification_report(labels, pytorch_predictions)["macro_f1"]
            - classification_report(labels, predicted)["macro_f1"])
    assert drop <= 0.005


def test_int8_export_is_a_fraction_of_the_fp32_one() -> None:
    int8, fp32 = SHIPPED[CLASSIFIER_INT8].stat().st_size, SHIPPED[CLASSIFIER_FP32].stat().st_size
    assert int8 < 0.4 * fp32
    ops = {node.op_type for node in onnx.load(str(MODELS_DIR / CLASSIFIER_INT8)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops and "ConvInteger" not in ops  # static QDQ, not dynamic


def test_metadata_carries_what_the_browser_needs() -> None:
    _, checkpoint_meta = load_checkpoint(SHIPPED_CHECKPOINT)
    recorded = json.loads(SHIPPED_CHECKPOINT.with_suffix(".test.json").read_text())
    for name, path in SHIPPED.items():
        meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
        labels = checkpoint_meta["labels"]
        assert labels[:3] == list(LABELS[:3]) and json.loads(meta["labels"]) == labels
        assert json.loads(meta["emoji"]) == emoji_of(labels) and json.loads(meta["names"]) == names_of(labels)
        assert {g: EMOJI[g] for g in GESTURES} == {g: json.loads(meta["emoji"])[g] for g in GESTURES}
        assert json.loads(meta["default_gestures"]) == list(GESTURES)
        assert int(meta["input_size"]) == checkpoint_meta["input_size"]
        assert json.loads(meta["mean"]) == list(MEAN) and json.loads(meta["std"]) == list(STD)
        assert meta["model"] == checkpoint_meta["model"] and meta["output"] == "probabilities"
        assert PipelineSettings(**json.loads(meta["pipeline"])) == PipelineSettings()
        assert ReactionSettings(**json.loads(meta["reactions"])) == ReactionSettings()
        assert json.loads(meta["test_metrics"])["macro_f1"] == round(recorded["macro_f1"], 4)
        assert meta["precision"] == ("int8" if "int8" in name else "float32") and meta["version"]


def real_input(path: Path, side: int) -> np.ndarray:
    """A real photo as a model's [1, 3, side, side] float input in 0..1."""
    image = np.asarray(Image.fromarray(read_rgb(path)).resize((side, side)), np.float32) / 255
    return image.transpose(2, 0, 1)[None]


def test_the_browsers_copies_hold_the_onnx_models_metadata_and_outputs(node: str, tmp_path: Path,
                                                                       data_dir: Path) -> None:
    """Each of the widget's models as the browser loads it (ORT format, optimised at set-up) carries the ONNX file's
    metadata, read by the widget's reader, and gives its outputs on real photos; a truncated copy is refused."""
    photos = sorted(r["path"] for r in manifest_rows(data_dir) if r["kind"] == "frame" and r["split"] == "test")[:3]
    for name, what in WIDGET_MODELS.items():
        source, copy = MODELS_DIR / name, browser_model(name)
        shutil.copy(copy, tmp_path / copy.name)
        read = run_node(node, "console.log(JSON.stringify(metadata.readModelMetadata(read(input.name))));", tmp_path,
                        name=copy.name)
        assert read == {p.key: p.value for p in onnx.load(str(source)).metadata_props}, name
        sessions = [onnx_session(path, what) for path in (source, copy)]
        for photo in photos:
            feed = real_input(data_dir / photo, sessions[0].get_inputs()[0].shape[-1])
            expected, got = (s.run(None, {s.get_inputs()[0].name: feed}) for s in sessions)
            for a, b in zip(expected, got, strict=True):
                np.testing.assert_allclose(b, a, atol=1e-3, err_msg=f"{name} on {photo}")
    truncated = browser_model(CLASSIFIER_INT8).read_bytes()[:5000]
    (tmp_path / "truncated.ort").write_bytes(truncated)
    refused = run_node(node, """
try { metadata.readModelMetadata(read('truncated.ort')); console.log('"read"'); }
catch (error) { console.log(JSON.stringify(error.message)); }""", tmp_path)
    assert refused == "truncated ORT-format model"


def test_the_browsers_copy_of_a_missing_model_fails_with_its_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / CLASSIFIER_INT8
    with pytest.raises(ModelFileError, match=r"nowhere/classifier\.int8\.onnx: no such file"):
        write_ort_format(missing, tmp_path, WIDGET_MODELS[CLASSIFIER_INT8])
    assert not (tmp_path / "classifier.int8.ort").exists()


def test_calibration_holds_the_asked_number_of_crops_of_every_class() -> None:
    """Class-balanced: `per_class` crops of each label (all of a rarer one), the same choice every time."""
    labels = np.repeat(np.arange(len(LABELS)), [9, 3, 7, 12, 5, 6, 8][:len(LABELS)])
    images = np.arange(len(labels)).reshape(-1, 1)  # each crop its own index
    chosen = calibration_crops(images, labels, per_class=4).ravel()
    counts = Counter(labels[chosen].tolist())
    assert counts == {label: min(4, int((labels == label).sum())) for label in range(len(LABELS))}
    assert len(set(chosen.tolist())) == len(chosen)
    assert calibration_crops(images, labels, per_class=4).ravel().tolist() == chosen.tolist()


def test_export_is_deterministic(data_dir: Path, tmp_path: Path) -> None:
    train = load_cached(load_samples(data_dir, "train", "crop"), desc="decoding train")
    crops = calibration_crops(train.images, train.labels, per_class=4)
    _, checkpoint_meta = load_checkpoint(SHIPPED_CHECKPOINT)
    meta = metadata(checkpoint_meta, None, "test", "int8")
    files = []
    for run in ("a", "b"):
        fp32 = export_fp32(SHIPPED_CHECKPOINT, tmp_path / run / "fp32.onnx", meta)
        files.append((fp32.read_bytes(), quantize_int8(fp32, tmp_path / run / "int8.onnx", crops, meta).read_bytes()))
    assert files[0] == files[1]


def test_missing_model_file_names_the_path_and_what_was_expected(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "classifier.int8.onnx"
    with pytest.raises(ModelFileError, match=f"{missing}.*gesture classifier"):
        GesturePipeline(MODELS_DIR / PALM_DETECTOR, landmark_model(), missing)
    with pytest.raises(ModelFileError, match=f"{missing}.*palm detector"):
        GesturePipeline(missing, landmark_model(), MODELS_DIR / CLASSIFIER_INT8)
    with pytest.raises(ModelFileError, match=f"{missing}.*hand landmark model"):
        GesturePipeline(MODELS_DIR / PALM_DETECTOR, missing, MODELS_DIR / CLASSIFIER_INT8)


def test_corrupt_model_file_names_the_path(tmp_path: Path) -> None:
    corrupt = tmp_path / "classifier.int8.onnx"
    corrupt.write_bytes((MODELS_DIR / CLASSIFIER_INT8).read_bytes()[:5000])
    with pytest.raises(ModelFileError, match=f"{corrupt}: not a readable ONNX model"):
        GesturePipeline(MODELS_DIR / PALM_DETECTOR, landmark_model(), corrupt)


def test_check_measures_the_files_there_and_writes_nothing(data_dir: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    small = make_small_dataset(data_dir, tmp_path / "data", {"val": 6})
    before = {path: path.stat().st_mtime_ns for path in SHIPPED.values()}
    to_onnx.main(["--check", "--data", str(small)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"classifier from {SHIPPED_CHECKPOINT.name}, on {6 * len(LABELS)} validation crops")
    assert [line.split(":")[0].strip() for line in lines[1:]] == [str(path) for path in SHIPPED.values()]
    assert "top-1 agreement with PyTorch" in lines[2]
    assert before == {path: path.stat().st_mtime_ns for path in before}

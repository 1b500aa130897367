"""Label sets beyond the shipped four (`training.gestures.LABEL_SETS`), on real crops at toy scale: the datasets'
mapping from HaGRID's classes, a run fine-tuned from the shipped 4-label classifier into the nine labels, its
evaluation per class, and its export read by the runtime."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from export.classifier_onnx import export_fp32, metadata
from runtime.classifier import OnnxClassifier
from runtime.paths import SHIPPED_CHECKPOINT
from tests.conftest import copy_rows, manifest_rows
from tests.test_datasets import write_hagrid_fixture
from training import evaluate, train
from training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from training.datasets import load_samples
from training.gestures import CATALOGUE, EMOJI, LABEL_SETS, LABELS, NAMES, label_of_hagrid_class
from training.metrics import with_gestures_chosen
from training.models import build_model

EXTENDED = LABEL_SETS["extended"]
SOURCE_CLASSES = ("like", "dislike", "ok", "palm", "stop", "peace", "rock", "call", "fist", "stop_inverted", "none")
"""Source classes of the toy data: every extended label's, and two that stay none (HaGRID's back of the hand, and
the free second hand)."""

SHARED_ROWS = [EXTENDED.index(label) for label in LABELS]


@pytest.fixture(scope="module")
def toy_data(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two real crops of each source class per split, in the shared manifest layout."""
    kept: list[dict[str, str]] = []
    taken: dict[tuple[str, str], int] = {}
    for row in manifest_rows(data_dir):
        key = (row["split"], row["source_class"])
        if row["kind"] == "crop" and row["source_class"] in SOURCE_CLASSES and taken.get(key, 0) < 2:
            taken[key] = taken.get(key, 0) + 1
            kept.append(row)
    return copy_rows(data_dir, kept, tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def extended_run(toy_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One toy epoch of `--labels extended` fine-tuned from the shipped classifier's four-label base: its run
    folder."""
    out = tmp_path_factory.mktemp("extended")
    train.main(["--model", "efficientnet_lite0_slim", "--labels", "extended", "--init", str(SHIPPED_CHECKPOINT),
                "--data", str(toy_data), "--epochs", "1", "--samples-per-epoch", "32", "--batch-size", "16",
                "--workers", "0", "--out", str(out)])
    return out


def test_the_shipped_set_is_the_default_and_the_extended_one_adds_five_gestures() -> None:
    assert LABELS == LABEL_SETS["shipped"] == ("like", "dislike", "ok", "none")
    assert EMOJI == {"like": "👍", "dislike": "👎", "ok": "🙌"}
    assert NAMES == {"like": "thumbs up", "dislike": "thumbs down", "ok": "OK sign"}
    assert EXTENDED[-1] == "none" and set(EXTENDED[:-1]) == set(CATALOGUE)
    assert (CATALOGUE["raise_hand"].emoji, CATALOGUE["raise_hand"].name) == ("✋", "raised hand")
    assert {c: label_of_hagrid_class(c, EXTENDED) for c in ("palm", "stop", "stop_inverted", "no_gesture")} == {
        "palm": "raise_hand", "stop": "raise_hand", "stop_inverted": "none", "no_gesture": "none"}
    assert label_of_hagrid_class("palm") == "none"
    assert (label_of_hagrid_class("2", EXTENDED), label_of_hagrid_class("5", EXTENDED)) == ("peace", "raise_hand")
    assert label_of_hagrid_class("2") == label_of_hagrid_class("5") == "none"


def test_frames_that_show_the_new_gestures_unnamed_are_left_out_of_the_extended_set(data_dir: Path) -> None:
    """SubhiH's webcam frames of a person counting on their fingers (a fist, an open hand beside the head, a V) are
    `none` frames of the shipped set; the extended set cannot call them `none` and has no name for each, so it
    leaves them out. Sign-Language-Digits' 2 is a peace sign and 5 an open hand: theirs in the extended set."""
    origin = {str(data_dir / r["path"]): r["origin"] for r in manifest_rows(data_dir)}
    source = {str(data_dir / r["path"]): r["source_class"] for r in manifest_rows(data_dir)}
    shipped, extended = (load_samples(data_dir, "train", "frame", labels) for labels in (LABELS, EXTENDED))
    counting = {str(s.path) for s in shipped if "SubhiH" in origin[str(s.path)]}
    assert len(counting) > 1000 and {s.label for s in shipped if str(s.path) in counting} == {"none"}
    assert not counting & {str(s.path) for s in extended}
    assert len(extended) == len(shipped) - len(counting)
    digits = [s for s in load_samples(data_dir, "train", "crop", EXTENDED) if "Sign-Language" in origin[str(s.path)]]
    by_digit = {digit: {s.label for s in digits if source[str(s.path)] == digit} for digit in "12345678"}
    assert by_digit == {"1": {"none"}, "2": {"peace"}, "3": {"none"}, "4": {"none"}, "5": {"raise_hand"},
                        "6": {"none"}, "7": {"none"}, "8": {"none"}}


def test_datasets_map_palm_and_stop_to_raise_hand_in_both_layouts(toy_data: Path, data_dir: Path,
                                                                  tmp_path: Path) -> None:
    source = {str(toy_data / r["path"]): r["source_class"] for r in manifest_rows(toy_data)}
    extended = load_samples(toy_data, "train", labels=EXTENDED)
    assert {s.label for s in extended} == set(EXTENDED)
    for sample in extended:
        assert (sample.label == "raise_hand") == (source[str(sample.path)] in ("palm", "stop"))
    assert {s.label for s in load_samples(toy_data, "train")} == set(LABELS)  # the default keeps four
    write_hagrid_fixture(data_dir, tmp_path)  # HaGRID's layout: a palm class folder, each image with a free hand
    hagrid = load_samples(tmp_path, "test", labels=EXTENDED)
    assert {s.label for s in hagrid if s.path.parent.name == "palm"} == {"raise_hand", "none"}
    assert sum(s.label == "raise_hand" for s in hagrid) == 2


def test_a_4_label_init_gives_its_backbone_and_rows_to_a_9_label_model() -> None:
    """`--init` of the shipped (grafted) classifier starts from its four-label base."""
    args = train.parse_args(["--model", "efficientnet_lite0_slim", "--labels", "extended",
                             "--init", str(SHIPPED_CHECKPOINT)])
    model = train.student_model(args, EXTENDED).state_dict()
    init = load_checkpoint(SHIPPED_CHECKPOINT)[0].base.state_dict()
    assert model["_fc.weight"].shape[0] == len(EXTENDED)
    for key in ("_fc.weight", "_fc.bias"):
        assert torch.equal(model[key][SHARED_ROWS], init[key])
        assert not torch.equal(model[key][EXTENDED.index("raise_hand")], init[key][LABELS.index("none")])
    assert all(torch.equal(model[k], v) for k, v in init.items() if not k.startswith("_fc."))


def test_a_teacher_of_another_label_set_is_refused() -> None:
    args = train.parse_args(["--model", "efficientnet_lite0_slim", "--labels", "added",
                             "--teacher", str(SHIPPED_CHECKPOINT)])
    with pytest.raises(SystemExit, match="same label set"):
        train.criterion(args, 112, torch.device("cpu"), LABEL_SETS["added"])


def test_unknown_labels_in_a_checkpoint_name_the_path_and_what_was_expected(tmp_path: Path) -> None:
    path = tmp_path / "wave.pt"
    save_checkpoint(path, build_model("mobilenet_v3_small", False, 3), "mobilenet_v3_small", ["like", "wave", "none"])
    with pytest.raises(CheckpointError, match=rf"{path}: .*wave.*expected.*extended"):
        load_checkpoint(path)


def test_an_extended_run_from_the_shipped_classifier_trains_nine_classes(extended_run: Path) -> None:
    record = json.loads((extended_run / "run.json").read_text())
    assert record["config"]["labels"] == "extended" and np.isfinite(record["epochs"][0]["train_loss"])
    assert list(record["best"]["val_f1"]) == list(EXTENDED)
    _, meta = load_checkpoint(extended_run / "best.pt")
    assert meta["labels"] == list(EXTENDED) and list(meta["val"]["per_class"]) == list(EXTENDED)


def test_evaluate_and_the_export_carry_the_nine_labels(toy_data: Path, extended_run: Path, tmp_path: Path) -> None:
    checkpoint = extended_run / "best.pt"
    report = evaluate.evaluate(toy_data, "test", "crop", checkpoint)
    assert report["labels"] == list(EXTENDED) and list(report["per_class"]) == list(EXTENDED)
    assert report["per_class"]["raise_hand"]["support"] == 4 and report["per_class"]["none"]["support"] == 4
    onnx_file = export_fp32(checkpoint, tmp_path / "classifier.onnx",
                            metadata(load_checkpoint(checkpoint)[1], None, "test", "float32"))
    classifier = OnnxClassifier(onnx_file)  # the runtime's own reader
    assert classifier.labels == EXTENDED and classifier.metadata.gestures == EXTENDED[:-1]
    assert classifier.metadata.emoji["raise_hand"] == "✋" and classifier.metadata.names["fist"] == "fist"
    assert classifier.probabilities(np.zeros((2, 64, 64, 3), np.uint8)).shape == (2, len(EXTENDED))
    assert evaluate.evaluate(toy_data, "test", "crop", onnx_file)["confusion"] == report["confusion"]


def test_a_host_that_chose_some_gestures_sees_the_others_as_none(toy_data: Path, extended_run: Path) -> None:
    """`training.evaluate --gestures like dislike ok`: a nine-label model scored as the widget's default set sees
    it; the counts add up, row by row, to the model's own confusion matrix."""
    report = evaluate.evaluate(toy_data, "test", "crop", extended_run / "best.pt")
    chosen = with_gestures_chosen(report, ["like", "dislike", "ok"])
    assert chosen["labels"] == ["like", "dislike", "ok", "none"] and chosen["n"] == report["n"]
    full = np.asarray(report["confusion"])
    others = [EXTENDED.index(label) for label in EXTENDED if label not in ("like", "dislike", "ok")]
    assert chosen["confusion"][3][3] == full[np.ix_(others, others)].sum()
    assert chosen["confusion"][0][:3] == full[0][:3].tolist()
    assert chosen["per_class"]["none"]["support"] == full[others].sum() > report["per_class"]["none"]["support"]
    with pytest.raises(ValueError, match="wave"):
        with_gestures_chosen(report, ["like", "wave"])

"""The ensemble of crop classifiers: weighted averages on real crops, the weight grid, the evaluation CLI's
ensemble, and `research.ensemble` end to end on real crops and frames."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from research import ensemble
from runtime.classifier import OnnxClassifier
from runtime.ensemble import EnsembleClassifier
from runtime.paths import classifier_model, landmark_model, palm_model
from runtime.pipeline import GesturePipeline
from runtime.settings import PipelineSettings
from tests.conftest import make_small_dataset
from training import evaluate
from training.cache import load_cached
from training.datasets import load_samples
from training.gestures import GESTURES, LABELS
from training.pipeline_crops import frame_halves


class AlwaysNone:
    """A member that is wrong on every gesture: calls every crop `none`, at a larger input size."""

    labels, input_size, settings, default_gestures = tuple(LABELS), 160, PipelineSettings(), GESTURES

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        return np.tile(np.eye(len(LABELS), dtype=np.float32)[LABELS.index("none")], (len(images), 1))


@pytest.fixture(scope="module")
def small_data(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_small_dataset(data_dir, tmp_path_factory.mktemp("data"), {"val": 12, "test": 6}, frames=3)


@pytest.fixture(scope="module")
def shipped(four_label: tuple[Path, Path]) -> OnnxClassifier:
    """The shipped classifier's four-label network, as the research rows ensembled it."""
    return OnnxClassifier(four_label[1])


def test_the_ensemble_averages_its_members_on_real_crops(small_data: Path, shipped: OnnxClassifier) -> None:
    crops = load_cached(load_samples(small_data, "val")).images
    alone, wrong = shipped.probabilities(crops), AlwaysNone().probabilities(crops)
    both = EnsembleClassifier([shipped, AlwaysNone()], [0.7, 0.3])
    assert both.input_size == 160 and both.labels == shipped.labels and both.settings == shipped.settings
    np.testing.assert_allclose(both.probabilities(crops), 0.7 * alone + 0.3 * wrong, atol=1e-6)
    np.testing.assert_allclose(EnsembleClassifier([shipped, AlwaysNone()], [1, 0]).probabilities(crops), alone,
                               atol=1e-6)


def test_an_ensemble_with_wrong_weights_or_labels_is_refused(shipped: OnnxClassifier) -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        EnsembleClassifier([shipped, AlwaysNone()], [0.7, 0.7])
    with pytest.raises(ValueError, match="one weight per member"):
        EnsembleClassifier([shipped, AlwaysNone()], [1.0])
    other = AlwaysNone()
    other.labels = tuple(reversed(LABELS))
    with pytest.raises(ValueError, match="disagree on the labels"):
        EnsembleClassifier([shipped, other], [0.5, 0.5])


def test_the_weight_grid_covers_the_simplex_leaning_on_the_first_member_first() -> None:
    assert ensemble.weight_grid(2, 0.25) == [(1.0, 0.0), (0.75, 0.25), (0.5, 0.5), (0.25, 0.75), (0.0, 1.0)]
    three = ensemble.weight_grid(3, 0.1)
    assert len(three) == 66 and len(set(three)) == 66 and all(abs(sum(w) - 1) < 1e-9 for w in three)
    assert three[0] == (1.0, 0.0, 0.0) and min(min(w) for w in three) == 0.0


def test_choosing_weights_leaves_out_a_member_that_only_hurts(small_data: Path, shipped: OnnxClassifier) -> None:
    val = load_cached(load_samples(small_data, "val"))
    probabilities = [shipped.probabilities(val.images), AlwaysNone().probabilities(val.images)]
    weights, grid = ensemble.choose_weights(probabilities, val.labels, 0.1)
    assert weights[0] >= 0.5 and len(grid) == 11
    assert grid[",".join(f"{w:.2f}" for w in weights)] == max(grid.values()) > grid["0.00,1.00"]


def test_evaluate_runs_an_ensemble_on_whole_frames_through_the_pipeline(small_data: Path) -> None:
    """Two copies of the shipped model at equal weights decide every frame as the model alone does."""
    model = classifier_model()
    alone = evaluate.evaluate(small_data, "train", "frame", model)
    pair = evaluate.evaluate(small_data, "train", "frame", [model, model], weights=[0.5, 0.5])
    assert pair["confusion"] == alone["confusion"] and pair["n"] == 3 * len(LABELS)
    assert pair["weights"] == [0.5, 0.5] and pair["model_file"] == f"{model.name}+{model.name}"
    with pytest.raises(SystemExit, match="2 given for 1 models"):
        evaluate.evaluate(small_data, "train", "frame", [model], weights=[0.5, 0.5])


def test_the_ensemble_cli_chooses_on_validation_and_reports_members_and_ensemble(
        small_data: Path, tmp_path: Path, four_label: tuple[Path, Path]) -> None:
    checkpoint, exported = map(str, four_label)  # an ONNX file and its PyTorch source
    ensemble.main(["--models", exported, checkpoint, "--data", str(small_data), "--step", "0.5",
                   "--frames", "held-out", "--crops", "test", "--out", str(tmp_path)])
    results = json.loads((tmp_path / "ensemble.json").read_text())
    assert results["models"] == [exported, checkpoint]
    assert list(results["validation_grid"]) == ["1.00,0.00", "0.50,0.50", "0.00,1.00"]
    chosen = ",".join(f"{w:.2f}" for w in results["weights"])
    assert results["validation_grid"][chosen] == max(results["validation_grid"].values())
    assert results["crops_val"]["ensemble"]["macro_f1"] == results["validation_grid"][chosen]
    for key, n in (("crops_val", 12 * len(LABELS)), ("crops_test", 6 * len(LABELS)),
                   ("frames_held-out", results["frames_held-out"]["ensemble"]["n"])):
        assert list(results[key]) == [exported, checkpoint, "ensemble"]
        assert all(report["n"] == n > 0 for report in results[key].values())
    table = (tmp_path / "ensemble.md").read_text()
    assert "| frames held-out |" in table and f"{results['crops_test']['ensemble']['macro_f1']:.4f}" in table


def test_one_pipeline_pass_scores_each_member_as_its_own_pass_would(small_data: Path,
                                                                     four_label: tuple[Path, Path]) -> None:
    """Members of one input size see the very crops they would alone: the shipped model's column from the ensemble's
    one pass equals `training.evaluate` of it alone on the same frames, and a member that calls every hand `none`
    decides every frame `none`."""
    shipped, never = evaluate.load_classifier(four_label[1])[0], AlwaysNone()
    never.input_size = shipped.input_size
    reports = ensemble.frame_reports(["shipped", "never"], EnsembleClassifier([shipped, never], [0.5, 0.5]),
                                     small_data, "held-out")
    frames = frame_halves(load_samples(small_data, "train", "frame"))[1]
    alone = evaluate.evaluate_frames(frames, GesturePipeline(palm_model(), landmark_model(), shipped))
    assert reports["shipped"]["confusion"] == alone["confusion"] and alone["macro_f1"] > 0.5
    none = LABELS.index("none")
    assert all(row[none] == sum(row) for row in reports["never"]["confusion"])
    assert reports["ensemble"]["n"] == len(frames)


def test_the_ensemble_cli_refuses_a_model_given_twice(small_data: Path, tmp_path: Path) -> None:
    model = str(classifier_model())
    with pytest.raises(SystemExit, match="each model once"):
        ensemble.main(["--models", model, model, "--data", str(small_data), "--out", str(tmp_path)])

"""The prior correction of the `none` logit (`training.none_prior`), on the shipped checkpoint and real crops."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
import torch

from runtime.classifier import add_to_logit, read_metadata
from runtime.paths import SHIPPED_CHECKPOINT, classifier_model
from tests.conftest import copy_with_metadata, make_small_dataset
from training.cache import load_cached
from training.checkpoint import load_checkpoint
from training.datasets import load_samples
from training.evaluate import load_classifier
from training.gestures import LABELS
from training.none_prior import apply_bias, main, sweep
from training.robustness import robustness

NONE = LABELS.index("none")


@pytest.fixture(scope="module")
def small_val(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten real validation crops per label."""
    return make_small_dataset(data_dir, tmp_path_factory.mktemp("data"), {"val": 10})


def test_the_bias_written_into_the_network_moves_its_probabilities_as_the_sweep_assumes(
        small_val: Path, tmp_path: Path, four_label: tuple[Path, Path]) -> None:
    """On the shipped classifier's four-label network, where the recipe applies it."""
    base, out = four_label[0], tmp_path / "prior.pt"
    apply_bias(base, 1.5, out)
    before, after = load_checkpoint(base)[0].state_dict(), load_checkpoint(out)[0].state_dict()
    changed = [key for key in before if not torch.equal(before[key].float(), after[key].float())]
    assert changed == ["_fc.bias"], "only the last layer's bias moves"
    assert after["_fc.bias"][NONE] - before["_fc.bias"][NONE] == pytest.approx(1.5)

    images = load_cached(load_samples(small_val, "val", "crop")).images
    original = load_classifier(base)[0].probabilities(images)
    corrected = load_classifier(out)[0].probabilities(images)
    np.testing.assert_allclose(corrected, add_to_logit(original, NONE, 1.5), atol=1e-5)
    assert (corrected[:, NONE] > original[:, NONE]).all(), "every crop's none probability rises"

    first = load_checkpoint(out)[1]["none_prior"]
    assert first["bias"] == 1.5 and first["earlier"] is None
    again = tmp_path / "again.pt"
    apply_bias(out, 0.5, again)
    assert load_checkpoint(again)[1]["none_prior"]["earlier"] == first, "a second value is recorded on the first"
    assert json.loads(again.with_suffix(".run.json").read_text())["runs"][0]["config"] == first


@pytest.mark.parametrize("decision", ["argmax", "pipeline"])
def test_the_sweep_at_zero_is_the_robustness_report_and_a_bias_changes_the_answers(
        small_val: Path, decision: str) -> None:
    conditions = ["clean", "over-exposed"]
    swept = sweep(classifier_model(), small_val, "val", conditions, [0.0, 3.0], as_pipeline=decision == "pipeline")
    reports = robustness([classifier_model()], small_val, "val", "crop", conditions,
                         as_pipeline=decision == "pipeline")[str(classifier_model())]
    for condition in conditions:
        assert swept[condition][0.0] == pytest.approx(reports[condition]["macro_f1"])
    assert any(swept[c][3.0] != swept[c][0.0] for c in conditions), "a large bias turns some hands to none"


def test_the_value_is_never_chosen_on_the_test_split_nor_written_unless_finite(small_val: Path,
                                                                               tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["sweep", "--models", str(classifier_model()), "--data", str(small_val), "--split", "test"])
    with pytest.raises(SystemExit, match="--bias nan: expected a finite number"):
        main(["apply", str(SHIPPED_CHECKPOINT), "--bias", "nan", "--out", str(tmp_path / "prior.pt")])
    assert not (tmp_path / "prior.pt").exists()


def test_the_washed_out_sweep_takes_values_for_the_runtime_setting(small_val: Path, tmp_path: Path) -> None:
    """`--washed-out` values are `bright_crop_none_logit` itself: at the file's own value the sweep is the file's
    robustness report, at 0 it is the report of the same file with 0 in its metadata."""
    conditions = ["clean", "over-exposed"]
    own = read_metadata(classifier_model()).pipeline
    assert own.bright_crop_none_logit > 0
    zero = copy_with_metadata(classifier_model(), tmp_path / "zero.onnx", "pipeline",
                              json.dumps(asdict(replace(own, bright_crop_none_logit=0.0))))
    swept = sweep(classifier_model(), small_val, "val", conditions, [0.0, own.bright_crop_none_logit],
                  washed_out=True)
    reports = robustness([classifier_model(), zero], small_val, "val", "crop", conditions)
    for condition in conditions:
        assert swept[condition][own.bright_crop_none_logit] == pytest.approx(
            reports[str(classifier_model())][condition]["macro_f1"])
        assert swept[condition][0.0] == pytest.approx(reports[str(zero)][condition]["macro_f1"])
    with pytest.raises(SystemExit, match=r"needs an \.onnx export"):
        sweep(SHIPPED_CHECKPOINT, small_val, "val", conditions, [0.0], washed_out=True)

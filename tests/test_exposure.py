"""Over-exposed hand crops toned down before the classifier (runtime/exposure.py), on real crops from the shared
test split: a washed-out crop is darkened (a grey at its mean luma to the target) with its pixels' order kept, an
ordinary crop is left exactly as it was, and the classifier file carries the two numbers that decide (the browser's
side: tests/test_widget_modules.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from runtime.classifier import OnnxClassifier, add_to_logit, input_crops, preprocess
from runtime.exposure import LUMA_WEIGHTS, expose_bright_crop, gamma_table
from runtime.images import resize_square
from runtime.paths import classifier_model
from runtime.settings import PipelineSettings
from training.cache import load_cached
from training.datasets import load_samples
from training.perturbations import perturb_crops

SETTINGS = PipelineSettings()
CROPS = 40


def mean_luma(crop: np.ndarray) -> float:
    return float((crop.reshape(-1, 3).astype(np.float64) @ np.asarray(LUMA_WEIGHTS)).mean() / 1000)


@pytest.fixture(scope="module")
def crops(data_dir: Path) -> np.ndarray:
    """The first test crops of every label, at the classifier's input size (as both runtimes tone them)."""
    samples = load_samples(data_dir, "test", "crop")
    chosen = [s for label in ("like", "dislike", "ok", "none") for s in [s for s in samples if s.label == label][:10]]
    cached = load_cached(chosen, desc="test crops")
    assert len(cached.images) == CROPS
    size = OnnxClassifier(classifier_model()).input_size
    return np.stack([resize_square(image, size) for image in cached.images])


def test_a_washed_out_crop_is_toned_down(crops: np.ndarray) -> None:
    bright = perturb_crops(crops, "over-exposed", seed=0)
    washed_out = [crop for crop in bright if mean_luma(crop) > SETTINGS.bright_crop_luma]
    assert len(washed_out) >= CROPS // 4, "too few over-exposed crops above the threshold to test"
    for crop in washed_out:
        toned = expose_bright_crop(crop, SETTINGS.bright_crop_luma, SETTINGS.bright_crop_target)
        assert toned.dtype == np.uint8 and toned.shape == crop.shape
        # clipped white stays white, the rest darkens
        assert np.all(toned[crop == 255] == 255) and np.all(toned[crop < 255] <= crop[crop < 255])
        assert mean_luma(toned) < mean_luma(crop) - 5
        # a monotonic table: a brighter value never becomes darker than a dimmer one
        order = np.argsort(crop.reshape(-1), kind="stable")
        assert np.all(np.diff(toned.reshape(-1)[order].astype(int)) >= 0)


@pytest.mark.parametrize("mean", [191, 200, 230, 250])
def test_the_table_takes_a_grey_at_the_mean_to_the_target(mean: int) -> None:
    table = gamma_table(float(mean), SETTINGS.bright_crop_target)
    assert table[mean] == SETTINGS.bright_crop_target and table[0] == 0 and table[255] == 255
    assert np.all(np.diff(table.astype(int)) >= 0)


def test_an_ordinary_crop_is_left_exactly_as_it_was(crops: np.ndarray) -> None:
    ordinary = [crop for crop in crops if mean_luma(crop) <= SETTINGS.bright_crop_luma]
    assert len(ordinary) >= CROPS * 3 // 4
    for crop in ordinary:
        assert expose_bright_crop(crop, SETTINGS.bright_crop_luma, SETTINGS.bright_crop_target) is crop


def test_an_all_white_crop_is_left_as_it_was() -> None:
    white = np.full((112, 112, 3), 255, np.uint8)
    assert expose_bright_crop(white, SETTINGS.bright_crop_luma, SETTINGS.bright_crop_target) is white


def test_the_classifier_tones_down_what_its_file_says(crops: np.ndarray) -> None:
    """The exported classifier's preprocessing uses its metadata's numbers: the shipped ones tone an over-exposed
    crop down; the same crop with a threshold above its brightness goes in untouched."""
    classifier = OnnxClassifier(classifier_model())
    meta = classifier.metadata
    assert (meta.pipeline.bright_crop_luma, meta.pipeline.bright_crop_target) == (
        SETTINGS.bright_crop_luma, SETTINGS.bright_crop_target)
    crop = max(perturb_crops(crops, "over-exposed", seed=0), key=mean_luma)[None]
    size = meta.input_size
    toned = preprocess(crop, size, meta.mean, meta.std, meta.pipeline)
    untouched = preprocess(crop, size, meta.mean, meta.std)
    never = PipelineSettings(bright_crop_luma=255, bright_crop_target=SETTINGS.bright_crop_target)
    assert not np.array_equal(toned, untouched)
    np.testing.assert_array_equal(preprocess(crop, size, meta.mean, meta.std, never), untouched)
    assert toned.mean() < untouched.mean()


def test_toned_down_crops_lean_to_none_by_the_files_value(crops: np.ndarray) -> None:
    """`OnnxClassifier.probabilities` adds the file's `bright_crop_none_logit` to the none logit of the crops it
    tones down, and of no other: on real crops as they are and over-exposed, the answer is the network's own on the
    toned input (`--network-only` plus the toning) with that value added, where toned, and unchanged elsewhere."""
    classifier, network = OnnxClassifier(classifier_model()), OnnxClassifier(classifier_model(), network_only=True)
    meta = classifier.metadata
    assert meta.pipeline.bright_crop_none_logit == SETTINGS.bright_crop_none_logit > 0
    images = np.concatenate([crops, perturb_crops(crops, "over-exposed", seed=0)])
    toned_inputs, toned = input_crops(images, meta.input_size, meta.pipeline)
    assert toned[CROPS:].sum() >= CROPS // 2 and not toned.all(), "both kinds of crop, some of each"
    none = classifier.labels.index("none")
    own = network.probabilities(np.stack(toned_inputs))
    answer = classifier.probabilities(images)
    np.testing.assert_allclose(answer, add_to_logit(own, none, meta.pipeline.bright_crop_none_logit, toned), atol=1e-6)
    np.testing.assert_allclose(answer[~toned], own[~toned], atol=1e-6)
    assert (answer[toned, none] >= own[toned, none]).all(), "every toned-down crop leans to none"
    assert (answer[toned, none] > own[toned, none]).mean() > 0.5, "(where none was not already sure)"

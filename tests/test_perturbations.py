"""The webcam conditions of the robustness evaluation and the webcam training augmentation, on real images."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from runtime.classifier import OnnxClassifier
from runtime.exposure import expose_bright_crop
from runtime.images import read_rgb
from runtime.paths import SHIPPED_CHECKPOINT, classifier_model
from runtime.pipeline import gesture_decisions
from tests.conftest import copy_with_metadata, make_small_dataset, manifest_rows
from training.cache import CachedImages, load_cached
from training.datasets import load_samples
from training.evaluate import evaluate
from training.gestures import LABELS
from training.metrics import classification_report, with_gestures_chosen
from training.perturbations import PERTURBATIONS, frame_hand_side, perturb, perturb_crops
from training.robustness import robustness
from training.train import CropDataset, parse_args
from training.transforms import (
    BrightCropToning,
    CleanAndDegraded,
    RandomMotionBlur,
    RandomWhiteBalance,
    WashedOut,
    line_kernel,
    normalize,
    train_transform,
)

ROOT = Path(__file__).resolve().parents[1]
NOISY = ("under-exposed", "over-exposed", "motion-blur")
"""The conditions with random parts: noise, or the blur's direction."""


@pytest.fixture(scope="module")
def crops(data_dir: Path) -> list[np.ndarray]:
    """Three real test crops of each label at the cache's 128 px, as the evaluation sees them."""
    rows = manifest_rows(data_dir)
    chosen = [row for label in ("like", "dislike", "ok", "none")
              for row in [r for r in rows if r["kind"] == "crop" and r["split"] == "test" and r["label"] == label][:3]]
    return [np.asarray(Image.fromarray(read_rgb(data_dir / row["path"])).resize((128, 128))) for row in chosen]


@pytest.fixture(scope="module")
def frame(data_dir: Path) -> np.ndarray:
    row = next(r for r in manifest_rows(data_dir) if r["kind"] == "frame" and r["split"] == "test")
    return read_rgb(data_dir / row["path"])


def sharpness(image: np.ndarray) -> float:
    """Mean absolute difference between neighbouring pixels: what blur and low resolution take away."""
    grey = image.astype(np.float32).mean(2)
    return float(np.abs(np.diff(grey, axis=0)).mean() + np.abs(np.diff(grey, axis=1)).mean())


@pytest.mark.parametrize("name", list(PERTURBATIONS))
def test_each_perturbation_changes_real_crops_and_repeats_with_its_seed(name: str, crops: list[np.ndarray]) -> None:
    for index, crop in enumerate(crops):
        out = perturb(crop, name, 128, seed=0, index=index)
        assert out.shape == crop.shape and out.dtype == np.uint8
        assert np.abs(out.astype(int) - crop).mean() > 0.5, f"{name} left crop {index} (almost) as it was"
        assert np.array_equal(out, perturb(crop, name, 128, seed=0, index=index))
    if name in NOISY:
        assert not np.array_equal(perturb(crops[0], name, 128, 0, 0), perturb(crops[0], name, 128, 1, 0))


def test_lower_resolution_and_blur_take_detail_away_in_order(crops: list[np.ndarray]) -> None:
    for crop in crops:
        levels = [sharpness(perturb(crop, f"low-res-{side}", 128, 0, 0)) for side in (16, 24, 32)]
        assert levels[0] < levels[1] < levels[2] < sharpness(crop)
        assert sharpness(perturb(crop, "defocus-blur", 128, 0, 0)) < sharpness(crop)
    # what 16 px can hold is mostly kept by a second pass: it changes the image far less than the first
    once = perturb(crops[0], "low-res-16", 128, 0, 0)
    first = np.abs(once.astype(int) - crops[0]).mean()
    assert np.abs(perturb(once, "low-res-16", 128, 0, 0).astype(int) - once).mean() < 0.5 * first


def test_colour_and_exposure_conditions_move_the_channels_they_name(crops: list[np.ndarray]) -> None:
    crop = crops[0].astype(np.float32)
    warm, cool = perturb(crops[0], "warm", 128, 0, 0), perturb(crops[0], "cool", 128, 0, 0)
    assert warm[..., 0].mean() > crop[..., 0].mean() and warm[..., 2].mean() < crop[..., 2].mean()
    assert cool[..., 0].mean() < crop[..., 0].mean() and cool[..., 2].mean() > crop[..., 2].mean()
    grey = perturb(crops[0], "grayscale", 128, 0, 0)
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 1], grey[..., 2])
    under = perturb(crops[0], "under-exposed", 128, 0, 0)
    assert under.mean() == pytest.approx(0.35 * crop.mean(), rel=0.1)
    assert perturb(crops[0], "over-exposed", 128, 0, 0).mean() > crop.mean()
    worse, better = (np.abs(perturb(crops[0], f"jpeg-{q}", 128, 0, 0).astype(int) - crops[0]).mean() for q in (10, 30))
    assert worse > better


def test_skin_darker_darkens_the_hand_and_leaves_other_colours(crops: list[np.ndarray]) -> None:
    like = crops[0]
    ycbcr = np.asarray(Image.fromarray(like).convert("YCbCr")).astype(int)
    skin = (ycbcr[..., 2] >= 133) & (ycbcr[..., 2] <= 173) & (ycbcr[..., 1] >= 77) & (ycbcr[..., 1] <= 127)
    assert skin.mean() > 0.1, "the thumbs-up crop should show skin"
    out = perturb(like, "skin-darker", 128, 0, 0).astype(np.float32)
    assert out[skin].mean() < 0.7 * like[skin].mean()
    blue = np.zeros((64, 64, 3), np.uint8)
    blue[..., 2] = 200
    assert np.array_equal(perturb(blue, "skin-darker", 64, 0, 0), blue)


def test_frames_scale_the_conditions_with_the_assumed_hand(frame: np.ndarray) -> None:
    side = frame_hand_side(frame)
    assert 40 < side < 120
    small = perturb(frame, "low-res-16", side, 0, 0)
    assert small.shape == frame.shape and sharpness(small) < 0.5 * sharpness(frame)


def test_unknown_perturbation_names_the_known_ones(crops: list[np.ndarray]) -> None:
    with pytest.raises(ValueError, match="low-res-16"):
        perturb(crops[0], "fog", 128, 0, 0)


def test_webcam_augmentation_keeps_the_input_size_and_degrades_real_crops(crops: list[np.ndarray]) -> None:
    torch.manual_seed(0)
    tensors = [torch.from_numpy(crop).permute(2, 0, 1) for crop in crops]
    transform = train_transform(112, "webcam")
    for _ in range(5):
        for tensor in tensors:
            out = transform(tensor)
            assert out.shape == (3, 112, 112) and out.dtype == torch.float32
    for length in (3, 4, 10, 11):
        assert abs(float(line_kernel(length, 0.7).sum()) - 1) < 1e-6
        blurred = RandomMotionBlur((length, length))(tensors[0])
        assert blurred.shape == tensors[0].shape and blurred.dtype == torch.uint8
        assert sharpness(blurred.permute(1, 2, 0).numpy()) < sharpness(crops[0])
    balanced = RandomWhiteBalance(0.25)(tensors[0]).float().mean((1, 2)) / tensors[0].float().mean((1, 2))
    assert (balanced[0] - 1) * (balanced[2] - 1) <= 0, "red and blue move in opposite directions"


def test_webcam_vs_clean_gives_one_box_draw_clean_to_the_teacher_and_degraded_to_the_student(
        crops: list[np.ndarray]) -> None:
    paired = CleanAndDegraded(112)
    tensor = torch.from_numpy(crops[0]).permute(2, 0, 1)
    differing = 0
    for seed in range(12):
        torch.manual_seed(seed)
        student, teacher = paired(tensor)
        torch.manual_seed(seed)
        assert torch.equal(teacher, normalize()(paired.geometry(tensor))), "the teacher's view is the box draw alone"
        assert student.shape == teacher.shape == (3, 112, 112)
        differing += not torch.equal(student, teacher)
    assert differing >= 6, f"only {differing} of 12 student views were degraded"
    with pytest.raises(SystemExit):
        parse_args(["--model", "efficientnet_lite0_slim", "--augment", "webcam-vs-clean"])  # no teacher


def test_webcam_augmentation_tones_washed_out_crops_as_the_runtime_does(crops: list[np.ndarray]) -> None:
    toning = BrightCropToning()
    for crop in crops:
        washed = perturb(crop, "over-exposed", crop.shape[0], 0, 0)
        for image in (crop, washed):
            tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
            expected = expose_bright_crop(image, toning.above, toning.target)
            assert np.array_equal(toning(tensor).permute(1, 2, 0).numpy(), expected)
    washed = [perturb(crop, "over-exposed", crop.shape[0], 0, 0) for crop in crops]
    toned = [toning(torch.from_numpy(image).permute(2, 0, 1)).float().mean() for image in washed]
    darkened = sum(t < image.mean() - 5 for t, image in zip(toned, washed, strict=True))
    assert darkened >= 3, f"only {darkened} of {len(washed)} washed-out crops were darkened"


def test_washed_out_negatives_brighten_and_clip_none_draws_only(crops: list[np.ndarray]) -> None:
    images = np.stack(crops)  # three of each label, in LABELS order: like, dislike, ok, none
    labels = np.repeat(np.arange(len(LABELS)), 3)
    assert [LABELS[i] for i in labels[::3]] == ["like", "dislike", "ok", "none"]
    cached = CachedImages(images, labels, [f"crop{i}" for i in range(len(labels))])
    dataset = CropDataset(cached, nn.Identity(), washed_out_share=1.0)
    random.seed(0)
    for index, label in enumerate(labels):
        image, got = dataset[index]
        original = torch.from_numpy(images[index]).permute(2, 0, 1)
        assert got == label
        if LABELS[label] == "none":
            unclipped = image < 255
            assert (image[unclipped].float() >= original[unclipped].float() * 1.5 - 0.5).all(), "x1.5 or more"
            assert (image == 255).float().mean() > (original == 255).float().mean(), "more of it clipped to white"
        else:
            assert torch.equal(image, original), "gestures are never washed out"
    assert torch.equal(CropDataset(cached, nn.Identity())[9][0], torch.from_numpy(images[9]).permute(2, 0, 1))
    gains = [float(WashedOut()(torch.full((3, 4, 4), 100, dtype=torch.uint8)).float().mean()) / 100 for _ in range(50)]
    assert min(gains) >= 1.5 and max(gains) <= 2.2


def same_draws(sources: list, draw: Callable, seed: int) -> list:
    """`draw(source)` for each source, the random state reset to `seed` before each: the same random draws."""
    views = []
    for source in sources:
        torch.manual_seed(seed)
        random.seed(seed)
        views.append(draw(source))
    return views


def test_washed_out_draws_over_expose_every_class_for_the_student_alone(crops: list[np.ndarray]) -> None:
    tensors = [torch.from_numpy(crop).permute(2, 0, 1) for crop in crops]  # three of each label
    plain, washed = CleanAndDegraded(112), CleanAndDegraded(112, washed_out=1.0)
    white = normalize()(torch.full((3, 1, 1), 255, dtype=torch.uint8)).flatten()
    clipped = torch.zeros(2)  # share of the student's pixels clipped to white: without, with washed-out draws
    for seed in range(3):
        for index, tensor in enumerate(tensors):
            (student, teacher), (washed_student, washed_teacher) = same_draws(
                [plain, washed], lambda transform, tensor=tensor: transform(tensor), seed * 100 + index)
            assert torch.equal(teacher, washed_teacher), "the teacher sees the crop clean either way"
            for column, view in enumerate((student, washed_student)):
                clipped[column] += (view >= white.view(3, 1, 1) - 1e-4).float().mean()
    assert clipped[1] > 2 * clipped[0], f"clipped to white: {clipped / 36}"
    with pytest.raises(SystemExit):
        parse_args(["--model", "efficientnet_lite0_slim", "--washed-out", "0.2"])  # the standard augmentation
    assert parse_args(["--model", "efficientnet_lite0_slim", "--augment", "webcam", "--washed-out", "0.2"]).washed_out


def test_washed_out_negatives_for_the_student_alone_leave_the_teacher_a_clean_none(crops: list[np.ndarray]) -> None:
    images = np.stack(crops)  # three of each label, in LABELS order: like, dislike, ok, none
    labels = np.repeat(np.arange(len(LABELS)), 3)
    cached = CachedImages(images, labels, [f"crop{i}" for i in range(len(labels))])
    plain = CropDataset(cached, CleanAndDegraded(112))
    washed = CropDataset(cached, CleanAndDegraded(112), washed_out_share=1.0, washed_out_student_only=True)
    white = normalize()(torch.full((3, 1, 1), 255, dtype=torch.uint8)).flatten().view(3, 1, 1) - 1e-4
    clipped = torch.zeros(2)  # share of the none students' pixels clipped to white: plain, washed out
    for seed in range(3):
        for index, label in enumerate(labels):
            (student, teacher), (washed_student, washed_teacher) = same_draws(
                [plain, washed], lambda dataset, index=index: dataset[index][0], seed * 100 + index)
            assert torch.equal(teacher, washed_teacher), "the teacher sees the crop clean either way"
            if LABELS[label] == "none":
                clipped += torch.stack([(v >= white).float().mean() for v in (student, washed_student)])
            else:
                assert torch.equal(student, washed_student), "gestures are never washed out"
    assert clipped[1] > 2 * clipped[0], f"clipped to white: {clipped / 9}"
    with pytest.raises(ValueError, match="CleanAndDegraded"):
        CropDataset(cached, nn.Identity(), washed_out_share=1.0, washed_out_student_only=True)
    with pytest.raises(SystemExit):  # a single view has no teacher's view to keep clean
        parse_args(["--model", "efficientnet_lite0_slim", "--augment", "webcam", "--washed-out-negatives-view",
                    "student"])


@pytest.fixture(scope="module")
def small_data(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_small_dataset(data_dir, tmp_path_factory.mktemp("data"), {"test": 6})


def test_robustness_cli_reports_every_condition_asked_for(small_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "robustness.json"
    result = subprocess.run([sys.executable, "-m", "training.robustness", "--data", str(small_data), "--split", "test",
                             "--models", str(SHIPPED_CHECKPOINT), "--conditions", "clean", "low-res-16", "grayscale",
                             "--json", str(out)], cwd=ROOT, capture_output=True, text=True, check=True)
    results = json.loads(out.read_text())[str(SHIPPED_CHECKPOINT)]
    assert list(results) == ["clean", "low-res-16", "grayscale"]
    clean = evaluate(small_data, "test", "crop", SHIPPED_CHECKPOINT)
    assert results["clean"]["confusion"] == clean["confusion"]
    assert results["low-res-16"]["n"] == clean["n"] == 24
    for condition in results:
        assert f"| {condition} |" in result.stdout
    perturbed = evaluate(small_data, "test", "crop", SHIPPED_CHECKPOINT, perturbation="low-res-16")
    assert perturbed["confusion"] == results["low-res-16"]["confusion"] and perturbed["perturbation"] == "low-res-16"


def test_robustness_labels_crops_as_the_pipeline_decides_when_asked(small_data: Path, tmp_path: Path) -> None:
    # the shipped export, made to answer a gesture only at 0.95: most of these crops' gestures score 0.90-0.95
    shipped = OnnxClassifier(classifier_model())
    strict = json.dumps({**asdict(shipped.settings), "min_gesture_score": 0.95})
    model = copy_with_metadata(classifier_model(), tmp_path / "strict.onnx", "pipeline", strict)
    results = robustness([model], small_data, "test", "crop", ["clean", "over-exposed"], as_pipeline=True)
    labels, defaults = shipped.labels, shipped.default_gestures  # the pipeline decides among the default gestures
    cached = load_cached(load_samples(small_data, "test", "crop", labels), labels=labels)
    for condition, report in results[str(model)].items():
        images = cached.images if condition == "clean" else perturb_crops(cached.images, condition, 0)
        probabilities = shipped.probabilities(images)
        decided = gesture_decisions(probabilities, labels, 0.95, defaults)
        expected = with_gestures_chosen(classification_report(cached.labels, decided, labels), defaults)
        assert report["confusion"] == expected["confusion"] and report["n"] == 24
        most_probable = classification_report(cached.labels, probabilities.argmax(1), labels)
        assert report["confusion"] != with_gestures_chosen(most_probable, defaults)["confusion"]

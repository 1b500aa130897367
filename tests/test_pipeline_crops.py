"""Training inputs cut by the running pipeline (`training.pipeline_crops`): the frame split, pasting, the hand
crops the palm detector gives, their cache, and a training run that mixes them in."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from runtime.hand_box import landmark_box
from runtime.hand_landmarks import HandLandmarker
from runtime.onnx_models import ModelFileError
from runtime.paths import landmark_model, palm_model
from runtime.pipeline import PalmFinder
from runtime.settings import PipelineSettings
from tests.conftest import make_small_dataset
from training import train
from training.datasets import Sample, load_samples
from training.gestures import CACHE_SIZE, LABELS
from training.pipeline_crops import (
    CUT_PALM_SCORE,
    cut_hand,
    frame_halves,
    hard_negatives,
    paste,
    pipeline_crops,
)
from training.train import add_epoch

PALM_MODEL = palm_model()
PIPELINE = PipelineSettings()


@pytest.fixture(scope="module")
def small_data(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_small_dataset(data_dir, tmp_path_factory.mktemp("data"), {"train": 12, "val": 4}, frames=6)


def test_frame_halves_keep_groups_together_and_gesture_frames_held_out(data_dir: Path) -> None:
    frames = load_samples(data_dir, "train", "frame")
    context, held_out = frame_halves(frames)
    assert sorted(map(str, (f.path for f in context + held_out))) == sorted(str(f.path) for f in frames)
    assert all(f.label == "none" for f in context)
    assert {f.path for f in frames if f.label != "none"} <= {f.path for f in held_out}
    none_frames = sum(f.label == "none" for f in frames)
    assert 0.4 * none_frames < len(context) < 0.6 * none_frames
    small_groups = {f.group for f in context} & {f.group for f in held_out if f.label == "none"}
    assert all(sum(f.group == g for f in frames) > 100 for g in small_groups)  # only the one-person set is shared
    assert frame_halves(frames) == (context, held_out)


def test_paste_puts_the_crop_inside_the_frame_with_soft_edges(data_dir: Path) -> None:
    crop = Image.open(load_samples(data_dir, "train", "crop")[0].path).convert("RGB")
    background = Image.new("RGB", (512, 683), (0, 0, 255))
    composite, (left, top, right, bottom) = paste(crop, background, random.Random(1))
    assert composite.size == background.size and 0 <= left < right <= 512 and 0 <= top < bottom <= 683
    pixels = np.asarray(composite).astype(int)
    centre = pixels[(top + bottom) // 2, (left + right) // 2]
    resized = crop.resize((right - left, bottom - top), Image.Resampling.BILINEAR)
    expected = np.asarray(resized)[(bottom - top) // 2, (right - left) // 2]
    assert np.abs(centre - expected).max() <= 2
    assert (pixels[:top, :] == [0, 0, 255]).all() and (pixels[bottom:, :] == [0, 0, 255]).all()
    assert pixels[top, left].tolist() == [0, 0, 255]  # the feathered corner shows the background


def test_cut_hand_takes_the_palm_inside_the_region(data_dir: Path) -> None:
    finder = PalmFinder(PALM_MODEL, PIPELINE.min_palm_score, PIPELINE.max_hands)
    frame = next(f for f in load_samples(data_dir, "test", "frame") if f.label == "ok")
    image = Image.open(frame.path).convert("RGB")
    everywhere = cut_hand(finder, image, None)
    assert everywhere and all(c.shape == (CACHE_SIZE, CACHE_SIZE, 3) for c in everywhere)
    palm = finder.palms(np.asarray(image))[0]
    assert len(cut_hand(finder, image, tuple(palm.box))) == 1
    assert cut_hand(finder, image, (0, 0, 1, 1)) == []


def test_landmark_box_is_the_square_around_the_hand_plus_its_margin() -> None:
    points = np.array([[100, 100, 0], [140, 180, 5], [120, 150, -3]], dtype=np.float32)
    # extent 40 x 80 around (120, 140): a square of 80 + 2 x 10% of it
    assert landmark_box(points, 640, 480, 0.1) == (72, 92, 168, 188)
    assert landmark_box(points, 150, 170, 0.1) == (72, 92, 150, 170)  # clipped to the image


def test_cut_hand_around_the_landmarks_holds_the_whole_hand(data_dir: Path) -> None:
    finder = PalmFinder(PALM_MODEL, CUT_PALM_SCORE, PIPELINE.max_hands)
    landmarker = HandLandmarker(landmark_model())
    frame = next(f for f in load_samples(data_dir, "test", "frame") if f.label == "like")
    image = Image.open(frame.path).convert("RGB")
    palm = finder.palms(np.asarray(image))[0]
    hand = landmarker(image, landmarker.around_palm(palm))
    extent = (*hand.points[:, :2].min(axis=0), *hand.points[:, :2].max(axis=0))
    [crop] = cut_hand(finder, image, extent, landmarker=landmarker)
    left, top, right, bottom = landmark_box(hand.points, image.width, image.height, PIPELINE.hand_box_margin)
    assert hand.presence >= PIPELINE.min_presence and crop.shape == (CACHE_SIZE, CACHE_SIZE, 3)
    assert (hand.points[:, 0] >= left).all() and (hand.points[:, 0] <= right).all()
    assert (hand.points[:, 1] >= top).all() and (hand.points[:, 1] <= bottom).all()
    expected = image.crop((left, top, right, bottom)).resize((CACHE_SIZE, CACHE_SIZE), Image.Resampling.BILINEAR)
    assert np.array_equal(crop, np.asarray(expected))
    # no hand in the region the landmark model looks at: nothing is cut
    assert cut_hand(finder, Image.new("RGB", image.size, (128, 128, 128)), None, landmarker=landmarker) == []
    # a region around the palm's centre alone, as a small crop pasted over a hand in the background would be: the
    # hand reaches far out of it, so it is not the pasted hand, and nothing is cut
    x, y = (palm.box[0] + palm.box[2]) / 2, (palm.box[1] + palm.box[3]) / 2
    assert cut_hand(finder, image, (x - 3, y - 3, x + 3, y + 3), landmarker=landmarker) == []


def test_pipeline_crops_find_hands_and_are_cached(small_data: Path) -> None:
    samples = load_samples(small_data, "train", "crop")
    first = pipeline_crops(samples, small_data, PALM_MODEL, seed=0, workers=1)
    assert first.images.shape == (len(samples), CACHE_SIZE, CACHE_SIZE, 3) and first.found.shape == (len(samples),)
    assert first.found.mean() >= 0.3  # about 0.6 over all training crops; small pasted hands are missed
    assert not first.images[~first.found].any()
    again = pipeline_crops(samples, small_data, PALM_MODEL, seed=0, workers=1)
    assert np.array_equal(np.asarray(again.images), first.images) and np.array_equal(again.found, first.found)
    other = pipeline_crops(samples, small_data, PALM_MODEL, seed=1, workers=1)
    assert not np.array_equal(np.asarray(other.images), first.images)


def test_pipeline_crops_need_frames_to_paste_into(data_dir: Path, tmp_path: Path) -> None:
    crops_only = make_small_dataset(data_dir, tmp_path, {"train": 2})
    with pytest.raises(ValueError, match="no training frames"):
        pipeline_crops(load_samples(crops_only, "train", "crop"), crops_only, PALM_MODEL, workers=1)


def test_a_bad_palm_model_or_frame_is_reported_not_fatal(small_data: Path, tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    samples = load_samples(small_data, "train", "crop")[:2]
    with pytest.raises(ModelFileError, match=r"missing\.onnx"):
        pipeline_crops(samples, small_data, tmp_path / "missing.onnx", workers=1)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not onnx")
    with pytest.raises(ModelFileError, match=r"broken\.onnx"):
        hard_negatives(small_data, broken, workers=1)
    copy = make_small_dataset(small_data, tmp_path / "data", {"train": 2}, frames=6)
    for frame in load_samples(copy, "train", "frame"):
        frame.path.write_bytes(b"corrupt")
    with caplog.at_level("WARNING"):
        negatives = hard_negatives(copy, PALM_MODEL, workers=1)
    assert len(negatives) == 0 and "unreadable" in caplog.text


def test_hard_negatives_come_from_context_none_frames(small_data: Path) -> None:
    negatives = hard_negatives(small_data, PALM_MODEL, workers=1)
    assert negatives.ndim == 4 and negatives.shape[1:] == (CACHE_SIZE, CACHE_SIZE, 3) and len(negatives) >= 1


def test_sampler_gives_hard_negatives_their_share_of_none_draws() -> None:
    labels = np.asarray([0] * 10 + [1] * 10 + [2] * 10 + [3] * 100 + [3] * 5)
    weights = train.balanced_sampler(labels, 1000, 0, hard_negatives=5, hard_share=0.25).weights.numpy()
    per_class = [weights[:130][labels[:130] == c].sum() for c in range(len(LABELS))]
    assert per_class[:3] == pytest.approx([1.0] * 3)
    assert per_class[3] == pytest.approx(0.75) and weights[130:].sum() == pytest.approx(0.25)


def test_training_mixes_in_pipeline_crops_from_a_checkpoint(small_data: Path, tmp_path: Path) -> None:
    first, tuned = tmp_path / "first", tmp_path / "tuned"
    common = ["--model", "mobilenet_v3_small", "--data", str(small_data), "--epochs", "1", "--samples-per-epoch",
              "32", "--batch-size", "16", "--workers", "0"]
    train.main([*common, "--out", str(first)])
    train.main([*common, "--out", str(tuned), "--init", str(first / "best.pt"), "--pipeline-share", "0.5",
                "--hard-negatives", "0.3", "--pipeline-box", "palm"])
    config = json.loads((tuned / "run.json").read_text())["config"]
    assert config["init"] == str(first / "best.pt") and config["pipeline_share"] == 0.5
    assert config["pipeline_box"] == "palm"
    assert (tuned / "best.pt").is_file()
    around_landmarks = tmp_path / "landmarks"
    train.main([*common, "--out", str(around_landmarks), "--init", str(first / "best.pt"), "--pipeline-share", "0.5",
                "--hard-negatives", "0.3"])
    record = json.loads((around_landmarks / "run.json").read_text())
    assert record["config"]["pipeline_box"] == "landmarks"  # the default: the box the pipeline hands the classifier
    # validated on the validation crops as the pipeline cuts them too
    assert 0 < record["val_pipeline_crops"] <= record["val_crops"]
    assert {"val_pipeline_macro_f1", "val_pipeline_f1"} <= set(record["best"])


def test_the_best_epoch_is_chosen_on_the_pipeline_cut_validation_crops() -> None:
    def report(f1: float) -> dict:
        return {"macro_f1": f1, "per_class": {label: {"f1": f1} for label in LABELS}}

    record = {"epochs": [], "best": None, "wall_seconds": 0.0}
    assert add_epoch(record, 0, 1.0, report(0.90), 1.0, report(0.80))
    assert not add_epoch(record, 1, 1.0, report(0.95), 1.0, report(0.79))  # better on the crops, worse as cut
    assert add_epoch(record, 2, 1.0, report(0.85), 1.0, report(0.81))
    assert record["best"]["epoch"] == 3
    plain = {"epochs": [], "best": None, "wall_seconds": 0.0}  # no pipeline-cut crops: chosen on the crops
    assert add_epoch(plain, 0, 1.0, report(0.90), 1.0) and add_epoch(plain, 1, 1.0, report(0.95), 1.0)


def test_samples_in_hagrid_layout_are_cut_from_their_own_frame(data_dir: Path, tmp_path: Path) -> None:
    frame = next(f for f in load_samples(data_dir, "test", "frame") if f.label == "like")
    finder = PalmFinder(PALM_MODEL, CUT_PALM_SCORE, PIPELINE.max_hands)
    image = Image.open(frame.path).convert("RGB")
    palm = finder.palms(np.asarray(image))[0]
    x0, y0, x1, y1 = (float(v) for v in palm.box)
    box = (x0 / image.width, y0 / image.height, (x1 - x0) / image.width, (y1 - y0) / image.height)
    result = pipeline_crops([Sample(frame.path, "like", "g", box)], tmp_path, PALM_MODEL, workers=1)
    assert result.found.tolist() == [True]
    assert np.array_equal(np.asarray(result.images[0]), cut_hand(finder, image, (x0, y0, x1, y1))[0])

"""Hands followed from frame to frame (runtime.tracking) on real photos shown as a stream: a hand found once is
tracked without the palm detector, keeps its label and box, is lost when it leaves, and the detector comes back
for a second hand only every `redetect_ms`, and a hand too small for the letterboxed frame is found in the tiles.
Also MediaPipe's region from landmarks, on real hands."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from runtime.hand_landmarks import LANDMARK_REGION, roi_from_landmarks
from runtime.images import read_rgb
from runtime.paths import classifier_model, landmark_model, palm_model
from runtime.pipeline import GesturePipeline, tile_levels
from runtime.settings import PipelineSettings
from runtime.tracking import HandTracker, has_motion, search_views, signature, unchanged
from tests.conftest import manifest_rows, swayed_and_raised

FRAME_MS = 66
"""About 15 frames a second, as the widget processes them."""


@pytest.fixture(scope="module")
def pipeline() -> GesturePipeline:
    return GesturePipeline(palm_model(), landmark_model(), classifier_model())


@pytest.fixture(scope="module")
def photos(data_dir: Path, pipeline: GesturePipeline) -> dict[str, np.ndarray]:
    """One test photo per gesture that the single-image pipeline labels right, and one with no hand found, at the
    size of the 👍 photo (a stream's frames all have one size)."""
    rows = sorted((r for r in manifest_rows(data_dir) if r["kind"] == "frame" and r["split"] == "test"),
                  key=lambda r: r["path"])
    chosen: dict[str, np.ndarray] = {}
    for row in rows:
        key = row["label"] if row["label"] != "none" else "no hand"
        if key in chosen or (key == "no hand" and "like" not in chosen):
            continue
        image = read_rgb(data_dir / row["path"])
        if key == "no hand" and "like" in chosen:
            height, width = chosen["like"].shape[:2]
            image = np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.BILINEAR))
        prediction = pipeline(image)
        if (key == "no hand" and not prediction.hands) or (key != "no hand" and prediction.label == key):
            chosen[key] = image
        if len(chosen) == 4:
            return chosen
    raise AssertionError(f"test photos found only for {sorted(chosen)}")


def test_a_found_hand_is_tracked_without_the_detector(pipeline: GesturePipeline,
                                                      photos: dict[str, np.ndarray]) -> None:
    for gesture in ("like", "dislike", "ok"):
        tracker, image = HandTracker(pipeline), photos[gesture]
        first = tracker(image, 0)
        assert first.detected and first.prediction.label == gesture
        for step in range(1, 6):  # the same photo held still: tracked, same label, box steady
            frame = tracker(image, step * FRAME_MS)
            assert frame.prediction.label == gesture
            assert len(frame.prediction.hands) >= 1
            # a second hand is looked for only every redetect_ms (the max_hands default is 2)
            assert frame.detected == (len(tracker.regions) < pipeline.settings.max_hands
                                      and step * FRAME_MS >= pipeline.settings.redetect_ms)
            box, before = np.array(frame.prediction.box), np.array(first.prediction.box)
            assert np.abs(box - before).max() <= 0.1 * (before[2] - before[0]), (gesture, step, box, before)


def test_a_hand_that_leaves_is_lost_and_the_detector_runs_again(pipeline: GesturePipeline,
                                                                photos: dict[str, np.ndarray]) -> None:
    tracker = HandTracker(pipeline)
    tracker(photos["like"], 0)
    assert tracker.regions
    empty = tracker(photos["no hand"], FRAME_MS)  # tracked regions looked at, no hand there any more
    assert not empty.detected and empty.prediction.label == "none" and not tracker.regions
    back = tracker(photos["like"], 2 * FRAME_MS)
    assert back.detected  # a hand just lost: the detector looks at once
    assert back.prediction.label == "like" or not back.prediction.hands  # the view may have moved on to a tile


def test_with_no_hand_the_detector_waits_for_motion_or_its_idle_interval(pipeline: GesturePipeline,
                                                                        photos: dict[str, np.ndarray]) -> None:
    """A picture with no hand, held with a little camera noise: the detector looks once, then once every
    `idle_search_ms`, and every frame says it is idle; a hand raised into it (the 👍 photo) is motion, and the
    detector runs on that very frame."""
    settings, rng = pipeline.settings, np.random.default_rng(0)
    tracker = HandTracker(pipeline)
    times = [step * FRAME_MS for step in range(round(settings.idle_search_ms / FRAME_MS) + 3)]
    frames = [tracker(np.clip(photos["no hand"] + rng.integers(-3, 4, photos["no hand"].shape), 0, 255)
                      .astype(np.uint8), time) for time in times]
    second = min(time for time in times if time >= settings.idle_search_ms)
    assert [frame.detected for frame in frames] == [time in (0, second) for time in times]
    assert all(frame.idle and not frame.prediction.hands for frame in frames)
    raised = tracker(photos["like"], times[-1] + FRAME_MS)
    assert raised.detected and not raised.idle


def test_a_sway_is_not_motion_and_a_hand_raised_is(data_dir: Path) -> None:
    """With no hand tracked, what a few pixels' shift of the picture explains (a participant swaying, re-lit a
    little) does not wake the detector; a hand raised into the same picture does."""
    settings = PipelineSettings()
    cases = swayed_and_raised(data_dir, 8)
    assert not any(has_motion(swayed, first, settings) for first, swayed, _ in cases)
    assert all(has_motion(raised, first, settings) for first, _, raised in cases)
    without_shift = replace(settings, motion_shift_share=0)
    assert any(has_motion(swayed, first, without_shift) for first, swayed, _ in cases), "the sway is too small"


def test_redetection_finds_nothing_twice(pipeline: GesturePipeline, photos: dict[str, np.ndarray]) -> None:
    """With redetection on every frame, a tracked hand and the palm found on it again count as one hand; a view
    searched in vain is passed over while it looks the same."""
    single = len(pipeline(photos["ok"]).hands)
    every_frame = replace(pipeline.settings, redetect_ms=0, max_hands=single + 1)  # room for one more: look again
    tracker = HandTracker(GesturePipeline(palm_model(), landmark_model(), classifier_model(), every_frame))
    detected = []
    for step in range(4):
        frame = tracker(photos["ok"], step * FRAME_MS)
        assert len(frame.prediction.hands) == single
        detected.append(frame.detected)
    # the letterboxed frame (where the hand was found, then only found again), the first tile, the letterboxed
    # frame again: unchanged since it was searched in vain
    assert detected == [True, True, True, False]


def test_region_from_landmarks_is_mediapipes_around_a_real_hand(pipeline: GesturePipeline,
                                                                 photos: dict[str, np.ndarray]) -> None:
    hand = pipeline(photos["ok"]).hands[0].landmarks
    region = roi_from_landmarks(hand.points, LANDMARK_REGION)
    # the hand is inside, and the region is about twice the size of the hand without its fingertips
    points = hand.points[:, :2]
    assert np.hypot(points[:, 0] - region.x, points[:, 1] - region.y).max() <= region.side / math.sqrt(2)
    extent = (points.max(axis=0) - points.min(axis=0)).max()
    assert 0.5 * extent <= region.side / LANDMARK_REGION.scale <= 1.2 * extent
    # the landmarks found again in that region are where they were: a held hand stays put
    again = pipeline.landmarker(photos["ok"], region)
    assert np.abs(again.points[:, :2] - points).max() <= 0.1 * extent
    # turning the hand turns the region with it
    turned = roi_from_landmarks(np.stack([-hand.points[:, 1], hand.points[:, 0], hand.points[:, 2]], axis=1),
                                LANDMARK_REGION)
    assert math.isclose(math.remainder(turned.rotation - region.rotation - math.pi / 2, 2 * math.pi), 0,
                        abs_tol=1e-6)


def test_a_hand_across_the_room_is_found_in_the_fine_tiles(pipeline: GesturePipeline, data_dir: Path) -> None:
    """A training photo whose hand the detector misses in the letterboxed frame and in the squares of its short
    side: the squares of half that side find it, on a single image and within one round of a stream's search."""
    rows = sorted((r for r in manifest_rows(data_dir) if r["kind"] == "frame" and r["split"] == "train"
                   and r["label"] != "none"), key=lambda r: r["path"])
    for row in rows:
        image = read_rgb(data_dir / row["path"])
        coarse, fine = tile_levels(*image.shape[1::-1])
        if (not pipeline.hands_at(image, pipeline.detect_in_view(image)[:pipeline.max_hands])
                and not pipeline.hands_at(image, pipeline.palms_in_tiles(image, coarse))
                and pipeline(image).label == row["label"]):
            break
    else:
        raise AssertionError("no training photo has a gesture found only in the fine tiles")
    tracker, views = HandTracker(pipeline), search_views(*image.shape[1::-1])
    every = pipeline.settings.idle_search_ms  # a still picture: one view per idle search
    for step in range(len(views)):
        frame = tracker(image, step * every)
        if frame.prediction.hands:
            break
    assert frame.prediction.label == row["label"], row["path"]
    assert views[step] in fine  # found in a fine tile, and the search stays there while it finds the hand
    assert views[tracker.view_index % len(views)] == views[step]
    assert tracker(image, step * every + FRAME_MS).prediction.label == row["label"]


def test_a_hand_held_still_is_not_run_again_until_it_moves(pipeline: GesturePipeline,
                                                          photos: dict[str, np.ndarray]) -> None:
    """Camera noise below `still_change` leaves a held hand as it was, with no model run on it; moved a few pixels,
    it is looked at again, and keeps its label."""
    image = photos["like"]
    noisy = np.clip(image + np.random.default_rng(0).integers(-3, 4, image.shape), 0, 255).astype(np.uint8)
    moved = np.roll(image, 6, axis=1)
    tracker = HandTracker(pipeline)
    frames = [tracker(picture, step * FRAME_MS) for step, picture in enumerate([image, image, noisy, moved, moved])]
    assert [frame.still for frame in frames] == [0, 1, 1, 0, 1]
    assert [bool(frame.regions) for frame in frames] == [True, False, False, True, False]
    assert all(frame.prediction.label == "like" for frame in frames)
    assert frames[2].prediction == frames[0].prediction  # kept as it was: same box, same probabilities
    assert frames[3].prediction.box[0] > frames[0].prediction.box[0]  # looked at again where it moved to


def test_a_hand_drifting_a_pixel_a_frame_is_looked_at_again_once_it_has_moved_enough(
        pipeline: GesturePipeline, photos: dict[str, np.ndarray]) -> None:
    """A still hand is compared with how it looked when last looked at, not with the frame before: slow drift adds
    up, and the hand is looked at again on the first frame its box no longer looks the same."""
    image = photos["like"]
    tracker = HandTracker(pipeline)
    tracker(image, 0)
    settings = pipeline.settings
    before = signature(image, tracker.hands[0].box, settings)
    enough = next(k for k in range(1, 60)
                  if not unchanged(signature(np.roll(image, k, axis=1), tracker.hands[0].box, settings), before,
                                   settings))
    still = [tracker(np.roll(image, k, axis=1), k * FRAME_MS).still for k in range(1, enough + 1)]
    assert still == [1] * (enough - 1) + [0], f"first moved enough at {enough} px"


def test_a_held_hand_changed_by_exactly_still_change_stays_still(pipeline: GesturePipeline,
                                                                 photos: dict[str, np.ndarray]) -> None:
    """Brightened by exactly `still_change` (every cell of its signature moves by that much), a held hand is still;
    by one more, it is looked at again: the limit itself counts as noise, as in the worker."""
    change = int(pipeline.settings.still_change)
    assert change == pipeline.settings.still_change
    base = np.minimum(photos["like"], 255 - change - 1).astype(np.uint8)
    tracker = HandTracker(pipeline)
    frames = [tracker(picture, step * FRAME_MS)
              for step, picture in enumerate([base, base, base + change, base + change + 1])]
    assert [frame.still for frame in frames] == [0, 1, 1, 0]

"""Hands followed from frame to frame, as MediaPipe's hand tracking and the browser's worker do it, step for step
(`static/widget/pipeline.js`): a frame's landmarks give the next frame's region, so the palm detector runs only to
find hands, one view at a time, and what has not moved since the models last looked at it is not looked at again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from runtime.hand_landmarks import RegionOfInterest
from runtime.palm_decode import PalmDetection
from runtime.pipeline import GesturePipeline, Hand, Prediction, Tile, tile_levels
from runtime.settings import PipelineSettings


@dataclass(frozen=True)
class TrackedFrame:
    """One frame's decision; whether the palm detector ran on it; the regions the landmark model looked in (tracked
    hands that moved first, then new palms); how many hands were kept as they were, with no model run; and whether
    the tracker is idle."""

    prediction: Prediction
    detected: bool
    regions: list[RegionOfInterest]
    still: int
    idle: bool = False
    """No hand tracked and no motion: the next frame may come `idle_fps` later."""


@dataclass(frozen=True)
class Search:
    """One detection: the view it looked in, that view's signature, and the palms found there."""

    view: Tile | None
    signature: np.ndarray
    palms: list[PalmDetection]


class HandTracker:
    """`GesturePipeline`'s steps over a stream of frames of one size; `time_ms` is the frame's timestamp."""

    def __init__(self, pipeline: GesturePipeline) -> None:
        self.pipeline = pipeline
        self.reset()

    def reset(self) -> None:
        """Track nothing and search from the letterboxed frame (a new camera, frames after a pause)."""
        self.frame_size: tuple[int, int] | None = None
        self.view_index = 0
        self.searched: dict[Tile | None, np.ndarray] = {}
        """Each view's signature when the detector last found no new hand in it (None: the letterboxed frame)."""
        self.forget()

    def forget(self) -> None:
        self.hands: list[Hand] = []
        self.signatures: list[np.ndarray] = []
        """Each tracked hand's box, as it looked when the landmark model last ran on it."""
        self.detected_at = -math.inf
        self.frame_signature: np.ndarray | None = None
        """The letterboxed square's signature on the last frame with no hand tracked."""
        self.moved_at = -math.inf

    @property
    def regions(self) -> list[RegionOfInterest]:
        """Where the tracked hands are looked for on the next frame."""
        return [self.pipeline.landmarker.around_hand(hand.landmarks.points) for hand in self.hands]

    def __call__(self, image: np.ndarray, time_ms: float) -> TrackedFrame:
        if image.shape[:2] != self.frame_size:
            self.reset()
            self.frame_size = image.shape[:2]
        settings = self.pipeline.settings
        seen = [unchanged(signature(image, hand.box, settings), before, settings)
                for hand, before in zip(self.hands, self.signatures, strict=True)]
        still = [(hand, before) for hand, before, same in zip(self.hands, self.signatures, seen, strict=True) if same]
        moved = [hand for hand, same in zip(self.hands, seen, strict=True) if not same]
        regions = [self.pipeline.landmarker.around_hand(hand.landmarks.points) for hand in moved]
        search = self._search(image, time_ms)
        detected = search is not None
        palms = search.palms if detected else []
        regions += [self.pipeline.landmarker.around_palm(palm) for palm in palms]
        found = self.pipeline.landmarks(image, regions, [hand.landmarks for hand, _ in still])
        if detected:
            self._searched(search, any(hand is not None for hand in found[len(moved):]))
        scores = [1.0] * len(moved) + [palm.score for palm in palms]
        kept = [(hand, score) for hand, score in zip(found, scores, strict=True) if hand is not None]
        kept = kept[:settings.max_hands - len(still)]
        looked = self.pipeline.classify(image, [hand for hand, _ in kept], [score for _, score in kept])
        if self.hands and not still and not looked:
            self.moved_at = time_ms  # the hands just left or were lost: look for them at once
        self.hands = [hand for hand, _ in still] + looked
        self.signatures = [before for _, before in still] + [signature(image, hand.box, settings) for hand in looked]
        idle = not self.hands and time_ms - self.moved_at > settings.motion_search_ms
        return TrackedFrame(self.pipeline.decide(self.hands), detected, regions, len(still), idle)

    def _search(self, image: np.ndarray, time_ms: float) -> Search | None:
        """The palm detector in the current view, when a detection is due and the view has changed since it was
        last searched in vain; None when it did not run."""
        settings = self.pipeline.settings
        if not self._search_due(image, time_ms):
            return None
        views = search_views(*image.shape[1::-1])
        view = views[self.view_index % len(views)]
        view_signature = (self.frame_signature if view is None and self.frame_signature is not None  # this frame's
                          else signature(image, _square(view, *image.shape[1::-1]), settings))
        if view in self.searched and unchanged(view_signature, self.searched[view], settings):
            self.view_index += 1  # nothing new can be there: the next frame looks in the next view
            return None
        self.detected_at = time_ms
        return Search(view, view_signature, self._detect_in_view(image, view))

    def _search_due(self, image: np.ndarray, time_ms: float) -> bool:
        """Whether the detector should look for a hand on this frame: another one, every `redetect_ms`; the first,
        at once on motion and for `motion_search_ms` after, else every `idle_search_ms`."""
        settings = self.pipeline.settings
        if self.hands:
            self.frame_signature = None
            return len(self.hands) < settings.max_hands and time_ms - self.detected_at >= settings.redetect_ms
        now = signature(image, _square(None, *image.shape[1::-1]), settings)
        if self.frame_signature is not None and has_motion(now, self.frame_signature, settings):
            self.moved_at = time_ms
        self.frame_signature = now
        return (time_ms - self.moved_at <= settings.motion_search_ms
                or time_ms - self.detected_at >= settings.idle_search_ms)

    def _searched(self, search: Search, found_new: bool) -> None:
        """After a detection: a view with a new hand is searched again next time; in one without, the next detection
        looks in the next view, and this one is passed over while it looks the same."""
        if found_new:
            self.searched.pop(search.view, None)
        else:
            self.searched[search.view] = search.signature
            self.view_index += 1

    def _detect_in_view(self, image: np.ndarray, view: Tile | None) -> list[PalmDetection]:
        """Palms in one view, in frame pixels, at most `max_hands`."""
        palms = self.pipeline.detect_in_view(image if view is None else view.of(image))
        return [palm if view is None else view.to_frame(palm) for palm in palms][:self.pipeline.max_hands]


def search_views(width: int, height: int) -> list[Tile | None]:
    """The views the detector looks in, one per detection, in turn (None: the letterboxed frame): every square of
    `tile_levels`, coarse to fine, with the letterboxed frame between each two, so that a hand at arm's length is
    found within two detections and one across the room within a round of them."""
    return [view for tile in (tile for level in tile_levels(width, height) for tile in level) for view in (None, tile)]


def signature(image: np.ndarray, box: tuple[int, int, int, int], settings: PipelineSettings) -> np.ndarray:
    """A region of the frame as `signature_size` x `signature_size` cells, each the integer mean of about as many
    sampled pixels a side (black beyond the frame): what `unchanged` compares. Holds still under camera noise and
    costs the worker a fraction of a millisecond, which computes the same integers (static/widget/pipeline.js)."""
    size = settings.signature_size
    left, top, right, bottom = box
    rows, row_starts = _cell_samples(top, bottom, size)
    cols, col_starts = _cell_samples(left, right, size)
    height, width = image.shape[:2]
    inside = ((rows >= 0) & (rows < height))[:, None] & ((cols >= 0) & (cols < width))[None, :]
    pixels = image[np.clip(rows, 0, height - 1)][:, np.clip(cols, 0, width - 1)].astype(np.int64)
    pixels *= inside[:, :, None]
    sums = np.add.reduceat(np.add.reduceat(pixels, row_starts, axis=0), col_starts, axis=1)
    counts = np.outer(np.diff([*row_starts, len(rows)]), np.diff([*col_starts, len(cols)]))
    return sums // counts[:, :, None]


def _cell_samples(start: int, end: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The coordinates sampled in `size` cells over [start, end), in order, and where each cell's begin: about `size`
    per cell, evenly spaced (each one of a cell smaller than that, and at least its first)."""
    samples, starts = [], []
    for i in range(size):
        first, last = start + i * (end - start) // size, start + (i + 1) * (end - start) // size
        starts.append(len(samples))
        samples += range(first, max(last, first + 1), max(1, (last - first) // size))
    return np.asarray(samples), np.asarray(starts)


def has_motion(now: np.ndarray, before: np.ndarray, settings: PipelineSettings) -> bool:
    """Some cell of the frame's signature changed by more than `search_motion` plus `motion_shift_share` of its
    largest difference to a neighbouring cell before: more than a small shift of what was there explains."""
    before = before.astype(np.int64)
    contrast = np.zeros(before.shape[:2], dtype=np.int64)
    down, across = np.abs(np.diff(before, axis=0)).max(axis=2), np.abs(np.diff(before, axis=1)).max(axis=2)
    for near, gap in ((contrast[1:], down), (contrast[:-1], down), (contrast[:, 1:], across),
                      (contrast[:, :-1], across)):
        np.maximum(near, gap, out=near)  # each cell's largest difference to the cell above, below, left and right
    change = np.abs(now - before).max(axis=2)
    return bool((change > settings.search_motion + settings.motion_shift_share * contrast).any())


def unchanged(now: np.ndarray, before: np.ndarray, settings: PipelineSettings) -> bool:
    """No value of the signature moved by more than `still_change`: only noise, no movement."""
    return bool(np.abs(now - before).max() <= settings.still_change)


def _square(view: Tile | None, width: int, height: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of a view: a tile, or the letterboxed frame's square (centred on the frame)."""
    if view is not None:
        return view.x, view.y, view.x + view.side, view.y + view.side
    side = max(width, height)
    left, top = -((side - width) // 2), -((side - height) // 2)
    return left, top, left + side, top + side

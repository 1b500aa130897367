"""Hands followed from frame to frame, as MediaPipe's hand tracking does it and as the browser's worker does it
(`static/pipeline.js`, step for step): a frame's landmarks give the next frame's region of interest
(`HandLandmarker.around_hand`), so the palm detector, most of a frame's time, runs only to find hands.

On each frame:
- the palm detector runs when no hand is tracked, or when fewer than `max_hands` are and the last detection is
  `redetect_ms` old; it looks in one view of the frame (the letterboxed frame, then each square tile in turn,
  moving on while no new hand is found there, as `GesturePipeline.hands` looks in the tiles when the letterboxed
  frame has no hand), and each palm it finds adds its region (`HandLandmarker.around_palm`);
- the landmark model runs in every region; a hand below `min_presence` is lost, and one found twice (a new palm
  on a tracked hand) is kept once (`GesturePipeline.landmarks`);
- the hands left, at most `max_hands`, are classified and decided as on a single image, and their landmarks
  give the regions tracked on the next frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from runtime.hand_landmarks import RegionOfInterest
from runtime.palm_decode import PalmDetection
from runtime.pipeline import GesturePipeline, Prediction, square_tiles


@dataclass(frozen=True)
class TrackedFrame:
    """One frame's decision, whether the palm detector ran on it, and the regions the landmark model looked in
    (tracked ones first)."""

    prediction: Prediction
    detected: bool
    regions: list[RegionOfInterest]


class HandTracker:
    """`GesturePipeline`'s steps over a stream of frames of one size; `time_ms` is the frame's timestamp."""

    def __init__(self, pipeline: GesturePipeline) -> None:
        self.pipeline = pipeline
        self.reset()

    def reset(self) -> None:
        """Track nothing and search from the letterboxed frame (a new camera, frames after a pause)."""
        self.frame_size: tuple[int, int] | None = None
        self.view_index = 0
        self.forget()

    def forget(self) -> None:
        self.regions: list[RegionOfInterest] = []
        self.detected_at = -math.inf

    def __call__(self, image: np.ndarray, time_ms: float) -> TrackedFrame:
        if image.shape[:2] != self.frame_size:
            self.frame_size = image.shape[:2]
            self.view_index = 0
            self.forget()
        settings = self.pipeline.settings
        detected = not self.regions or (len(self.regions) < settings.max_hands
                                        and time_ms - self.detected_at >= settings.redetect_ms)
        tracked = len(self.regions)
        regions, scores = list(self.regions), [1.0] * tracked
        if detected:
            palms = self._detect_in_view(image)
            self.detected_at = time_ms
            regions += [self.pipeline.landmarker.around_palm(palm) for palm in palms]
            scores += [palm.score for palm in palms]
        found = self.pipeline.landmarks(image, regions)
        if detected and not any(hand is not None for hand in found[tracked:]):
            self.view_index += 1  # no new hand in this view: the next detection looks in the next one
        kept = [(hand, score) for hand, score in zip(found, scores, strict=True) if hand is not None]
        kept = kept[:settings.max_hands]
        hands = self.pipeline.classify(image, [hand for hand, _ in kept], [score for _, score in kept])
        self.regions = [self.pipeline.landmarker.around_hand(hand.landmarks.points) for hand in hands]
        return TrackedFrame(self.pipeline.decide(hands), detected, regions)

    def _detect_in_view(self, image: np.ndarray) -> list[PalmDetection]:
        """Palms in the current view, in frame pixels, at most `max_hands`."""
        views = [(np.zeros(2, dtype=np.float32), image), *square_tiles(image)]
        offset, view = views[self.view_index % len(views)]
        return [PalmDetection(p.box + np.tile(offset, 2), p.keypoints + offset, p.score)
                for p in self.pipeline.detect_in_view(view)][:self.pipeline.max_hands]

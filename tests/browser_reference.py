"""What the browser tests compare the widget with: the Python pipeline's decision in each view of a photo as the fake
camera delivers it (`PythonReference`, which also picks photos that any view labels alike), and the origin a
request went to."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from runtime.hand_landmarks import HandLandmarks, RegionOfInterest
from runtime.paths import classifier_model, landmark_model, palm_model
from runtime.pipeline import GesturePipeline, Hand, Prediction, tile_levels
from runtime.settings import ReactionSettings
from tests.camera_clips import camera_view

CANDIDATE_BATCH = 8
"""Photos Python decides at a time while looking for ones it recognises."""


@dataclass(frozen=True)
class ViewResult:
    """The Python pipeline's decision on one view of a frame: the regions around its palms (best first), the hand
    boxes, label and score."""

    view: str
    regions: list[RegionOfInterest]
    boxes: list[tuple[int, int, int, int]]
    label: str
    score: float


def python_per_view(pipeline: GesturePipeline, frame: np.ndarray) -> list[ViewResult]:
    """The Python pipeline's decision for each view the browser may look at: the letterboxed frame, then each
    square tile (runtime/pipeline.py's own steps, one view at a time)."""
    tiles = [tile for level in tile_levels(*frame.shape[1::-1]) for tile in level]
    results = []
    for tile in [None, *tiles]:
        name = "letterbox" if tile is None else f"tile at {[tile.x, tile.y]}"
        palms = (pipeline.detect_in_view(frame) if tile is None
                 else [tile.to_frame(palm) for palm in pipeline.detect_in_view(tile.of(frame))])[:pipeline.max_hands]
        prediction = pipeline.decide(pipeline.hands_at(frame, palms))
        results.append(ViewResult(name, [pipeline.landmarker.around_palm(palm) for palm in palms],
                                  [hand.box for hand in prediction.hands], prediction.label, prediction.score))
    return results


class PythonReference:
    """Python's decisions per view on photos as the fake camera delivers them, computed once per photo."""

    def __init__(self, threshold: float) -> None:
        self.pipeline = GesturePipeline(palm_model(), landmark_model(), classifier_model())
        self.threshold = threshold
        self.known: dict[Path, list[ViewResult]] = {}
        self.decided: dict[tuple[Path, str], Prediction] = {}

    def views(self, photos: list[Path]) -> list[list[ViewResult]]:
        new = [photo for photo in photos if photo not in self.known]
        for photo, frame in zip(new, camera_view(new), strict=True):
            self.known[photo] = python_per_view(self.pipeline, frame)
        return [self.known[photo] for photo in photos]

    def decision_in_regions(self, photo: Path, frame: np.ndarray, regions: list[dict], still: list[dict]) -> Prediction:
        """Python's landmark model, classifier and decision in exactly these regions of the photo's frame, after the
        hands the browser kept as they were from earlier frames (`still`: its hands, which it decides over too)."""
        key = (photo, repr(regions), repr(still))
        if key not in self.decided:
            kept_before = [Hand(tuple(hand["box"]), 1.0, hand["probabilities"],
                                HandLandmarks(np.asarray(hand["landmarks"]), hand["presence"], 0.0,
                                              RegionOfInterest(**hand["region"]))) for hand in still]
            found = self.pipeline.landmarks(frame, [RegionOfInterest(**region) for region in regions],
                                            [hand.landmarks for hand in kept_before])
            kept = [hand for hand in found if hand is not None][:self.pipeline.max_hands - len(still)]
            self.decided[key] = self.pipeline.decide(kept_before
                                                     + self.pipeline.classify(frame, kept, [1.0] * len(kept)))
        return self.decided[key]

    def first_recognised(self, candidates: list[Path], label: str, count: int) -> list[Path]:
        """The first `count` of `candidates` that Python labels `label` in every view that has a hand (a gesture at
        or above the widget's threshold; at least one view has it), so that the browser must too, whichever view
        it finds the hand in."""

        def recognised(views: list[ViewResult]) -> bool:
            if label == "none":
                return all(v.label == "none" for v in views)
            return any(v.boxes for v in views) and all(v.label == label and v.score >= self.threshold
                                                       for v in views if v.boxes)

        chosen: list[Path] = []
        for start in range(0, len(candidates), CANDIDATE_BATCH):
            batch = candidates[start:start + CANDIDATE_BATCH]
            chosen += [photo for photo, views in zip(batch, self.views(batch), strict=True) if recognised(views)]
            if len(chosen) >= count:
                return chosen[:count]
        raise AssertionError(f"only {len(chosen)} test photos that the Python pipeline labels {label} in every view")


def clearly_shown(reactions: ReactionSettings) -> float:
    """A gesture score at which hold-to-confirm gathers evidence at half speed or more: a photo read at least this
    well in every view fires within twice the hold once its hand is found."""
    return (1 + reactions.threshold) / 2


def request_origin(url: str) -> str:
    """scheme://host:port of a URL; a blob: URL belongs to the origin that made it."""
    parts = urlsplit(url.removeprefix("blob:"))
    return f"{parts.scheme}://{parts.netloc}"

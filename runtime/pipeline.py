"""The whole recognition pipeline on one image, with the browser worker's steps, numbers and decisions
(`static/widget/pipeline.js`), so that what we measure here is what a participant gets: palm detector -> hand
landmarks -> square around each hand's landmarks -> crop classifier -> the most confident gesture, else `none`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from runtime.classifier import OnnxClassifier
from runtime.hand_box import landmark_box
from runtime.hand_landmarks import HandLandmarker, HandLandmarks, RegionOfInterest
from runtime.images import resize_square
from runtime.onnx_models import onnx_session
from runtime.palm_decode import (
    MIN_SUPPRESSION_THRESHOLD,
    PalmDetection,
    decode_detections,
    iou,
    letterbox,
    ssd_anchors,
    to_image_pixels,
)
from runtime.settings import PipelineSettings


class Classifier(Protocol):
    """What the pipeline needs of a crop classifier: `OnnxClassifier`, or a PyTorch model behind the same face
    (`training.inference.TorchClassifier`)."""

    labels: tuple[str, ...]
    input_size: int
    settings: PipelineSettings
    default_gestures: tuple[str, ...]

    def probabilities(self, images: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Hand:
    """One hand: the classifier's box around its landmarks, its probabilities, the landmarks themselves (with the
    presence score and the region they were found in), and the score of the palm that led to it (1.0 for a hand
    tracked from an earlier frame)."""

    box: tuple[int, int, int, int]
    palm_score: float
    probabilities: dict[str, float]
    landmarks: HandLandmarks

    @property
    def label(self) -> str:
        return max(self.probabilities, key=self.probabilities.get)


@dataclass(frozen=True)
class Prediction:
    """The image's gesture (`none` when there is no confident one), its probability, the box of the hand
    that showed it (None for `none`), and every hand seen."""

    label: str
    score: float
    box: tuple[int, int, int, int] | None = None
    hands: list[Hand] = field(default_factory=list)


class PalmFinder:
    """The palm detector with the pipeline's search over views: what finds hands, without the classifier."""

    def __init__(self, palm_model: Path, min_palm_score: float, max_hands: int, threads: int = 0) -> None:
        self.palm = onnx_session(Path(palm_model), "palm detector", threads=threads)
        self.palm_input = self.palm.get_inputs()[0].name
        self.anchors = ssd_anchors()
        self.min_palm_score, self.max_hands = min_palm_score, max_hands

    def palms(self, image: np.ndarray) -> list[PalmDetection]:
        """Palms in `image` pixels, best first, at most `max_hands`: in the letterboxed frame, else in the first level
        of `tile_levels` that has any (squeezed into 192 pixels, a hand across the room is too small to find)."""
        found = self.detect_in_view(image)[:self.max_hands]
        for level in tile_levels(*image.shape[1::-1]):
            if found:
                break
            found = self.palms_in_tiles(image, level)
        return found

    def palms_in_tiles(self, image: np.ndarray, tiles: list[Tile]) -> list[PalmDetection]:
        """Palms in the squares `tiles` of the frame, in `image` pixels, best first, at most `max_hands` (a palm seen
        in two overlapping squares counts once)."""
        palms = []
        for tile in tiles:
            palms += [tile.to_frame(palm) for palm in self.detect_in_view(tile.of(image))]
        return _suppress_overlaps(sorted(palms, key=lambda p: -p.score))[:self.max_hands]

    def detect_in_view(self, image: np.ndarray) -> list[PalmDetection]:
        """Palms in one view (the frame or one tile), letterboxed to the detector's input: what the browser runs
        on one frame."""
        tensor, placed = letterbox(image)
        regressors, scores = self.palm.run(None, {self.palm_input: tensor})
        return [to_image_pixels(palm, placed)
                for palm in decode_detections(regressors[0], scores[0], self.anchors, self.min_palm_score)]


class GesturePipeline(PalmFinder):
    """Palm detector + hand landmarks + hand box + crop classifier, on uint8 RGB images [H, W, 3]; `settings`
    default to the classifier's own and may be replaced later (`export.tune_pipeline` tries others); `gestures`,
    the host's choice (the widget's option), are the only ones a frame is decided among (default: the classifier's
    `default_gestures`)."""

    def __init__(self, palm_model: Path, landmark_model: Path, classifier: Path | Classifier,
                 settings: PipelineSettings | None = None, threads: int = 0,
                 gestures: Sequence[str] | None = None) -> None:
        self.classifier = OnnxClassifier(Path(classifier), threads=threads) if isinstance(classifier, str | Path) \
            else classifier
        chosen = settings or self.classifier.settings
        super().__init__(palm_model, chosen.min_palm_score, chosen.max_hands, threads)
        self.landmarker = HandLandmarker(landmark_model, threads=threads)
        self.settings = chosen
        self.gestures = chosen_gestures(tuple(self.classifier.labels),
                                        self.classifier.default_gestures if gestures is None else gestures)

    @property
    def settings(self) -> PipelineSettings:
        return self._settings

    @settings.setter
    def settings(self, settings: PipelineSettings) -> None:
        self._settings = settings
        self.min_palm_score, self.max_hands = settings.min_palm_score, settings.max_hands

    def landmarks(self, image: np.ndarray, regions: list[RegionOfInterest],
                  known: list[HandLandmarks] = ()) -> list[HandLandmarks | None]:
        """The landmark model in each region, in order. None where it finds no hand (presence below
        `min_presence`) or a hand already found, in an earlier region or among `known` (their landmarks' extents
        overlap by IoU > 0.5: two palms, or a tracked hand and a new palm, on one hand)."""
        picture = Image.fromarray(image)
        found: list[HandLandmarks | None] = []
        for region in regions:
            hand = self.landmarker(picture, region)
            kept = [*known, *(other for other in found if other is not None)]
            found.append(hand if hand.presence >= self.settings.min_presence and not _same_hand_as_any(hand, kept)
                         else None)
        return found

    def classify(self, image: np.ndarray, hands: list[HandLandmarks], palm_scores: list[float]) -> list[Hand]:
        """The classifier's probabilities for the square around each hand's landmarks (`hand_box_margin`)."""
        if not hands:
            return []
        height, width = image.shape[:2]
        boxes = [landmark_box(hand.points, width, height, self.settings.hand_box_margin) for hand in hands]
        picture = Image.fromarray(image)
        crops = np.stack([resize_square(picture.crop(box), self.classifier.input_size) for box in boxes])
        probabilities = self.classifier.probabilities(crops)
        return [Hand(box, score, dict(zip(self.classifier.labels, map(float, p), strict=True)), hand)
                for box, score, hand, p in zip(boxes, palm_scores, hands, probabilities, strict=True)]

    def hands_at(self, image: np.ndarray, palms: list[PalmDetection]) -> list[Hand]:
        """The hands around `palms`: landmarks in each palm's region, then the classifier on their boxes."""
        found = self.landmarks(image, [self.landmarker.around_palm(palm) for palm in palms])
        kept = [(hand, palm.score) for hand, palm in zip(found, palms, strict=True) if hand is not None]
        return self.classify(image, [hand for hand, _ in kept], [score for _, score in kept])

    def hands(self, image: np.ndarray) -> list[Hand]:
        """Every hand found (at most `max_hands`, best palms first), with the classifier's probabilities: in the
        letterboxed frame, and when no palm there is a hand (none, or only palm-like things the landmark model
        finds no hand in), in the squares of each level of `tile_levels` in turn, until one has a hand."""
        found = self.hands_at(image, self.detect_in_view(image)[:self.max_hands])
        for level in tile_levels(*image.shape[1::-1]):
            if found:
                break
            found = self.hands_at(image, self.palms_in_tiles(image, level))
        return found

    def decide(self, hands: list[Hand]) -> Prediction:
        """The most confident chosen gesture over all hands, if any reaches `min_gesture_score`; else `none`."""
        labels = self.classifier.labels
        rows = np.asarray([[hand.probabilities[label] for label in labels] for hand in hands]).reshape(-1, len(labels))
        best_label, best_score, best_box = "none", 0.0, None
        for hand, row, index in zip(hands, rows, gesture_decisions(rows, labels, self.settings.min_gesture_score,
                                                                   self.gestures), strict=True):
            if labels[index] != "none" and row[index] > best_score:
                best_label, best_score, best_box = labels[index], float(row[index]), hand.box
        if best_label == "none":  # how sure we are that no chosen gesture is shown
            gestures = [labels.index(label) for label in self.gestures]
            best_score = 1.0 - float(rows[:, gestures].max(initial=0.0))
        return Prediction(best_label, best_score, best_box, hands)

    def __call__(self, image: np.ndarray) -> Prediction:
        return self.decide(self.hands(image))


def chosen_gestures(labels: tuple[str, ...], gestures: Sequence[str] | None) -> tuple[str, ...]:
    """The gestures of `labels` a host chose, in the classifier's order (None: every one); a name the classifier
    lacks is refused, as the widget's `gestures` option refuses it."""
    every = tuple(label for label in labels if label != "none")
    if gestures is None:
        return every
    if unknown := [gesture for gesture in gestures if gesture not in every]:
        raise ValueError(f"gestures {unknown}: the classifier has no such gesture (it has: {', '.join(every)})")
    return tuple(label for label in every if label in gestures)


def gesture_decisions(probabilities: np.ndarray, labels: tuple[str, ...], min_gesture_score: float,
                      gestures: Sequence[str] | None = None) -> np.ndarray:
    """For each row of [N, labels] probabilities, one hand's answer: its most probable gesture of `gestures`
    (default: every one) at `min_gesture_score` or above, else `none` (the label index). `GesturePipeline.decide`
    takes the most confident of a frame's hands; crop evaluations use it to judge crops as the browser would."""
    none = labels.index("none")
    chosen = chosen_gestures(labels, gestures)
    scores = probabilities.copy()
    scores[:, [i for i, label in enumerate(labels) if label not in chosen]] = -1.0
    return np.where(scores.max(1) >= min_gesture_score, scores.argmax(1), none)


@dataclass(frozen=True)
class Tile:
    """A square of the frame the palm detector looks in by itself: left, top and side in frame pixels."""

    x: int
    y: int
    side: int

    def of(self, image: np.ndarray) -> np.ndarray:
        return image[self.y:self.y + self.side, self.x:self.x + self.side]

    def to_frame(self, palm: PalmDetection) -> PalmDetection:
        """A palm found in this tile, in frame pixels."""
        offset = np.asarray([self.x, self.y], dtype=np.float32)
        return PalmDetection(palm.box + np.tile(offset, 2), palm.keypoints + offset, palm.score)


def tile_levels(width: int, height: int) -> list[list[Tile]]:
    """The squares the detector looks in when the letterboxed frame has no hand, coarse to fine: the short side's
    squares along the long side (none for a square frame), then half-side squares overlapping by about half, where
    a hand across the room is large enough for the detector's 192 pixels."""
    short = min(width, height)
    along = [Tile(x, y, short) for x in _starts(width, short) for y in _starts(height, short)]
    half = short // 2
    fine = [Tile(x, y, half) for y in _starts(height, half) for x in _starts(width, half)] if half else []
    return [along if len(along) > 1 else [], fine]


def _starts(length: int, side: int) -> list[int]:
    """Evenly spaced starts of squares of `side` covering `length`, neighbours overlapping: one more square than
    it takes to cover it (one square when it fits exactly)."""
    if length <= side:
        return [0]
    count = -(-length // side) + 1
    return [round(i * (length - side) / (count - 1)) for i in range(count)]


SAME_HAND_IOU = 0.5
"""Two landmark boxes overlapping by more than this are one hand (MediaPipe's hand tracking associates a new palm
with a tracked hand at a similarity of 0.5, AssociationNormRectCalculator)."""


def _same_hand_as_any(hand: HandLandmarks, others: list[HandLandmarks]) -> bool:
    if not others:
        return False
    box = _extent(hand.points)
    return bool(iou(box, np.stack([_extent(other.points) for other in others])).max() > SAME_HAND_IOU)


def _extent(points: np.ndarray) -> np.ndarray:
    return np.concatenate([points[:, :2].min(axis=0), points[:, :2].max(axis=0)])


def _suppress_overlaps(palms: list[PalmDetection]) -> list[PalmDetection]:
    """The same palm seen in two overlapping tiles counts once: keep the best of boxes overlapping by IoU > 0.3."""
    kept: list[PalmDetection] = []
    for palm in palms:
        if not kept or iou(palm.box, np.stack([k.box for k in kept])).max() <= MIN_SUPPRESSION_THRESHOLD:
            kept.append(palm)
    return kept

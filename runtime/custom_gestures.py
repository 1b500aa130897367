"""Gestures a participant teaches by showing them: each hand's 21 landmarks as an embedding, and a taught gesture
recognised by its nearest example in the pose encoder's space, on hands the classifier reads as none of its own
gestures.
`static/widget/custom-gestures.js` step for step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from runtime.hand_landmarks import EMBEDDING_SIZE, INDEX_BASE, MIDDLE_BASE, NUM_LANDMARKS, RING_BASE, WRIST_LANDMARK
from runtime.pipeline import Hand, Prediction
from runtime.pose_encoder import PoseEncoder
from runtime.settings import CustomGestureSettings


def hand_embedding(points: np.ndarray, settings: CustomGestureSettings) -> np.ndarray:
    """[21, 3] landmarks in pixels -> [65] float32: the landmarks relative to the wrist, in units of the hand's extent
    (its box's long side) and turned so that the hand points along x, then the direction it points (cos, sin) times
    `direction_weight`: place, size and a tilt are forgotten, which way the hand points is kept (👍 is not 👎)."""
    points = np.asarray(points, dtype=np.float64)
    relative = (points - points[WRIST_LANDMARK]) / max(float(np.ptp(points[:, :2], axis=0).max()), 1e-6)
    axis = ((relative[INDEX_BASE, :2] + relative[RING_BASE, :2]) / 2 + relative[MIDDLE_BASE, :2]) / 2
    angle = math.atan2(axis[1], axis[0])
    cos, sin = math.cos(angle), math.sin(angle)
    x, y = relative[:, 0], relative[:, 1]
    upright = np.stack([cos * x + sin * y, -sin * x + cos * y, relative[:, 2]], axis=1)
    weight = settings.direction_weight
    return np.concatenate([upright.ravel(), [weight * cos, weight * sin]]).astype(np.float32)


def mirrored(embeddings: np.ndarray) -> np.ndarray:
    """The embeddings of the same hands seen in a mirror: a gesture taught with the right hand is the left hand's
    too (upright, the mirror flips the side of the hand's axis; the direction's x changes sign)."""
    flipped = np.asarray(embeddings, dtype=np.float32).reshape(-1, EMBEDDING_SIZE).copy()
    flipped[:, 1:NUM_LANDMARKS * 3:3] *= -1
    flipped[:, -2] *= -1
    return flipped


@dataclass(frozen=True)
class CustomGesture:
    """A taught gesture: its name, emoji and examples [K, 65] (embeddings of the hand it was taught with)."""

    name: str
    emoji: str
    examples: np.ndarray

    @classmethod
    def from_json(cls, value: Mapping) -> CustomGesture:
        """One gesture of the widget's `exportGestures()` JSON: {name, emoji, examples}."""
        examples = np.asarray(value["examples"], dtype=np.float32)
        if examples.ndim != 2 or examples.shape[1] != EMBEDDING_SIZE or not len(examples):
            raise ValueError(f"gesture {value.get('name')!r}: examples must be lists of {EMBEDDING_SIZE} numbers")
        return cls(str(value["name"]), str(value["emoji"]), examples)


def reads_as_builtin(hand: Hand, gestures: Sequence[str], min_gesture_score: float) -> bool:
    """Whether the classifier reads the hand as one of its own `gestures`: such a hand is never a taught one."""
    return any(hand.probabilities[gesture] >= min_gesture_score for gesture in gestures)


def decide_with_custom(prediction: Prediction, taught: Sequence[CustomGesture], builtin: Sequence[str],
                       min_gesture_score: float, settings: CustomGestureSettings, encoder: PoseEncoder) -> Prediction:
    """The frame's decision with taught gestures: a built-in gesture stays as it was decided; else the most
    confident taught gesture over the hands the classifier reads as none of `builtin`, if it reaches
    `min_gesture_score`; else `none`, no surer than the best taught gesture allows."""
    if prediction.label != "none" or not taught:
        return prediction
    best, score, box = "none", 0.0, None
    for hand in prediction.hands:
        if reads_as_builtin(hand, builtin, min_gesture_score):
            continue
        query = encoder(hand_embedding(hand.landmarks.points, settings)[None])  # once, for every gesture
        for gesture in taught:
            confidence = confidence_at(float(nearest_encoded_distances(query, gesture.examples, encoder)[0]), settings)
            if confidence > score:
                best, score, box = gesture.name, confidence, hand.box
    if score >= min_gesture_score:
        return Prediction(best, score, box, prediction.hands)
    return Prediction("none", min(prediction.score, 1.0 - score), None, prediction.hands)


class TeachingError(ValueError):
    """A gesture was not learned: `code` says why ('no-hand', 'unsteady', 'built-in', 'too-close', 'name-taken'),
    the message in words."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def teaching_hand(hands: Sequence[Hand]) -> Hand | None:
    """The hand a frame teaches with: the highest in the frame (its wrist nearest the top), the one raised to show."""
    return min(hands, key=lambda hand: float(hand.landmarks.points[WRIST_LANDMARK, 1]), default=None)


def learn_gesture(name: str, emoji: str, frames: Sequence[Sequence[Hand]], builtin: Sequence[str],
                  names: Mapping[str, str], taught: Sequence[CustomGesture], min_gesture_score: float,
                  settings: CustomGestureSettings, encoder: PoseEncoder) -> CustomGesture:
    """A gesture from the hands of the frames seen while it was shown; TeachingError when no hand was shown, the
    pose changed, the classifier reads it as one of its own gestures (`builtin`, in words `names`), it would be
    read as an earlier taught gesture, or the name is taken."""
    if name in builtin or any(gesture.name == name for gesture in taught):
        raise TeachingError("name-taken", f'There is already a gesture called "{name}": choose another name.')
    shown = [hand for hand in map(teaching_hand, frames) if hand is not None]
    if not frames or len(shown) < settings.min_hand_share * len(frames):
        raise TeachingError("no-hand", f"No hand was seen in {len(frames) - len(shown)} of {len(frames)} frames: "
                                       "show the gesture to the camera for the whole time.")
    readings = [max(builtin, key=hand.probabilities.get) for hand in shown
                if reads_as_builtin(hand, builtin, min_gesture_score)]
    if len(readings) > settings.max_builtin_share * len(shown):
        known = max(builtin, key=readings.count)
        raise TeachingError("built-in", f"This looks like {names.get(known, known)}, which is already a gesture: "
                                        "teach a pose that differs from it.")
    embeddings = np.stack([hand_embedding(hand.landmarks.points, settings) for hand in shown
                           if not reads_as_builtin(hand, builtin, min_gesture_score)])
    encoded = encoder(embeddings)
    pairwise = np.sqrt(((encoded[:, None] - encoded[None]) ** 2).sum(axis=2))
    spread = float(np.median(pairwise[pairwise.sum(axis=1).argmin()]))
    if spread > settings.max_spread:
        raise TeachingError("unsteady", f"The pose changed while it was shown (spread {spread:.2f}, at most "
                                        f"{settings.max_spread:g}): hold one pose still.")
    gesture = CustomGesture(name, emoji, embeddings[evenly_spaced(len(embeddings), int(settings.max_examples))])
    for other in taught:
        distance = float(np.median(nearest_example_distances(gesture.examples, other.examples, encoder)))
        if distance < settings.min_separation:
            raise TeachingError("too-close", f'This is too close to "{other.name}" (distance {distance:.2f}, at '
                                             f"least {settings.min_separation:g}): teach a pose that differs.")
    return gesture


def evenly_spaced(count: int, at_most: int) -> list[int]:
    """At most `at_most` indices of `count`, evenly spaced from the first (floored, as the browser's twin)."""
    kept = min(count, at_most)
    return [0] if kept <= 1 else [i * (count - 1) // (kept - 1) for i in range(kept)]


def nearest_example_distances(queries: np.ndarray, examples: np.ndarray, encoder: PoseEncoder) -> np.ndarray:
    """[N, 65] queries, [K, 65] examples -> [N] distance of each encoded query to the nearest encoded example or
    example's mirror image."""
    if not len(queries):
        return np.zeros(0, dtype=np.float32)
    return nearest_encoded_distances(encoder(queries), examples, encoder)


def nearest_encoded_distances(encoded: np.ndarray, examples: np.ndarray, encoder: PoseEncoder) -> np.ndarray:
    """[N, outputs] queries already through the encoder, [K, 65] examples -> [N] distance of each to the nearest
    encoded example or example's mirror image."""
    both = encoder(np.concatenate([examples, mirrored(examples)]))
    return np.sqrt(((encoded[:, None] - both[None]) ** 2).sum(axis=2)).min(axis=1)


def confidence_at(distance: float, settings: CustomGestureSettings) -> float:
    """The confidence of a hand at `distance` from a taught gesture's nearest example."""
    return 1.0 / (1.0 + (distance / settings.match_distance) ** 2) if math.isfinite(distance) else 0.0

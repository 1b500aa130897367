"""Several crop classifiers as one, their probabilities averaged with fixed weights (the plan's ensemble), behind
the pipeline's classifier face: each hand is cut once at the largest member's input size, and the settings are
the first member's (put the shipped classifier first). Members are compared on the labels they share: a member's
other gestures count as its `none` (the shipped classifier's added gestures, beside a four-label research model).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from runtime.pipeline import Classifier


class EnsembleClassifier:
    """`members`' probabilities averaged with `weights` (non-negative, summing to 1)."""

    def __init__(self, members: Sequence[Classifier], weights: Sequence[float]) -> None:
        if not members or len(members) != len(weights):
            raise ValueError(f"an ensemble needs one weight per member: {len(members)} members, {len(weights)} weights")
        if min(weights) < 0 or not math.isclose(sum(weights), 1.0, abs_tol=1e-6):
            raise ValueError(f"ensemble weights must be non-negative and sum to 1, got {list(weights)}")
        labels = tuple(label for label in members[0].labels if all(label in m.labels for m in members))
        if labels[-1:] != ("none",) or any(tuple(label for label in m.labels if label in labels) != labels
                                           for m in members):
            raise ValueError(f"ensemble members disagree on the labels: {[list(m.labels) for m in members]}")
        self.members, self.weights = list(members), np.asarray(weights, dtype=np.float32)
        self.folds = [np.asarray([[label == shared or (label not in labels and shared == "none") for shared in labels]
                                  for label in member.labels], dtype=np.float32) for member in members]
        self.labels, self.settings = labels, members[0].settings
        self.default_gestures = tuple(g for g in members[0].default_gestures if g in labels)
        self.input_size = max(member.input_size for member in members)

    def member_probabilities(self, images: np.ndarray) -> list[np.ndarray]:
        """Each member's [N, labels] probabilities for uint8 [N, H, W, 3] crops, on the labels the members share."""
        return [member.probabilities(images) @ fold for member, fold in zip(self.members, self.folds, strict=True)]

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        return combine(self.member_probabilities(images), self.weights)


def combine(probabilities: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """The weighted average of the members' [N, labels] probabilities."""
    return np.tensordot(np.asarray(weights, dtype=np.float32), np.stack(probabilities), axes=1)

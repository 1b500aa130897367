"""Several crop classifiers as one, their probabilities averaged with fixed weights (the plan's ensemble), behind
the pipeline's classifier face: each hand is cut once at the largest member's input size, and the settings are
the first member's (put the shipped classifier first).
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
        labels = tuple(members[0].labels)
        if any(tuple(member.labels) != labels for member in members):
            raise ValueError(f"ensemble members disagree on the labels: {[list(m.labels) for m in members]}")
        self.members, self.weights = list(members), np.asarray(weights, dtype=np.float32)
        self.labels, self.settings, self.default_gestures = labels, members[0].settings, members[0].default_gestures
        self.input_size = max(member.input_size for member in members)

    def member_probabilities(self, images: np.ndarray) -> list[np.ndarray]:
        """Each member's [N, labels] probabilities for uint8 [N, H, W, 3] crops."""
        return [member.probabilities(images) for member in self.members]

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        return combine(self.member_probabilities(images), self.weights)


def combine(probabilities: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """The weighted average of the members' [N, labels] probabilities."""
    return np.tensordot(np.asarray(weights, dtype=np.float32), np.stack(probabilities), axes=1)

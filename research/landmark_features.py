"""The hand's 21 landmarks as classifier features (relative to the wrist, in units of the hand's extent: orientation
kept, as 👍 and 👎 differ by nothing else); every training crop's landmarks come from `training.crop_landmarks`.
"""

from __future__ import annotations

import numpy as np

from runtime.hand_landmarks import NUM_LANDMARKS

FEATURES = NUM_LANDMARKS * 3
"""Length of a feature vector: x, y, z of each landmark."""


def features(points: np.ndarray) -> np.ndarray:
    """[21, 3] landmarks (pixels) -> [63] float32: relative to the wrist, in units of the hand's extent."""
    relative = points - points[0]
    extent = np.ptp(points[:, :2], axis=0).max()
    return (relative / max(float(extent), 1e-6)).astype(np.float32).ravel()


def mirrored(feature_rows: np.ndarray) -> np.ndarray:
    """The same hands seen in a mirror (x negated): a left hand's 👍 is still 👍."""
    flipped = feature_rows.reshape(-1, NUM_LANDMARKS, 3).copy()
    flipped[..., 0] *= -1
    return flipped.reshape(len(feature_rows), FEATURES)

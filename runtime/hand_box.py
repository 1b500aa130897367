"""The axis-aligned box around a hand that the classifier sees, never rotated: orientation tells 👍 from 👎.
`landmark_box` is the pipeline's; `hand_box`, around a palm, is the design's before landmarks, kept for
`training.train --pipeline-box palm`.
"""

from __future__ import annotations

import numpy as np

from runtime.palm_decode import PalmDetection

WRIST, MIDDLE_FINGER = 0, 2
"""Palm keypoints that give the hand's direction."""


def landmark_box(points: np.ndarray, width: int, height: int, margin: float) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) pixels of the square around landmarks [K, 2+] (their extent's long side, plus
    `margin` of it on each side), clipped to a `width` x `height` image: the whole hand, thumb included."""
    (xmin, ymin), (xmax, ymax) = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    half = max(xmax - xmin, ymax - ymin) * (0.5 + margin)
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    left, top = max(0, round(cx - half)), max(0, round(cy - half))
    right, bottom = min(width, round(cx + half)), min(height, round(cy + half))
    return left, top, max(right, left + 1), max(bottom, top + 1)


def hand_box(palm: PalmDetection, width: int, height: int, scale: float, shift: float) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) pixels of the hand around `palm` in a `width` x `height` image, clipped to it."""
    xmin, ymin, xmax, ymax = (float(v) for v in palm.box)
    side = max(xmax - xmin, ymax - ymin)
    direction = palm.keypoints[MIDDLE_FINGER] - palm.keypoints[WRIST]
    length = float(np.hypot(*direction))
    direction = direction / length if length > 0 else np.zeros(2)
    cx, cy = (xmin + xmax) / 2 + shift * side * direction[0], (ymin + ymax) / 2 + shift * side * direction[1]
    half = scale * side / 2
    left, top = max(0, round(cx - half)), max(0, round(cy - half))
    right, bottom = min(width, round(cx + half)), min(height, round(cy + half))
    return left, top, max(right, left + 1), max(bottom, top + 1)

"""Hand crops washed out by an over-exposed webcam, toned down by a gamma before the classifier reads them
(trained on evenly lit photos, it reads washed-out `none` hands as gestures). The luma is summed in integer
thousandths so that Python and `exposeBrightCrop` (static/widget/resample.js) pick the same crops.
"""

from __future__ import annotations

import math

import numpy as np

LUMA_WEIGHTS = (299, 587, 114)
"""ITU-R BT.601 luma in thousandths (Pillow's "L" conversion): luma * 1000 = 299 R + 587 G + 114 B."""


def gamma_table(mean_luma: float, target: float) -> np.ndarray:
    """uint8 [256]: v -> 255 (v / 255) ** g, rounded, with g taking `mean_luma` to `target`."""
    gamma = math.log(target / 255) / math.log(mean_luma / 255)
    return np.array([math.floor(255 * (v / 255) ** gamma + 0.5) for v in range(256)], dtype=np.uint8)


def expose_bright_crop(crop: np.ndarray, above: float, target: float) -> np.ndarray:
    """uint8 [H, W, 3] crop, toned down when its mean luma is above `above`; otherwise (or when every pixel is
    white, with nothing left to bring back) the crop itself."""
    pixels = crop.shape[0] * crop.shape[1]
    luma_sum = int((crop.reshape(-1, 3).astype(np.int64) @ np.array(LUMA_WEIGHTS, dtype=np.int64)).sum())
    if luma_sum <= above * 1000 * pixels or luma_sum >= 255 * 1000 * pixels:
        return crop
    return gamma_table(luma_sum / (1000 * pixels), target)[crop]

"""Images in and out of the pipeline: files to uint8 RGB arrays, and crops resized as the browser resizes them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def read_rgb(path: Path) -> np.ndarray:
    """uint8 [H, W, 3] RGB pixels of an image file; Pillow's OSError (or UnidentifiedImageError) when unreadable."""
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def resize_square(image: Image.Image | np.ndarray, size: int) -> np.ndarray:
    """uint8 [size, size, 3]: Pillow's bilinear resize, which `static/widget/resample.js` reproduces to the pixel."""
    picture = image if isinstance(image, Image.Image) else Image.fromarray(image)
    if picture.size != (size, size):
        picture = picture.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(picture)

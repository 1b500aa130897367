"""What a call's webcam does to a hand, as named, seeded perturbations of uint8 RGB images (numpy and Pillow only),
sized by the hand's side so that one name means the same on a crop and a frame. Caveat: `skin-darker` only asks
whether the classifier keys on light skin's brightness; it cannot say the model is fair to darker skin.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

HAND_SHARE_OF_FRAME = 0.16
"""A frame's hand side over its short side: the shared crops' median hand is 67 x 99 px in 512 px frames."""

SKIN_CR, SKIN_CB = (133, 173), (77, 127)
"""A widely used YCrCb skin range (Chai and Ngan, 1999): pixels inside it are recoloured by `skin-darker`."""

Apply = Callable[[np.ndarray, float, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class Perturbation:
    """A named condition: `apply(image, hand_side, rng)` returns a new uint8 [H, W, 3] image."""

    name: str
    description: str
    apply: Apply


def _to_uint8(pixels: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def low_resolution(hand_pixels: int) -> Apply:
    """The image scaled so that the hand is `hand_pixels` across, then back to its size (bilinear both ways)."""
    def apply(image: np.ndarray, hand_side: float, rng: np.random.Generator) -> np.ndarray:
        height, width = image.shape[:2]
        factor = min(1.0, hand_pixels / hand_side)
        small = Image.fromarray(image).resize((max(1, round(width * factor)), max(1, round(height * factor))),
                                              Image.Resampling.BILINEAR)
        return np.asarray(small.resize((width, height), Image.Resampling.BILINEAR))
    return apply


def motion_blur(share_of_hand: float) -> Apply:
    """A straight blur along a random direction, `share_of_hand` of the hand's side long (Pillow's kernels stop
    at 5 x 5, so the line is summed from shifted copies)."""
    def apply(image: np.ndarray, hand_side: float, rng: np.random.Generator) -> np.ndarray:
        length = max(3, round(share_of_hand * hand_side))
        angle = rng.uniform(0, math.pi)
        steps = np.linspace(-(length - 1) / 2, (length - 1) / 2, length)
        offsets = {(round(t * math.sin(angle)), round(t * math.cos(angle))) for t in steps}
        reach = length // 2 + 1
        padded = np.pad(image.astype(np.float32), ((reach, reach), (reach, reach), (0, 0)), mode="edge")
        height, width = image.shape[:2]
        total = sum(padded[reach + dy: reach + dy + height, reach + dx: reach + dx + width] for dy, dx in offsets)
        return _to_uint8(total / len(offsets))
    return apply


def defocus_blur(share_of_hand: float) -> Apply:
    """A Gaussian blur of standard deviation `share_of_hand` of the hand's side: a hand out of the focal plane."""
    def apply(image: np.ndarray, hand_side: float, rng: np.random.Generator) -> np.ndarray:
        radius = share_of_hand * hand_side
        return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(radius)))
    return apply


def jpeg(quality: int) -> Apply:
    """Re-encoded as JPEG at `quality` (Pillow, 4:2:0 chroma), as a congested call's video looks."""
    def apply(image: np.ndarray, hand_side: float, rng: np.random.Generator) -> np.ndarray:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
        with Image.open(buffer) as decoded:
            return np.asarray(decoded.convert("RGB"))
    return apply


def exposure(gain: float, noise: float) -> Apply:
    """Every pixel times `gain` (clipped), plus Gaussian sensor noise of `noise` grey levels per channel."""
    def apply(image: np.ndarray, hand_side: float, rng: np.random.Generator) -> np.ndarray:
        return _to_uint8(image.astype(np.float32) * gain + rng.normal(0.0, noise, image.shape))
    return apply


def white_balance(red: float, blue: float) -> Apply:
    """Red and blue channels times their gains: a camera's white balance set for other light."""
    def apply(image: np.ndarray, hand_side: float, rng: np.random.Generator) -> np.ndarray:
        return _to_uint8(image.astype(np.float32) * np.array([red, 1.0, blue], dtype=np.float32))
    return apply


def grayscale(image: np.ndarray, hand_side: float, rng: np.random.Generator) -> np.ndarray:
    """Luma only (Pillow's ITU-R 601 weights), three equal channels."""
    return np.asarray(Image.fromarray(image).convert("L").convert("RGB"))


def skin_darker(image: np.ndarray, hand_side: float, rng: np.random.Generator) -> np.ndarray:
    """Pixels in the skin range at about half their brightness, slightly warmer; the mask's edge softened. Real skin
    differs in reflectance, highlights and shadows, and the mask also catches skin-coloured walls and faces."""
    ycbcr = np.asarray(Image.fromarray(image).convert("YCbCr"))
    cb, cr = ycbcr[..., 1], ycbcr[..., 2]
    mask = ((cr >= SKIN_CR[0]) & (cr <= SKIN_CR[1]) & (cb >= SKIN_CB[0]) & (cb <= SKIN_CB[1])).astype(np.uint8) * 255
    soft = np.asarray(Image.fromarray(mask).filter(ImageFilter.GaussianBlur(max(1.0, hand_side / 64))))
    weight = (soft.astype(np.float32) / 255)[..., None]
    darker = image.astype(np.float32) * np.array([0.55, 0.45, 0.40], dtype=np.float32)
    return _to_uint8(image * (1 - weight) + darker * weight)


PERTURBATIONS: dict[str, Perturbation] = {p.name: p for p in (
    Perturbation("low-res-16", "hand 16 px across, scaled back up", low_resolution(16)),
    Perturbation("low-res-24", "hand 24 px across, scaled back up", low_resolution(24)),
    Perturbation("low-res-32", "hand 32 px across, scaled back up", low_resolution(32)),
    Perturbation("motion-blur", "motion blur 10% of the hand long, random direction", motion_blur(0.10)),
    Perturbation("defocus-blur", "Gaussian blur, sigma 2.5% of the hand", defocus_blur(0.025)),
    Perturbation("jpeg-10", "JPEG quality 10", jpeg(10)),
    Perturbation("jpeg-20", "JPEG quality 20", jpeg(20)),
    Perturbation("jpeg-30", "JPEG quality 30", jpeg(30)),
    Perturbation("under-exposed", "x0.35 brightness, sensor noise sigma 5", exposure(0.35, 5.0)),
    Perturbation("over-exposed", "x1.8 brightness (clipped), sensor noise sigma 3", exposure(1.8, 3.0)),
    Perturbation("warm", "white balance: red x1.2, blue x0.75", white_balance(1.2, 0.75)),
    Perturbation("cool", "white balance: red x0.8, blue x1.2", white_balance(0.8, 1.2)),
    Perturbation("grayscale", "luma only", grayscale),
    Perturbation("skin-darker", "skin-range pixels about half as bright, warmer (see the module's caveats)",
                 skin_darker),
)}
"""Every condition `training.robustness` and `training.evaluate --perturb` know, by name."""


def perturb(image: np.ndarray, name: str, hand_side: float, seed: int, index: int) -> np.ndarray:
    """`image` under the perturbation `name`; the same (seed, index) always gives the same pixels."""
    if name not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation {name!r}; known: {', '.join(PERTURBATIONS)}")
    return PERTURBATIONS[name].apply(image, hand_side, np.random.default_rng([seed, index]))


def perturb_crops(crops: np.ndarray, name: str, seed: int) -> np.ndarray:
    """Hand crops [N, S, S, 3] each under `name`, the crop taken as the hand; crop i seeded by (seed, i)."""
    return np.stack([perturb(crop, name, crop.shape[0], seed, i) for i, crop in enumerate(crops)])


def frame_hand_side(image: np.ndarray) -> float:
    """The hand's side assumed in a whole frame: `HAND_SHARE_OF_FRAME` of its short side."""
    return HAND_SHARE_OF_FRAME * min(image.shape[:2])

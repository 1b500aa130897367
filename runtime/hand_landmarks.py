"""MediaPipe's hand landmark model on the region of interest around a palm: 21 landmarks in image pixels, and how
sure the model is that a hand is there.

The region of interest is MediaPipe's (mediapipe/modules/hand_landmark/palm_detection_detection_to_roi.pbtxt):
the palm's box made square on its long side, turned so that wrist -> middle finger's base points up, scaled 2.6
and moved half its side towards the fingers. It is cut out of the image rotated, resized to 224 x 224 (RGB in
[0, 1]); the model's landmarks are mapped back through the same rotation. The rotation is for the landmark model
only: the classifier's crop is never rotated (orientation is what tells thumbs up from thumbs down).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from runtime.hand_box import MIDDLE_FINGER, WRIST
from runtime.onnx_models import onnx_session
from runtime.palm_decode import PalmDetection

INPUT_SIZE = 224
"""Side of the landmark model's square input, in pixels."""

PALM_ROI_SCALE = 2.6
PALM_ROI_SHIFT = -0.5
"""RectTransformationCalculator in palm_detection_detection_to_roi.pbtxt: the square's side in palm box sides, and
its shift along the hand's axis in those sides (negative: towards the fingers)."""

MIN_PRESENCE = 0.5
"""hand_landmark_cpu.pbtxt's ThresholdingCalculator: below this presence score there is no hand in the region."""


@dataclass(frozen=True)
class RegionOfInterest:
    """A square of the image, `side` pixels, centred on (x, y) and turned by `rotation` radians (clockwise on
    screen, as MediaPipe's NormalizedRect): the landmark model's view of one hand."""

    x: float
    y: float
    side: float
    rotation: float

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """[K, 2] points in the model's 224 x 224 input -> image pixels (LandmarkProjectionCalculator)."""
        cos, sin = math.cos(self.rotation), math.sin(self.rotation)
        local = (points / INPUT_SIZE - 0.5) * self.side
        return np.stack([cos * local[:, 0] - sin * local[:, 1] + self.x,
                         sin * local[:, 0] + cos * local[:, 1] + self.y], axis=1)

    def crop(self, image: Image.Image) -> Image.Image:
        """The region cut out of `image`, upright, INPUT_SIZE pixels square (black beyond the image's edges)."""
        cos, sin = math.cos(self.rotation), math.sin(self.rotation)
        step = self.side / INPUT_SIZE  # Pillow samples input (a x + b y + c, d x + e y + f) for output (x, y)
        half = self.side / 2
        affine = (step * cos, -step * sin, self.x - half * cos + half * sin,
                  step * sin, step * cos, self.y - half * sin - half * cos)
        return image.transform((INPUT_SIZE, INPUT_SIZE), Image.Transform.AFFINE, affine,
                               resample=Image.Resampling.BILINEAR)


def roi_from_palm(palm: PalmDetection) -> RegionOfInterest:
    """MediaPipe's region of interest around a palm (in image pixels): DetectionsToRectsCalculator's rotation,
    then RectTransformationCalculator's shift, square and scale."""
    xmin, ymin, xmax, ymax = (float(v) for v in palm.box)
    width, height = xmax - xmin, ymax - ymin
    (x0, y0), (x1, y1) = palm.keypoints[WRIST], palm.keypoints[MIDDLE_FINGER]
    rotation = _normalized(math.pi / 2 - math.atan2(-(y1 - y0), x1 - x0))
    shift = PALM_ROI_SHIFT * height
    x = (xmin + xmax) / 2 - math.sin(rotation) * shift
    y = (ymin + ymax) / 2 + math.cos(rotation) * shift
    return RegionOfInterest(x, y, max(width, height) * PALM_ROI_SCALE, rotation)


def _normalized(angle: float) -> float:
    """The angle in [-pi, pi)."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


@dataclass(frozen=True)
class HandLandmarks:
    """21 landmarks: x, y in image pixels and z (depth relative to the wrist, in the same scale); the presence
    score (a hand is there when it is at least MIN_PRESENCE), the handedness score, and the region looked at."""

    points: np.ndarray
    presence: float
    handedness: float
    roi: RegionOfInterest

    @property
    def present(self) -> bool:
        return self.presence >= MIN_PRESENCE


class HandLandmarker:
    """The exported landmark model (`python -m export.to_onnx --only landmarks`) run on regions of interest."""

    def __init__(self, model: Path, threads: int = 0) -> None:
        self.session = onnx_session(Path(model), "hand landmark model", threads=threads)
        self.input_name = self.session.get_inputs()[0].name

    @staticmethod
    def model_input(image: Image.Image, roi: RegionOfInterest) -> np.ndarray:
        """float32 [1, 3, 224, 224], RGB in [0, 1]: the region, upright."""
        pixels = np.asarray(roi.crop(image), dtype=np.float32) / 255.0
        return np.ascontiguousarray(pixels.transpose(2, 0, 1)[None])

    def __call__(self, image: Image.Image | np.ndarray, roi: RegionOfInterest) -> HandLandmarks:
        picture = image if isinstance(image, Image.Image) else Image.fromarray(image)
        landmarks, presence, handedness, _ = self.session.run(None, {self.input_name: self.model_input(picture, roi)})
        points = landmarks.reshape(-1, 3)
        xy = roi.to_image(points[:, :2])
        z = points[:, 2:] * roi.side / INPUT_SIZE
        return HandLandmarks(np.concatenate([xy, z], axis=1), float(presence.ravel()[0]),
                             float(handedness.ravel()[0]), roi)

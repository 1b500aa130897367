"""MediaPipe's hand landmark model on a region of interest around a palm or a tracked hand: 21 landmarks in image
pixels and how sure it is that a hand is there. The region is MediaPipe's, turned upright for this model only (the
classifier's crop is never rotated: orientation tells 👍 from 👎).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from runtime.hand_box import MIDDLE_FINGER, WRIST
from runtime.metadata import MetadataError, is_positive_integer, parsed, settings_value
from runtime.onnx_models import ModelFileError, onnx_session
from runtime.palm_decode import PalmDetection
from runtime.paths import POSE_ENCODER
from runtime.pose_encoder import PoseEncoder, pose_encoder_from
from runtime.settings import CustomGestureSettings, RegionSettings

INPUT_SIZE = 224
"""Side of the landmark model's square input, in pixels."""

NUM_LANDMARKS = 21
"""Landmarks per hand, each (x, y, z)."""
EMBEDDING_SIZE = NUM_LANDMARKS * 3 + 2
"""A hand's numbers for taught gestures (`runtime.custom_gestures.hand_embedding`): x, y, z of each landmark, turned
upright, then the hand's direction; what the pose encoder takes."""

OUTPUTS = ["landmarks", "presence", "handedness"]
"""The model's outputs the pipeline reads: 21 x (x, y, z) in its input's pixels, and two probabilities."""

EXPECTED = (f"MediaPipe's hand landmark model as ONNX, input [1, 3, {INPUT_SIZE}, {INPUT_SIZE}], with input_size, "
            "palm_region, landmark_region, custom_gestures and pose_encoder in its metadata (built by `make setup`: "
            "`python -m export.to_onnx --only landmarks`)")

PALM_REGION = RegionSettings(scale=2.6, shift=-0.5)
"""Around a palm (RectTransformationCalculator in palm_detection_detection_to_roi.pbtxt): the palm box's long side
times 2.6, moved half the box's height towards the fingers."""

LANDMARK_REGION = RegionSettings(scale=2.0, shift=-0.1)
"""Around the last frame's landmarks, to track a hand (RectTransformationCalculator in
hand_landmark_landmarks_to_roi.pbtxt): the rotated rectangle around them, its long side doubled, moved a tenth of
its height towards the fingers."""

ROI_LANDMARKS = (0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18)
"""HandLandmarksToRectCalculator's partial landmarks: the wrist, the thumb's base and each finger's two lowest
joints; the fingertips move most between frames and are left out."""

WRIST_LANDMARK, INDEX_BASE, MIDDLE_BASE, RING_BASE = 0, 5, 9, 13
"""Landmarks that give the hand's axis (HandLandmarksToRectCalculator: wrist -> the middle finger's base averaged
with the mean of the index and ring fingers' bases)."""


@dataclass(frozen=True)
class RegionOfInterest:
    """A square of the image, `side` pixels, centred on (x, y) and turned by `rotation` radians (clockwise on
    screen, as MediaPipe's NormalizedRect): the landmark model's view of one hand."""

    x: float
    y: float
    side: float
    rotation: float

    def to_image(self, points: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
        """[K, 2] points in the model's `size` x `size` input -> image pixels (LandmarkProjectionCalculator)."""
        cos, sin = math.cos(self.rotation), math.sin(self.rotation)
        local = (points / size - 0.5) * self.side
        return np.stack([cos * local[:, 0] - sin * local[:, 1] + self.x,
                         sin * local[:, 0] + cos * local[:, 1] + self.y], axis=1)

    def crop(self, image: Image.Image, size: int = INPUT_SIZE) -> Image.Image:
        """The region cut out of `image`, upright, `size` pixels square (black beyond the image's edges)."""
        cos, sin = math.cos(self.rotation), math.sin(self.rotation)
        step = self.side / size  # Pillow samples input (a x + b y + c, d x + e y + f) for output (x, y)
        half = self.side / 2
        affine = (step * cos, -step * sin, self.x - half * cos + half * sin,
                  step * sin, step * cos, self.y - half * sin - half * cos)
        return image.transform((size, size), Image.Transform.AFFINE, affine,
                               resample=Image.Resampling.BILINEAR)


def roi_from_palm(palm: PalmDetection, region: RegionSettings) -> RegionOfInterest:
    """MediaPipe's region of interest around a palm (in image pixels): DetectionsToRectsCalculator's rotation,
    then RectTransformationCalculator's shift, square and scale (`PALM_REGION`)."""
    xmin, ymin, xmax, ymax = (float(v) for v in palm.box)
    width, height = xmax - xmin, ymax - ymin
    (x0, y0), (x1, y1) = palm.keypoints[WRIST], palm.keypoints[MIDDLE_FINGER]
    rotation = _normalized(math.pi / 2 - math.atan2(-(y1 - y0), x1 - x0))
    shift = region.shift * height
    x = (xmin + xmax) / 2 - math.sin(rotation) * shift
    y = (ymin + ymax) / 2 + math.cos(rotation) * shift
    return RegionOfInterest(x, y, max(width, height) * region.scale, rotation)


def roi_from_landmarks(points: np.ndarray, region: RegionSettings) -> RegionOfInterest:
    """MediaPipe's region of interest for the next frame from a hand's landmarks [21, 2+] in image pixels
    (hand_landmark_landmarks_to_roi.pbtxt, `LANDMARK_REGION`): how a hand is tracked without the palm detector."""
    x0, y0 = points[WRIST_LANDMARK, :2]
    x1, y1 = (points[INDEX_BASE, :2] + points[RING_BASE, :2]) / 2
    x1, y1 = (x1 + points[MIDDLE_BASE, 0]) / 2, (y1 + points[MIDDLE_BASE, 1]) / 2
    rotation = _normalized(math.pi / 2 - math.atan2(-(y1 - y0), x1 - x0))
    partial = points[list(ROI_LANDMARKS), :2].astype(np.float64)
    centre = (partial.min(axis=0) + partial.max(axis=0)) / 2
    cos, sin = math.cos(rotation), math.sin(rotation)
    local = partial - centre  # turned by -rotation: the hand upright
    upright = np.stack([cos * local[:, 0] + sin * local[:, 1], -sin * local[:, 0] + cos * local[:, 1]], axis=1)
    (left, top), (right, bottom) = upright.min(axis=0), upright.max(axis=0)
    mid_x, mid_y = (left + right) / 2, (top + bottom) / 2
    width, height = right - left, bottom - top
    mid_y += region.shift * height
    x = centre[0] + cos * mid_x - sin * mid_y
    y = centre[1] + sin * mid_x + cos * mid_y
    return RegionOfInterest(float(x), float(y), float(max(width, height) * region.scale), rotation)


def _normalized(angle: float) -> float:
    """The angle in [-pi, pi)."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


@dataclass(frozen=True)
class HandLandmarks:
    """21 landmarks: x, y in image pixels and z (depth relative to the wrist, in the same scale); the presence
    score (a hand is there when it reaches `PipelineSettings.min_presence`), the handedness score, and the region
    looked at."""

    points: np.ndarray
    presence: float
    handedness: float
    roi: RegionOfInterest


def landmark_metadata() -> dict[str, str]:
    """What the export writes into the landmark model's metadata for both runtimes to read: its input side, the
    two regions, and how taught gestures are matched to its landmarks (with the shipped pose encoder)."""
    return {"input_size": json.dumps(INPUT_SIZE), "palm_region": json.dumps(asdict(PALM_REGION)),
            "landmark_region": json.dumps(asdict(LANDMARK_REGION)),
            "custom_gestures": json.dumps(asdict(CustomGestureSettings())),
            "pose_encoder": POSE_ENCODER.read_text(encoding="utf-8").strip()}


@dataclass(frozen=True)
class LandmarkModelMetadata:
    """What a landmark model file says about itself: the side of its square input, and where it looks for a hand
    around a palm and around the last frame's landmarks, and how taught gestures are matched to its landmarks."""

    input_size: int
    palm_region: RegionSettings
    landmark_region: RegionSettings
    custom_gestures: CustomGestureSettings
    pose_encoder: PoseEncoder


def parse_landmark_metadata(metadata: dict[str, str]) -> LandmarkModelMetadata:
    """The landmark model's metadata_props, checked as the worker checks them (`static/widget/onnx-metadata.js`
    landmarkSettings); MetadataError saying which key is missing or wrong."""
    return LandmarkModelMetadata(parsed(metadata, "input_size", is_positive_integer, "a positive integer"),
                                 settings_value(metadata, "palm_region", RegionSettings),
                                 settings_value(metadata, "landmark_region", RegionSettings),
                                 settings_value(metadata, "custom_gestures", CustomGestureSettings),
                                 pose_encoder_from(metadata, EMBEDDING_SIZE))


class HandLandmarker:
    """The exported landmark model (`python -m export.to_onnx --only landmarks`) run on regions of interest, which
    it places with the regions in its own metadata."""

    def __init__(self, model: Path, threads: int = 0) -> None:
        self.path = Path(model)
        self.session = onnx_session(self.path, "hand landmark model", threads=threads)
        self.input_name = self.session.get_inputs()[0].name
        try:
            self.metadata = parse_landmark_metadata(self.session.get_modelmeta().custom_metadata_map)
        except MetadataError as error:
            raise ModelFileError(f"{self.path}: {error}; expected {EXPECTED}") from error

    def around_palm(self, palm: PalmDetection) -> RegionOfInterest:
        """Where to look for the hand of a palm the detector found."""
        return roi_from_palm(palm, self.metadata.palm_region)

    def around_hand(self, points: np.ndarray) -> RegionOfInterest:
        """Where to look for a hand on the next frame, from its landmarks on this one."""
        return roi_from_landmarks(points, self.metadata.landmark_region)

    @staticmethod
    def model_input(image: Image.Image, roi: RegionOfInterest, size: int = INPUT_SIZE) -> np.ndarray:
        """float32 [1, 3, size, size], RGB in [0, 1]: the region, upright."""
        pixels = np.asarray(roi.crop(image, size), dtype=np.float32) / 255.0
        return np.ascontiguousarray(pixels.transpose(2, 0, 1)[None])

    def __call__(self, image: Image.Image | np.ndarray, roi: RegionOfInterest) -> HandLandmarks:
        picture = image if isinstance(image, Image.Image) else Image.fromarray(image)
        size = self.metadata.input_size
        model_input = self.model_input(picture, roi, size)
        landmarks, presence, handedness = self.session.run(OUTPUTS, {self.input_name: model_input})
        points = landmarks.reshape(-1, 3)
        xy = roi.to_image(points[:, :2], size)
        z = points[:, 2:] * roi.side / size
        return HandLandmarks(np.concatenate([xy, z], axis=1), float(presence.ravel()[0]),
                             float(handedness.ravel()[0]), roi)

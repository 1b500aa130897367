"""From the palm detector's raw outputs to palms in image pixels: SSD anchors, box decoding and weighted NMS.
The numbers are MediaPipe's (palm_detection_cpu.pbtxt, 0.10.21), named here so that the browser uses the same ones;
each of the 2016 anchors regresses a palm box and 7 keypoints (0: wrist, 2: middle finger's base), x first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

# ImageToTensorCalculator: the image, letterboxed to a square with black borders, as RGB in [0, 1].
INPUT_SIZE = 192
INPUT_RANGE = (0.0, 1.0)

# SsdAnchorsCalculator. interpolated_scale_aspect_ratio is the proto's default, which adds one anchor per layer.
NUM_LAYERS = 4
MIN_SCALE = 0.1484375
MAX_SCALE = 0.75
ANCHOR_OFFSET_X = 0.5
ANCHOR_OFFSET_Y = 0.5
STRIDES = (8, 16, 16, 16)
ASPECT_RATIOS = (1.0,)
INTERPOLATED_SCALE_ASPECT_RATIO = 1.0
FIXED_ANCHOR_SIZE = True
NUM_ANCHORS = 2016

# TensorsToDetectionsCalculator.
NUM_COORDS = 18
BOX_COORD_OFFSET = 0
KEYPOINT_COORD_OFFSET = 4
NUM_KEYPOINTS = 7
NUM_VALUES_PER_KEYPOINT = 2
X_SCALE = 192.0
Y_SCALE = 192.0
W_SCALE = 192.0
H_SCALE = 192.0
SCORE_CLIPPING_THRESH = 100.0
MIN_SCORE_THRESH = 0.5

# NonMaxSuppressionCalculator: WEIGHTED algorithm, INTERSECTION_OVER_UNION overlap.
MIN_SUPPRESSION_THRESHOLD = 0.3


@dataclass(frozen=True)
class PalmDetection:
    """One palm: box (xmin, ymin, xmax, ymax) and keypoints [7, 2] as (x, y), in the units of the caller."""

    box: np.ndarray
    keypoints: np.ndarray
    score: float


@dataclass(frozen=True)
class Letterbox:
    """Where an image went in the square model input: the square's side and the image's offset, in image pixels."""

    side: int
    left: int
    top: int


def ssd_anchors() -> np.ndarray:
    """[NUM_ANCHORS, 4] anchors (x_centre, y_centre, width, height), normalised, in the model's output order."""
    anchors = []
    layer = 0
    while layer < NUM_LAYERS:
        sizes = []  # (width, height) of each anchor at one cell; layers with the same stride share cells
        last = layer
        while last < NUM_LAYERS and STRIDES[last] == STRIDES[layer]:
            scale = _anchor_scale(last)
            next_scale = 1.0 if last == NUM_LAYERS - 1 else _anchor_scale(last + 1)
            ratios = [(scale, ratio) for ratio in ASPECT_RATIOS]
            ratios.append((math.sqrt(scale * next_scale), INTERPOLATED_SCALE_ASPECT_RATIO))
            sizes += [(s * math.sqrt(r), s / math.sqrt(r)) for s, r in ratios]
            last += 1
        cells = math.ceil(INPUT_SIZE / STRIDES[layer])
        for y in range(cells):
            for x in range(cells):
                for width, height in sizes:
                    anchors.append(((x + ANCHOR_OFFSET_X) / cells, (y + ANCHOR_OFFSET_Y) / cells,
                                    1.0 if FIXED_ANCHOR_SIZE else width, 1.0 if FIXED_ANCHOR_SIZE else height))
        layer = last
    return np.asarray(anchors, dtype=np.float32)


def _anchor_scale(layer: int) -> float:
    return MIN_SCALE + (MAX_SCALE - MIN_SCALE) * layer / (NUM_LAYERS - 1)


def decode_boxes(regressors: np.ndarray, anchors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw [N, 18] regressors -> boxes [N, 4] (xmin, ymin, xmax, ymax) and keypoints [N, 7, 2], normalised."""
    a_x, a_y, a_w, a_h = (anchors[:, i:i + 1] for i in range(4))
    box = regressors[:, BOX_COORD_OFFSET:BOX_COORD_OFFSET + 4]
    x = box[:, 0:1] / X_SCALE * a_w + a_x
    y = box[:, 1:2] / Y_SCALE * a_h + a_y
    half_w = box[:, 2:3] / W_SCALE * a_w / 2
    half_h = box[:, 3:4] / H_SCALE * a_h / 2
    boxes = np.concatenate([x - half_w, y - half_h, x + half_w, y + half_h], axis=1)
    end = KEYPOINT_COORD_OFFSET + NUM_KEYPOINTS * NUM_VALUES_PER_KEYPOINT
    points = regressors[:, KEYPOINT_COORD_OFFSET:end].reshape(-1, NUM_KEYPOINTS, NUM_VALUES_PER_KEYPOINT)
    keypoints = np.stack([points[..., 0] / X_SCALE * a_w + a_x, points[..., 1] / Y_SCALE * a_h + a_y], axis=-1)
    return boxes, keypoints


def palm_scores(raw_scores: np.ndarray) -> np.ndarray:
    """Sigmoid of the logits, clipped first as MediaPipe does so that exp never overflows."""
    clipped = np.clip(raw_scores.reshape(-1), -SCORE_CLIPPING_THRESH, SCORE_CLIPPING_THRESH)
    return 1.0 / (1.0 + np.exp(-clipped))


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one (xmin, ymin, xmax, ymax) box with each of [N, 4] boxes; 0 when disjoint."""
    width = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    height = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    intersection = width * height
    union = (box[2] - box[0]) * (box[3] - box[1]) + (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = union - intersection
    return np.where(union > 0, intersection / np.where(union > 0, union, 1), 0.0)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                 threshold: float = MIN_SUPPRESSION_THRESHOLD) -> list[PalmDetection]:
    """MediaPipe's weighted NMS: each best-scoring box absorbs the boxes overlapping it by IoU > threshold,
    and its box and keypoints become their score-weighted mean; its score stays the best one."""
    remaining = np.argsort(-scores, kind="stable")
    detections = []
    while remaining.size:
        best = remaining[0]
        overlapping = iou(boxes[best], boxes[remaining]) > threshold
        overlapping[0] = True  # an empty box has IoU 0 with itself, and must still leave the queue
        members = remaining[overlapping]
        weights = scores[members] / scores[members].sum()
        detections.append(PalmDetection(box=(weights[:, None] * boxes[members]).sum(axis=0),
                                        keypoints=(weights[:, None, None] * keypoints[members]).sum(axis=0),
                                        score=float(scores[best])))
        remaining = remaining[~overlapping]
    return detections


def decode_detections(regressors: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
                      min_score: float = MIN_SCORE_THRESH) -> list[PalmDetection]:
    """One image's raw outputs ([2016, 18] and [2016, 1]) -> palms in normalised model-input coordinates."""
    scores = palm_scores(raw_scores)
    keep = scores >= min_score
    boxes, keypoints = decode_boxes(regressors[keep], anchors[keep])
    return weighted_nms(boxes, keypoints, scores[keep])


def letterbox(image: np.ndarray) -> tuple[np.ndarray, Letterbox]:
    """uint8 [H, W, 3] RGB -> float32 [1, 3, 192, 192] in [0, 1], the image centred on a black square first,
    as MediaPipe's keep_aspect_ratio does, so that hands keep their shape."""
    height, width = image.shape[:2]
    side = max(height, width)
    placed = Letterbox(side=side, left=(side - width) // 2, top=(side - height) // 2)
    square = np.zeros((side, side, 3), dtype=np.uint8)
    square[placed.top:placed.top + height, placed.left:placed.left + width] = image
    resized = Image.fromarray(square).resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR)
    low, high = INPUT_RANGE
    tensor = np.asarray(resized, dtype=np.float32) / 255.0 * (high - low) + low
    return tensor.transpose(2, 0, 1)[None].copy(), placed


def to_image_pixels(detection: PalmDetection, placed: Letterbox) -> PalmDetection:
    """A detection in normalised model-input coordinates -> pixels of the original (un-letterboxed) image."""
    offset = np.asarray([placed.left, placed.top], dtype=np.float32)
    return PalmDetection(box=detection.box * placed.side - np.tile(offset, 2),
                         keypoints=detection.keypoints * placed.side - offset, score=detection.score)

"""Training inputs cut the way the running pipeline cuts them (a classifier that saw only tight annotator crops
misses the pipeline's hands): training crops pasted into real frames and cut by the pipeline, and hard negatives
from the `none` frames' context half; the other half is held out to measure the pipeline (`frame_halves`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from numpy.lib.format import open_memmap
from PIL import Image, ImageFilter
from tqdm import tqdm

from runtime.hand_box import hand_box, landmark_box
from runtime.hand_landmarks import HandLandmarker
from runtime.onnx_models import onnx_session
from runtime.palm_decode import PalmDetection
from runtime.paths import cache_dir
from runtime.pipeline import PalmFinder, tile_levels
from runtime.settings import PipelineSettings
from training.cache import cache_key
from training.datasets import DatasetLayoutError, Sample, load_samples
from training.gestures import CACHE_SIZE, LABELS

PASTE_FORMAT = 3
PIPELINE = PipelineSettings()
"""The pipeline whose crops are cut: its landmark box margin and number of hands."""

PALM_BOX_SCALE = 1.8
PALM_BOX_SHIFT = 0.1
"""The palm square (`runtime.hand_box.hand_box`) the pipeline used before hand landmarks, in palm box sides:
`--pipeline-box palm` reproduces the classifier trained for it."""

PASTE_GROWTH = (0.9, 1.8)
"""A pasted crop's side is its own times a random factor in this range (frames show hands larger than the crops)."""

MAX_HAND_SHARE = 0.6
"""... but at most this share of the background's short side."""

FEATHER = 1 / 16
"""Width of the pasted crop's soft edge, as a share of its short side: no hard seam for the detector to see."""

CUT_PALM_SCORE = 0.3
"""Palm score from which a hand is cut around its palm square (`--pipeline-box palm`): below that pipeline's 0.4,
to learn from hands the detector is unsure of (around landmarks, the pipeline's own `min_palm_score` is used)."""

CUT_PRESENCE = 0.5
"""Hand presence from which a hand is cut around its landmarks: MediaPipe's threshold, below the pipeline's own
(`PipelineSettings.min_presence`), so that the classifier also learns from hands the landmark model is less sure
of."""

REGION_SLACK = 0.25
"""A hand cut from a composite must have its landmarks inside the pasted crop (or a HaGRID hand box) grown by this
share on each side, else it is a background hand with the wrong label
(docs/decisions.md#region-slack-for-pasted-crops)."""

LARGE_GROUP = 100
"""A group with more frames than this (one person filmed at length) is split between the halves by file."""

log = logging.getLogger(__name__)


@dataclass
class PipelineCrops:
    """One pipeline-cut version of each training crop (same order as the decoded crops); `found[i]` is False
    where the palm detector found no palm in crop i's hand, and `images[i]` is then blank."""

    images: np.ndarray
    found: np.ndarray


def frame_halves(frames: list[Sample]) -> tuple[list[Sample], list[Sample]]:
    """(context, held_out): half of the `none` frames, by a hash of their group's name, are context; the other
    half and every gesture frame (too few to spare) are held out."""
    sizes = Counter(frame.group for frame in frames)

    def is_context(frame: Sample) -> bool:
        key = f"{frame.path.parent.name}/{frame.path.name}" if sizes[frame.group] > LARGE_GROUP else frame.group
        return frame.label == "none" and int(hashlib.sha1(key.encode()).hexdigest(), 16) % 2 == 0

    return [f for f in frames if is_context(f)], [f for f in frames if not is_context(f)]


def context_frames(data: Path, labels: Sequence[str] = LABELS) -> list[Sample]:
    """The context half of the training frames that are `none` in `labels` (a palm frame is raise_hand in the
    extended set, no negative); none in HaGRID's layout, whose crops come with their own frames."""
    try:
        return frame_halves(load_samples(data, "train", "frame", labels))[0]
    except DatasetLayoutError:
        return []


def paste(crop: Image.Image, background: Image.Image, rng: random.Random) -> tuple[Image.Image, tuple[int, ...]]:
    """`crop` pasted with feathered edges at a random scale and place into a copy of `background`, and where."""
    side = min(max(crop.size) * rng.uniform(*PASTE_GROWTH), MAX_HAND_SHARE * min(background.size))
    scale = side / max(crop.size)
    width, height = max(8, round(crop.width * scale)), max(8, round(crop.height * scale))
    crop = crop.resize((width, height), Image.Resampling.BILINEAR)
    edge = max(1, round(min(width, height) * FEATHER))
    mask = Image.new("L", (width, height), 0)
    mask.paste(255, (edge, edge, width - edge, height - edge))
    mask = mask.filter(ImageFilter.GaussianBlur(edge / 2))
    left, top = rng.randrange(background.width - width + 1), rng.randrange(background.height - height + 1)
    composite = background.copy()
    composite.paste(crop, (left, top), mask)
    return composite, (left, top, left + width, top + height)


def cut_hand(finder: PalmFinder, image: Image.Image, region: tuple[float, ...] | None,
             size: int = CACHE_SIZE, landmarker: HandLandmarker | None = None) -> list[np.ndarray]:
    """The pipeline's hand crops in `image`, resized to `size` (only the first whose palm lies inside `region` when
    given): around the landmarks where `GesturePipeline.hands` finds hands with `landmarker`, else palm squares."""
    pixels = np.asarray(image)
    searches = ([lambda: finder.detect_in_view(pixels)[:finder.max_hands],
                 *(partial(finder.palms_in_tiles, pixels, level) for level in tile_levels(image.width, image.height))]
                if landmarker is not None else [lambda: finder.palms(pixels)])
    for search in searches:
        boxes = []
        for palm in search():
            if region is not None:
                x, y = (palm.box[0] + palm.box[2]) / 2, (palm.box[1] + palm.box[3]) / 2
                if not (region[0] <= x <= region[2] and region[1] <= y <= region[3]):
                    continue
            box = _box(image, palm, landmarker, region)
            if box is not None:
                boxes.append(box)
                if region is not None:
                    break
        if boxes:
            return [np.asarray(image.crop(box).resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)
                    for box in boxes]
    return []


def _box(image: Image.Image, palm: PalmDetection, landmarker: HandLandmarker | None,
         region: tuple[float, ...] | None = None) -> tuple[int, ...] | None:
    """The hand box around `palm`: the palm square, or the landmark box (None when no hand is there, or when the
    hand reaches out of `region`: then it is another hand, in the background the crop was pasted into)."""
    if landmarker is None:
        return hand_box(palm, image.width, image.height, PALM_BOX_SCALE, PALM_BOX_SHIFT)
    hand = landmarker(image, landmarker.around_palm(palm))
    if hand.presence < CUT_PRESENCE or (region is not None and not _inside(hand.points, region)):
        return None
    return landmark_box(hand.points, image.width, image.height, PIPELINE.hand_box_margin)


def _inside(points: np.ndarray, region: tuple[float, ...]) -> bool:
    """Every landmark inside `region` grown by `REGION_SLACK` of its size on each side."""
    left, top, right, bottom = region
    slack_x, slack_y = REGION_SLACK * (right - left), REGION_SLACK * (bottom - top)
    x, y = points[:, 0], points[:, 1]
    return bool(((x >= left - slack_x) & (x <= right + slack_x) & (y >= top - slack_y) & (y <= bottom + slack_y)).all())


_finder: PalmFinder | None = None
_landmarker: HandLandmarker | None = None


def _start_worker(palm_model: Path, landmark_model: Path | None) -> None:
    global _finder, _landmarker
    _finder = PalmFinder(palm_model, PIPELINE.min_palm_score if landmark_model is not None else CUT_PALM_SCORE,
                         PIPELINE.max_hands, threads=1)
    _landmarker = HandLandmarker(landmark_model, threads=1) if landmark_model is not None else None


def _pipeline_crop(task: tuple[int, Sample], backgrounds: list[Path], seed: int) -> np.ndarray | str | None:
    """Sample `index`'s pipeline crop, None when no palm is found, or the path of an image that cannot be read."""
    index, sample = task
    rng = random.Random(f"{seed}:{index}")
    reading = sample.path
    try:
        with Image.open(reading) as opened:
            image = opened.convert("RGB")
        if sample.box is not None:  # HaGRID's layout: the hand in its own frame
            x, y, w, h = sample.box
            region = (x * image.width, y * image.height, (x + w) * image.width, (y + h) * image.height)
        else:
            reading = rng.choice(backgrounds)
            with Image.open(reading) as opened:
                image, region = paste(image, opened.convert("RGB"), rng)
    except (OSError, ValueError, SyntaxError):
        return str(reading)
    crops = cut_hand(_finder, image, region, landmarker=_landmarker)
    return crops[0] if crops else None


def _hard_negatives(frame: Sample) -> list[np.ndarray] | str:
    """The frame's hand crops, or its path when it cannot be read."""
    try:
        with Image.open(frame.path) as opened:
            image = opened.convert("RGB")
    except (OSError, ValueError, SyntaxError):
        return str(frame.path)
    return cut_hand(_finder, image, None, landmarker=_landmarker)


def _cache_key(kind: str, samples: list[Sample], frames: list[Sample], palm_model: Path, seed: int,
               landmark_model: Path | None) -> str:
    # a bad file fails here, with its path, not in the workers
    models = [(palm_model, "palm detector"), *([(landmark_model, "hand landmark model")] if landmark_model else [])]
    digests = []
    for model, what in models:
        onnx_session(Path(model), what, threads=1)
        digests.append(hashlib.sha1(Path(model).read_bytes()).hexdigest())
    settings = json.dumps([PALM_BOX_SCALE, PALM_BOX_SHIFT, CUT_PALM_SCORE, PASTE_GROWTH, MAX_HAND_SHARE, FEATHER]
                          + ([PIPELINE.hand_box_margin, PIPELINE.min_palm_score, CUT_PRESENCE, "hands",
                              REGION_SLACK] if landmark_model else []))
    parts = [kind, str(PASTE_FORMAT), str(seed), *digests, settings, cache_key(samples, CACHE_SIZE),
             cache_key(frames, CACHE_SIZE)]
    return "pipeline-" + hashlib.sha1("|".join(parts).encode()).hexdigest()[:20]


def _report_unreadable(paths: list[str]) -> None:
    if paths:
        log.warning("skipped %d unreadable image(s), e.g. %s", len(paths), sorted(set(paths))[0])


def _pool(palm_model: Path, landmark_model: Path | None, workers: int | None) -> Pool:
    return Pool(workers or os.cpu_count() or 1, initializer=_start_worker, initargs=(palm_model, landmark_model))


def pipeline_crops(samples: list[Sample], data: Path, palm_model: Path, seed: int = 0, workers: int | None = None,
                   landmark_model: Path | None = None, labels: Sequence[str] = LABELS) -> PipelineCrops:
    """The pipeline-cut version of each sample (pass the readable ones, as `load_cached` keeps them), pasted into
    frames that are `none` in `labels`, cached; cut around the landmarks when a `landmark_model` is given."""
    backgrounds = context_frames(data, labels)
    key = _cache_key("pasted", samples, backgrounds, palm_model, seed, landmark_model)
    images_file, found_file = cache_dir() / f"{key}.npy", cache_dir() / f"{key}.found.npy"
    if images_file.is_file() and found_file.is_file():
        return PipelineCrops(np.load(images_file, mmap_mode="r"), np.load(found_file))
    if any(s.box is None for s in samples) and not backgrounds:
        raise DatasetLayoutError(f"{data}: no training frames to paste the crops into")
    cache_dir().mkdir(parents=True, exist_ok=True)
    # written into a memory-mapped file, not RAM: HaGRID in full gives one 128 px crop per hand, ~27 GB
    partial_file = images_file.with_name(f"{key}.partial.npy")
    images = open_memmap(partial_file, mode="w+", dtype=np.uint8, shape=(len(samples), CACHE_SIZE, CACHE_SIZE, 3))
    found = np.zeros(len(samples), dtype=bool)
    work = partial(_pipeline_crop, backgrounds=[f.path for f in backgrounds], seed=seed)
    unreadable = []
    with _pool(palm_model, landmark_model, workers) as pool:
        results = pool.imap(work, enumerate(samples), chunksize=32)
        for i, crop in enumerate(tqdm(results, total=len(samples), desc=f"pipeline crops {seed}", leave=False)):
            if isinstance(crop, str):
                unreadable.append(crop)
            elif crop is not None:
                images[i], found[i] = crop, True
    log.info("pipeline crops (seed %d): a palm in %d of %d hands", seed, found.sum(), len(samples))
    _report_unreadable(unreadable)
    images.flush()
    np.save(found_file, found)
    os.replace(partial_file, images_file)
    return PipelineCrops(np.load(images_file, mmap_mode="r"), found)


def hard_negatives(data: Path, palm_model: Path, workers: int | None = None,
                   landmark_model: Path | None = None, labels: Sequence[str] = LABELS) -> np.ndarray:
    """The pipeline's hand crops [N, S, S, 3] from the context frames (all `none` in `labels`), cached; cut around
    the landmarks when a `landmark_model` is given."""
    frames = context_frames(data, labels)
    key = _cache_key("negatives", [], frames, palm_model, 0, landmark_model)
    file = cache_dir() / f"{key}.npy"
    if file.is_file():
        return np.load(file)
    with _pool(palm_model, landmark_model, workers) as pool:
        results = list(pool.imap(_hard_negatives, frames, chunksize=8))
    _report_unreadable([r for r in results if isinstance(r, str)])
    crops = [crop for found in results if not isinstance(found, str) for crop in found]
    negatives = np.stack(crops) if crops else np.zeros((0, CACHE_SIZE, CACHE_SIZE, 3), dtype=np.uint8)
    log.info("hard negatives: %d hand crops from %d none frames", len(negatives), len(frames))
    cache_dir().mkdir(parents=True, exist_ok=True)
    np.save(file, negatives)
    return negatives

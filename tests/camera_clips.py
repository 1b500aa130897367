"""Fake-camera clips made from photos: what Chromium's fake capture device plays to the widget, and the same
frames as the Python pipeline must see them to be compared with the browser.

A clip is a .y4m (yuv420p) holding each photo for a number of frames, scaled to fit a webcam-sized frame,
written by ffmpeg.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

FRAME_SIZE = (640, 480)
"""Clips are landscape 640 x 480, a webcam's usual picture; the (mostly portrait) photos are scaled to fit
and padded with black. Portrait clips would not do: Chromium crops them to the widget's requested aspect."""

FPS = 15

MARKER_BITS = 12
MARKER_BLOCK = 8
"""Every clip frame carries the number of the photo it shows, in binary, as a strip of MARKER_BITS blocks of
MARKER_BLOCK pixels along the top-left edge (grey for 1, black for 0), so that each frame the widget processed
can be traced to its photo however late the fake camera or the page runs. The Python pipeline sees the same
strip (`camera_view`)."""


def fit_to_frame(image: Image.Image, size: tuple[int, int] = FRAME_SIZE) -> Image.Image:
    """`image` scaled to fit inside `size` (width, height), centred on black, as a camera frame would hold it."""
    width, height = size
    scale = min(width / image.width, height / image.height)
    scaled = image.convert("RGB").resize((round(image.width * scale), round(image.height * scale)),
                                         Image.Resampling.BILINEAR)
    frame = Image.new("RGB", size)
    frame.paste(scaled, ((width - scaled.width) // 2, (height - scaled.height) // 2))
    return frame


def mark_photo_number(frame: np.ndarray, number: int) -> None:
    """Writes `number` into the frame's top-left strip (MARKER_BITS)."""
    if not 0 <= number < 2 ** MARKER_BITS:
        raise ValueError(f"a clip holds at most {2 ** MARKER_BITS} photos")
    for bit in range(MARKER_BITS):
        frame[:MARKER_BLOCK, bit * MARKER_BLOCK:(bit + 1) * MARKER_BLOCK] = 128 if number >> bit & 1 else 0


def _frames_rgb(images: Sequence[Path], size: tuple[int, int]) -> Iterator[bytes]:
    for number, path in enumerate(images):
        with Image.open(path) as image:
            frame = np.array(fit_to_frame(image, size))
        mark_photo_number(frame, number)
        yield frame.tobytes()


def _ffmpeg(args: list[str], frames: Iterator[bytes], repeat: int, size: tuple[int, int], fps: int,
            output: Path | None = None) -> bytes:
    """Runs ffmpeg on raw RGB frames (each written `repeat` times) fed to its stdin; its stdout when no `output`."""
    command = ["ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
               "-s", f"{size[0]}x{size[1]}", "-r", str(fps), "-i", "-", *args, str(output) if output else "-"]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=out, stderr=err)
        assert process.stdin is not None
        try:
            for frame in frames:
                for _ in range(repeat):
                    process.stdin.write(frame)
        finally:
            process.stdin.close()
        if process.wait() != 0:
            err.seek(0)
            raise RuntimeError(f"ffmpeg failed: {err.read().decode(errors='replace').strip()}")
        out.seek(0)
        return out.read()


@dataclass(frozen=True)
class Clip:
    """A fake-camera video: each image held for `frames_per_image` frames at `fps`. Chromium loops it."""

    path: Path
    images: tuple[Path, ...]
    fps: int
    frames_per_image: int
    size: tuple[int, int]
    gap_frames: int = 0
    """Black frames after each image, marked with its number."""

    @property
    def seconds_per_image(self) -> float:
        """How long each image is held, its gap included."""
        return (self.frames_per_image + self.gap_frames) / self.fps

    @property
    def duration(self) -> float:
        return len(self.images) * self.seconds_per_image


def write_clip(images: Sequence[Path], path: Path, seconds_per_image: float, fps: int = FPS,
               size: tuple[int, int] = FRAME_SIZE, gap_seconds: float = 0.0) -> Clip:
    """A .y4m (yuv420p, what Chromium's fake camera reads) showing `images` in order, each frame marked with its
    photo's number; each photo is followed by `gap_seconds` of black (marked with the same number), as when a
    participant lowers one hand before raising the next pose."""
    frames_per_image = max(1, round(seconds_per_image * fps))
    gap_frames = round(gap_seconds * fps)
    frames = _frames_rgb(images, size)
    if gap_frames:
        frames = _with_gaps(frames, frames_per_image, gap_frames, size)
        repeat = 1
    else:
        repeat = frames_per_image
    _ffmpeg(["-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe"], frames, repeat, size, fps, output=path)
    return Clip(path, tuple(images), fps, frames_per_image, size, gap_frames)


def _with_gaps(frames: Iterator[bytes], hold: int, gap: int, size: tuple[int, int]) -> Iterator[bytes]:
    """Each frame `hold` times, then `gap` black frames carrying its marker strip."""
    strip = MARKER_BLOCK * size[0] * 3  # the marker rows, whole
    for frame in frames:
        yield from [frame] * hold
        black = bytearray(len(frame))
        black[:strip] = frame[:strip]
        yield from [bytes(black)] * gap


def camera_view(images: Sequence[Path], size: tuple[int, int] = FRAME_SIZE) -> list[np.ndarray]:
    """Each image as a clip delivers it to the browser: fitted into the frame, marked, and through yuv420p, as
    uint8 RGB [H, W, 3]; what the Python pipeline must see to be compared with the browser's."""
    raw = _ffmpeg(["-vf", "format=yuv420p", "-pix_fmt", "rgb24", "-f", "rawvideo"], _frames_rgb(images, size), 1,
                  size, FPS)
    width, height = size
    return list(np.frombuffer(raw, dtype=np.uint8).reshape(len(images), height, width, 3))


Picture = Path | np.ndarray | None | Sequence[np.ndarray]
"""What a segment shows: a photo (fitted into the frame), a frame-sized RGB array, black (None), or frame-sized
arrays one per frame."""


@dataclass(frozen=True)
class SegmentClip:
    """A fake-camera video of segments, each a picture (or one picture per frame) held for a time; every frame is
    marked with its segment's number. `starts` is each segment's first frame, in seconds from the clip's start."""

    path: Path
    fps: int
    starts: tuple[float, ...]
    duration: float


def _segment_frames(segments: Sequence[tuple[Picture, float]], size: tuple[int, int], fps: int) -> Iterator[bytes]:
    for number, (picture, seconds) in enumerate(segments):
        count = round(seconds * fps)
        if picture is None or isinstance(picture, Path | np.ndarray):
            if picture is None:
                frame = np.zeros((size[1], size[0], 3), np.uint8)
            elif isinstance(picture, Path):
                with Image.open(picture) as image:
                    frame = np.array(fit_to_frame(image, size))
            else:
                frame = picture.copy()
            mark_photo_number(frame, number)
            yield from [frame.tobytes()] * count
            continue
        for index in range(count):
            frame = np.array(picture[min(index, len(picture) - 1)])
            mark_photo_number(frame, number)
            yield frame.tobytes()


def write_segments(segments: Sequence[tuple[Picture, float]], path: Path, fps: int = FPS,
                   size: tuple[int, int] = FRAME_SIZE) -> SegmentClip:
    """A .y4m playing `segments` in order: a picture held for its seconds, or a list of frame-sized pictures, one
    per frame; each frame marked with its segment's number."""
    _ffmpeg(["-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe"], _segment_frames(segments, size, fps), 1, size, fps,
            output=path)
    counts = [round(seconds * fps) for _, seconds in segments]
    starts = tuple(sum(counts[:i]) / fps for i in range(len(counts)))
    return SegmentClip(path, fps, starts, sum(counts) / fps)

"""The fake-camera clips the browser tests and benchmark play: each photo held for its frames, marked with its
number, and, for the held-pose stream, followed by black frames that keep the mark."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.browser_harness import missing_system_tools
from tests.camera_clips import FRAME_SIZE, MARKER_BITS, MARKER_BLOCK, write_clip
from tests.conftest import manifest_rows


def read_frames(clip: Path) -> np.ndarray:
    """The clip's frames as uint8 RGB [N, H, W, 3], decoded by ffmpeg."""
    raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(clip), "-pix_fmt", "rgb24", "-f", "rawvideo",
                          "-"], capture_output=True, check=True).stdout
    width, height = FRAME_SIZE
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, height, width, 3)


def marked_number(frame: np.ndarray) -> int:
    """The photo number in a frame's marker strip (grey blocks are ones)."""
    centre = MARKER_BLOCK // 2
    return sum(1 << bit for bit in range(MARKER_BITS)
               if frame[centre, bit * MARKER_BLOCK + centre].mean() > 64)


def test_held_photos_are_followed_by_marked_black_gaps(data_dir: Path, tmp_path: Path) -> None:
    if "ffmpeg" in missing_system_tools():
        pytest.skip("ffmpeg is not installed (`make setup` installs it)")
    photos = [data_dir / r["path"] for r in manifest_rows(data_dir) if r["kind"] == "frame"][:3]
    clip = write_clip(photos, tmp_path / "held.y4m", seconds_per_image=0.4, fps=10, gap_seconds=0.2)
    assert (clip.frames_per_image, clip.gap_frames) == (4, 2)
    assert clip.duration == pytest.approx(3 * 0.6)
    frames = read_frames(clip.path)
    assert len(frames) == 3 * 6
    for number in range(3):
        held, gap = frames[6 * number:6 * number + 4], frames[6 * number + 4:6 * number + 6]
        assert [marked_number(f) for f in (*held, *gap)] == [number] * 6
        assert all(f[MARKER_BLOCK:].mean() > 20 for f in held), "a photo, not black"
        assert all(f[MARKER_BLOCK + 2:].max() <= 16 for f in gap), "black below the marker strip"

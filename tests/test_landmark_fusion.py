"""Landmarks of hand crops, their features, and the landmark MLP fused with the crop CNN, on real crops."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from research.fusion import NONE, decisions
from research.landmark_features import features, mirrored
from runtime.hand_landmarks import HandLandmarker
from runtime.paths import landmark_model
from tests.conftest import make_small_dataset
from training.crop_landmarks import crop_landmarks, native_crop
from training.datasets import load_samples

ROOT = Path(__file__).resolve().parents[1]
THUMB_TIP, WRIST = 4, 0


@pytest.fixture(scope="module")
def landmarker() -> HandLandmarker:
    return HandLandmarker(landmark_model(), threads=1)


def test_features_forget_place_and_size_but_keep_orientation() -> None:
    rng = np.random.default_rng(0)
    points = rng.uniform(0, 100, (21, 3)).astype(np.float32)
    moved = points * 2.5 + np.array([40, -7, 3], np.float32)
    moved[:, 2] = points[:, 2] * 2.5  # depth scales with the hand, it does not move with it
    assert np.allclose(features(points), features(moved), atol=1e-5)
    upside_down = points.copy()
    upside_down[:, 1] *= -1
    assert not np.allclose(features(points), features(upside_down), atol=1e-2)
    assert np.allclose(mirrored(mirrored(features(points)[None])), features(points)[None])
    assert np.allclose(mirrored(features(points)[None]).reshape(21, 3)[:, 0], -features(points).reshape(21, 3)[:, 0])


@pytest.mark.parametrize("label, thumb_up", [("like", True), ("dislike", False)])
def test_crop_landmarks_find_the_thumb_where_the_gesture_puts_it(data_dir: Path, landmarker: HandLandmarker,
                                                                 label: str, thumb_up: bool) -> None:
    samples = [s for s in load_samples(data_dir, "val") if s.label == label][:12]
    found = right = 0
    for sample in samples:
        points, presence = crop_landmarks(landmarker, native_crop(sample))
        if presence >= 0.5:
            found += 1
            right += (points[THUMB_TIP, 1] < points[WRIST, 1]) == thumb_up
    assert found >= 9, f"the landmark model found {found} of 12 {label} hands"
    assert right >= found - 1, f"the thumb tip is on the {label} side in {right} of {found}"


def test_decisions_fall_back_to_the_cnn_where_no_hand_was_found() -> None:
    cnn = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.6, 0.2, 0.1]])
    mlp = np.array([[0.1, 0.1, 0.7, 0.1], [0.25, 0.25, 0.25, 0.25]])
    found = np.array([True, False])
    decided = decisions(cnn, mlp, found, weight=0.3)
    assert decided["cnn"].tolist() == [0, 1]
    assert decided["landmarks"].tolist() == [2, NONE]
    assert decided["fused"].tolist() == [2, 1]


def test_fusion_cli_trains_chooses_a_weight_and_reports_three_models(data_dir: Path, tmp_path: Path,
                                                                      four_label: tuple[Path, Path]) -> None:
    """On the shipped classifier's four-label network, as the research row was measured."""
    small = make_small_dataset(data_dir, tmp_path / "data", {"train": 30, "val": 8, "test": 8})
    out = tmp_path / "fusion"
    result = subprocess.run([sys.executable, "-m", "research.fusion", "--cnn", str(four_label[0]), "--data",
                             str(small), "--out", str(out), "--conditions", "grayscale", "--epochs", "10"],
                            cwd=ROOT, capture_output=True, text=True, check=True)
    assert (out / "mlp.pt").is_file()
    for row in ("| crops, clean |", "| crops, grayscale |"):
        assert row in result.stdout
    assert "fusion weight" in (out / "fusion.md").read_text()

"""The pose encoder taught gestures are matched with, on real crops: its command trains one that the landmark
model's metadata reader takes, and the shipped one puts other people's hands of a pose nearer each other than hands
of other poses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from runtime.custom_gestures import hand_embedding
from runtime.hand_landmarks import EMBEDDING_SIZE, HandLandmarker
from runtime.paths import landmark_model
from runtime.pose_encoder import pose_encoder_from
from runtime.settings import CustomGestureSettings
from tests.conftest import copy_rows, manifest_rows
from training import pose_encoder
from training.crop_landmarks import MIN_PRESENCE, landmarks_of_crops
from training.datasets import Sample

POSES = ("peace", "fist", "palm", "call")
"""Poses the command is trained on in its test."""
HELD_POSES = ("palm", "stop", "stop_inverted", "peace", "one", "mute", "rock", "call", "fist")
"""HaGRID poses with test crops enough to compare people's hands of them (open hands among them: palm and stop)."""


def embeddings(points: np.ndarray) -> np.ndarray:
    return np.stack([hand_embedding(p, CustomGestureSettings()) for p in points])


def nearest_is_same_pose(rows: np.ndarray, poses: np.ndarray) -> float:
    """The share of hands whose nearest other hand (`rows`: their embeddings or encodings) shows the same pose."""
    distances = np.linalg.norm(rows[:, None] - rows[None], axis=2)
    np.fill_diagonal(distances, np.inf)
    return float((poses[distances.argmin(axis=1)] == poses).mean())


def same_pose_nearer(rows: np.ndarray, poses: np.ndarray, people: np.ndarray) -> float:
    """How often two people's hands in one pose are nearer each other (`rows`: embeddings or encodings) than two
    people's hands in different poses: the area under the ROC curve of pair distances."""
    pairs = np.triu_indices(len(rows), 1)
    distances = np.linalg.norm(rows[:, None] - rows[None], axis=2)[pairs]
    apart = (people[:, None] != people[None])[pairs]
    same = (poses[:, None] == poses[None])[pairs]
    others = np.sort(distances[apart & ~same])
    return float((len(others) - np.searchsorted(others, distances[apart & same], side="right")).mean() / len(others))


def test_the_command_trains_an_encoder_the_metadata_reader_takes(data_dir: Path, tmp_path: Path) -> None:
    rows = [r for r in manifest_rows(data_dir) if r["kind"] == "crop" and r["split"] == "train"]
    kept = [r for name in POSES for r in [r for r in rows if r["source_class"] == name][:10]]
    data = copy_rows(data_dir, kept, tmp_path / "data")
    out = tmp_path / "pose_encoder.json"
    pose_encoder.main(["--data", str(data), "--epochs", "40", "--workers", "1", "--out", str(out)])
    encoder = pose_encoder_from({"pose_encoder": out.read_text(encoding="utf-8")}, EMBEDDING_SIZE)
    assert [weights.shape for weights, _ in encoder.layers] == [(128, 65), (128, 128), (32, 128)]
    points, poses = pose_encoder.crop_hands(pose_encoder.encoder_crops(data, 10), workers=1)
    assert len(points) >= 30
    encoded = encoder(embeddings(points))
    assert np.allclose(np.linalg.norm(encoded, axis=1), 1, atol=1e-5)
    assert nearest_is_same_pose(encoded, poses) >= 0.8, "the crops it was trained on"


def test_the_shipped_encoder_groups_other_peoples_hands_by_pose(data_dir: Path) -> None:
    rows = [r for r in manifest_rows(data_dir) if r["kind"] == "crop" and r["split"] == "test"]
    kept = [r for name in HELD_POSES for r in [r for r in rows if r["source_class"] == name][:40]]
    samples = [Sample(data_dir / r["path"], r["source_class"], r["group"]) for r in kept]
    found = landmarks_of_crops(samples, landmark_model(), workers=1)
    hand = found.presence >= MIN_PRESENCE
    poses, people = (np.asarray(values)[hand] for values in zip(*((s.label, s.group) for s in samples), strict=True))
    assert len(poses) >= 300
    shipped = HandLandmarker(landmark_model()).metadata.pose_encoder
    as_they_are = same_pose_nearer(embeddings(found.points[hand]), poses, people)
    through_encoder = same_pose_nearer(shipped(embeddings(found.points[hand])), poses, people)
    assert through_encoder >= 0.95 and as_they_are < through_encoder - 0.15, (through_encoder, as_they_are)


def test_the_command_says_when_there_is_nothing_to_train_on(data_dir: Path, tmp_path: Path) -> None:
    frames = [r for r in manifest_rows(data_dir) if r["kind"] == "frame"][:2]
    data = copy_rows(data_dir, frames, tmp_path / "data")
    with pytest.raises(SystemExit, match="no training or validation crops"):
        pose_encoder.main(["--data", str(data), "--out", str(tmp_path / "pose_encoder.json")])
    assert not (tmp_path / "pose_encoder.json").exists()

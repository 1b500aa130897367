"""AttentionHGR's attention pretraining on real crops: the hand masks drawn from the landmark model's points, the
pasted inputs, a location loss that the stages learn, and a checkpoint that `training.train --init` takes."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from research import attention_pretraining as pretraining
from tests.conftest import make_small_dataset
from training import train
from training.checkpoint import load_checkpoint
from training.models import build_model


@pytest.fixture(scope="module")
def small_data(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_small_dataset(data_dir, tmp_path_factory.mktemp("data"), {"train": 6, "val": 3}, frames=6)


@pytest.fixture(scope="module")
def located(small_data: Path) -> tuple[np.ndarray, np.ndarray]:
    return pretraining.located_crops(small_data, "train", None, 0)


def test_the_mask_covers_the_landmarks_and_not_the_whole_crop(located: tuple[np.ndarray, np.ndarray]) -> None:
    crops, points = located
    assert len(crops) >= 12 and points.shape == (len(crops), 21, 2)  # the model finds most of 24 real hands
    for crop_points in points:
        mask = np.asarray(pretraining.hand_mask(crop_points, crops.shape[1]))
        inside = np.clip(np.round(crop_points).astype(int), 0, crops.shape[1] - 1)
        assert (mask[inside[:, 1], inside[:, 0]] == 255).all()
        assert 0.05 < (mask > 0).mean() < 0.8


def test_a_pasted_hand_and_its_mask_stay_inside_the_pasted_square(small_data: Path,
                                                                   located: tuple[np.ndarray, np.ndarray]) -> None:
    hands = pretraining.LocatedHands(*located, pretraining.backgrounds(small_data), 160, fixed_seed=0)
    image, mask = hands[0]
    again_image, again_mask = hands[0]
    assert torch.equal(image, again_image) and torch.equal(mask, again_mask)  # the validation draw is fixed
    assert image.shape == (3, 160, 160) and mask.shape == (1, 160, 160)
    on_black = pretraining.LocatedHands(*located, np.zeros((1, 32, 32, 3), np.uint8), 160)
    for index in range(len(hands)):
        pasted, mask = (np.asarray(a) for a in on_black.paste(index, random.Random(index)))
        ys, xs = np.nonzero(mask)
        assert 0.1 * 160 < max(np.ptp(xs), np.ptp(ys)) <= pretraining.HAND_SHARE[1] * 160
        # the mask lies on the pasted crop (the black background shows everywhere else), mirrored with it
        shown = pasted.max(axis=2) > 0
        assert shown[mask > 0].mean() > 0.97
        shown_ys, shown_xs = np.nonzero(shown)
        assert shown_xs.min() <= xs.min() and xs.max() <= shown_xs.max()
        assert shown_ys.min() <= ys.min() and ys.max() <= shown_ys.max()


def test_the_stages_learn_where_the_hand_is(small_data: Path, located: tuple[np.ndarray, np.ndarray]) -> None:
    torch.manual_seed(0)
    hands = pretraining.LocatedHands(*located, pretraining.backgrounds(small_data), 160, fixed_seed=1)
    images, masks = (torch.stack(t) for t in zip(*(hands[i] for i in range(8)), strict=True))
    model = build_model("attention_hgr")
    optimizer = torch.optim.AdamW([*model.stage1.parameters(), *model.stage2.parameters()], lr=3e-3)
    losses = []
    for _ in range(25):
        loss = pretraining.location_loss(model.train(), images, masks)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_pretraining_writes_a_checkpoint_that_training_starts_from(small_data: Path, tmp_path: Path) -> None:
    pretraining.main(["--data", str(small_data), "--epochs", "1", "--batch-size", "4", "--workers", "0",
                      "--out", str(tmp_path / "located")])
    record = json.loads((tmp_path / "located" / "run.json").read_text())
    assert 0.0 <= record["epochs"][0]["val_iou_stage1"] <= 1.0 and record["val_crops"] > 0
    _, meta = load_checkpoint(tmp_path / "located" / "pretrained.pt")
    assert meta["model"] == "attention_hgr" and meta["pretrained_on"] == "hand location"
    train.main(["--model", "attention_hgr", "--data", str(small_data), "--init", str(tmp_path / "located" /
                "pretrained.pt"), "--epochs", "1", "--samples-per-epoch", "16", "--batch-size", "8", "--workers", "0",
                "--out", str(tmp_path / "run"), "--stop-after", "1"])
    assert json.loads((tmp_path / "run" / "run.json").read_text())["epochs"][0]["epoch"] == 1

"""More gestures as a branch (`training.train --freeze-blocks`, `training.graft`), on real crops: the branch keeps
the four-label model's first blocks, the grafted classifier gives like, dislike and ok the four-label model's own
probabilities and splits its `none` among the branch's labels, and a branch whose first blocks moved is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from runtime.paths import SHIPPED_CHECKPOINT
from training import graft, train
from training.cache import load_cached
from training.checkpoint import CheckpointError, load_checkpoint
from training.datasets import limit_per_class, load_samples
from training.gestures import LABEL_SETS
from training.inference import torch_probabilities
from training.models.efficientnet_lite import BRANCH_BLOCK

ADDED = LABEL_SETS["added"]


def train_branch(data_dir: Path, out: Path, freeze: int) -> Path:
    """A toy branch from the shipped classifier's four-label base: one epoch of two batches of real crops."""
    train.main(["--model", "efficientnet_lite0_slim", "--labels", "added", "--init", str(SHIPPED_CHECKPOINT),
                *(["--freeze-blocks", str(freeze)] if freeze else []), "--epochs", "1", "--samples-per-epoch", "16",
                "--batch-size", "8", "--limit-per-class", "4", "--lr", "1e-2", "--workers", "0",
                "--data", str(data_dir), "--out", str(out)])
    return out / "best.pt"


@pytest.fixture(scope="module")
def branch(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_branch(data_dir, tmp_path_factory.mktemp("branch"), BRANCH_BLOCK)


def test_the_graft_keeps_the_base_gestures_and_splits_its_none(branch: Path, data_dir: Path) -> None:
    shipped, _ = load_checkpoint(SHIPPED_CHECKPOINT)
    base = shipped.base
    trained, meta = load_checkpoint(branch)
    assert meta["labels"] == list(ADDED)
    assert graft.trunk_state(trained).keys() == graft.trunk_state(base).keys()
    assert all(torch.equal(trained.state_dict()[k], v) for k, v in graft.trunk_state(base).items())
    tail = trained._blocks[BRANCH_BLOCK]._project_conv.weight
    assert not torch.equal(tail, base._blocks[BRANCH_BLOCK]._project_conv.weight)  # the branch's own blocks trained

    model, labels = graft.graft(SHIPPED_CHECKPOINT, branch)  # a grafted classifier gives its four-label base
    assert labels == list(LABEL_SETS["extended"])
    crops = load_cached(limit_per_class(load_samples(data_dir, "test", "crop", tuple(labels)), 3),
                        labels=tuple(labels)).images
    grafted, four = torch_probabilities(model, crops, 112), torch_probabilities(base, crops, 112)
    np.testing.assert_allclose(grafted[:, :3], four[:, :3], atol=1e-5)
    np.testing.assert_allclose(grafted[:, 3:].sum(1), four[:, 3], atol=1e-5)
    branch_share = torch_probabilities(trained, crops, 112)
    np.testing.assert_allclose(grafted[:, 3:], four[:, 3:] * branch_share, atol=1e-5)


def test_a_branch_whose_first_blocks_moved_is_refused(data_dir: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    moved = train_branch(data_dir, tmp_path / "unfrozen", 0)
    with pytest.raises(CheckpointError, match=f"first {BRANCH_BLOCK} blocks differ"):
        graft.graft(SHIPPED_CHECKPOINT, moved)
    with pytest.raises(SystemExit):
        train.parse_args(["--model", "mobilenet_v3_small", "--freeze-blocks", "3"])
    assert "--freeze-blocks keeps --init's first blocks" in capsys.readouterr().err


def test_the_graft_command_writes_a_checkpoint_the_loader_reads(branch: Path, tmp_path: Path) -> None:
    out = tmp_path / "graft" / "classifier.pt"
    graft.main([str(SHIPPED_CHECKPOINT), str(branch), "--out", str(out)])
    _, meta = load_checkpoint(out)
    assert meta["model"] == graft.BRANCHED and meta["labels"] == list(LABEL_SETS["extended"])
    assert out.with_suffix(".run.json").is_file()
    with pytest.raises(SystemExit, match="a graft takes two"):
        graft.main([str(branch), str(out), "--out", str(tmp_path / "again.pt")])

"""Weights between two runs of one architecture (`training.interpolate`), on the kept checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from runtime.paths import ROOT, SHIPPED_CHECKPOINT
from training.checkpoint import CheckpointError, load_checkpoint
from training.interpolate import interpolate, main

WEIGHTS = ROOT / "research" / "weights"
FIRST, SECOND = WEIGHTS / "attention_hgr.pt", WEIGHTS / "attention_hgr_with_pretraining.pt"
"""Two kept runs of one small architecture (research results, not shipped)."""


def state(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path)[0].state_dict()


@pytest.mark.parametrize("weight", [0.0, 0.3, 1.0])
def test_mixed_weights_lie_on_the_line_between_the_runs(weight: float, tmp_path: Path) -> None:
    out = tmp_path / "mixed.pt"
    interpolate(FIRST, SECOND, weight, out)
    a, b, mixed = state(FIRST), state(SECOND), state(out)
    moved = 0
    for key, value in mixed.items():
        if value.is_floating_point():
            assert torch.allclose(value, (1 - weight) * a[key] + weight * b[key], atol=1e-6), key
            moved += not torch.equal(a[key], b[key])
        else:
            assert torch.equal(value, b[key]), key
    assert moved > 10, "the two runs differ, so the mix is a real test"
    assert load_checkpoint(out)[1]["interpolated"] == {"first": "research/weights/attention_hgr.pt",
                                                       "second": "research/weights/attention_hgr_with_pretraining.pt",
                                                       "weight": weight}
    record = json.loads(out.with_suffix(".run.json").read_text())
    kept = [json.loads(path.with_suffix(".run.json").read_text()) for path in (FIRST, SECOND)]
    assert [run["epochs"] for run in record["runs"]] == [run["epochs"] for run in kept]
    assert record["wall_seconds"] == pytest.approx(sum(run["wall_seconds"] for run in kept))
    paths = [value for run in record["runs"] for value in run["config"].values() if isinstance(value, str)]
    assert paths and not any(Path(value).is_absolute() for value in paths), "no machine's folders in the record"


def test_runs_of_different_architectures_or_shares_outside_0_1_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="one architecture"):
        interpolate(SHIPPED_CHECKPOINT, SECOND, 0.5, tmp_path / "mixed.pt")
    with pytest.raises(ValueError, match="between 0 and 1"):
        main([str(FIRST), str(SECOND), "--weight", "1.5", "--out", str(tmp_path / "mixed.pt")])
    assert not (tmp_path / "mixed.pt").exists()

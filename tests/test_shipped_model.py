"""The model the project ships (training/weights), and every research model kept in research/weights for a results
row, reproduces on the real test crops the figures recorded beside it (the ones docs/results.md quotes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime.paths import ROOT, SHIPPED_CHECKPOINT
from training import evaluate
from training.checkpoint import load_checkpoint
from training.gestures import LABEL_SETS
from training.models.efficientnet_lite import SlimWithBranch

KEPT = sorted([*SHIPPED_CHECKPOINT.parent.glob("*.pt"), *(ROOT / "research" / "weights").glob("*.pt")])


def test_shipped_checkpoint_is_complete() -> None:
    model, meta = load_checkpoint(SHIPPED_CHECKPOINT)
    assert meta["labels"] == list(LABEL_SETS["extended"]) and meta["input_size"] > 0
    assert meta["model"] == "efficientnet_lite0_slim_branched" and isinstance(model, SlimWithBranch)
    assert len(meta["mean"]) == len(meta["std"]) == 3


def test_the_shipped_model_is_among_the_kept_ones() -> None:
    assert SHIPPED_CHECKPOINT in KEPT


@pytest.mark.parametrize("checkpoint", KEPT, ids=[path.stem for path in KEPT])
def test_kept_model_reproduces_its_recorded_test_figures(checkpoint: Path, data_dir: Path) -> None:
    recorded = json.loads(checkpoint.with_suffix(".test.json").read_text())
    report = evaluate.evaluate(data_dir, "test", "crop", checkpoint)
    assert report["n"] == recorded["n"]
    # another CPU may round a borderline crop the other way; more than a couple of changes is a regression
    changed = sum(abs(a - b) for row, old in zip(report["confusion"], recorded["confusion"], strict=True)
                  for a, b in zip(row, old, strict=True)) // 2
    assert changed <= 2
    assert abs(report["macro_f1"] - recorded["macro_f1"]) < 1e-3

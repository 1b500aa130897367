"""The model the project ships reproduces, on the real test crops, the figures recorded beside it
(the ones the README quotes)."""

from __future__ import annotations

import json
from pathlib import Path

from runtime.paths import SHIPPED_CHECKPOINT
from training import evaluate
from training.checkpoint import load_checkpoint
from training.gestures import LABELS

RECORDED = SHIPPED_CHECKPOINT.with_suffix(".test.json")


def test_shipped_checkpoint_is_complete() -> None:
    _, meta = load_checkpoint(SHIPPED_CHECKPOINT)
    assert meta["labels"] == list(LABELS) and meta["input_size"] > 0
    assert len(meta["mean"]) == len(meta["std"]) == 3


def test_shipped_model_reproduces_its_recorded_test_figures(data_dir: Path) -> None:
    recorded = json.loads(RECORDED.read_text())
    report = evaluate.evaluate(data_dir, "test", "crop", SHIPPED_CHECKPOINT)
    assert report["n"] == recorded["n"]
    # another CPU may round a borderline crop the other way; more than a couple of changes is a regression
    changed = sum(abs(a - b) for row, old in zip(report["confusion"], recorded["confusion"], strict=True)
                  for a, b in zip(row, old, strict=True)) // 2
    assert changed <= 2
    assert abs(report["macro_f1"] - recorded["macro_f1"]) < 1e-3

"""Learning curves from a real run record (the kept AttentionHGR run's)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from research import curves
from runtime.paths import ROOT

RECORD = ROOT / "research" / "weights" / "attention_hgr.run.json"


def test_late_gain_says_whether_the_last_epochs_still_improved() -> None:
    assert curves.late_gain([0.1, 0.5, 0.4, 0.45], 2) == pytest.approx(-0.05)
    assert curves.late_gain([0.1, 0.5, 0.4, 0.6], 2) == pytest.approx(0.1)
    assert curves.late_gain([0.1, 0.5], 2) == 0.0


def test_curves_plot_and_summarise_a_run_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scores = [epoch["val_macro_f1"] for epoch in json.loads(RECORD.read_text())["epochs"]]
    curves.main([str(RECORD), "--out", str(tmp_path / "curves.png"), "--window", "3"])
    printed = capsys.readouterr().out
    best = max(range(len(scores)), key=scores.__getitem__)
    assert printed.startswith("attention_hgr: ")
    assert f"{len(scores)} epochs, best validation macro-F1 {scores[best]:.4f} at epoch {best + 1}" in printed
    assert f"{max(scores[-3:]) - max(scores[:-3]):+.4f}" in printed
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_record_without_epochs_is_refused_with_its_name(tmp_path: Path) -> None:
    empty = tmp_path / "fresh" / "run.json"
    empty.parent.mkdir()
    empty.write_text(json.dumps({"epochs": [], "wall_seconds": 0}))
    with pytest.raises(SystemExit, match="fresh: the run record has no finished epoch"):
        curves.main([str(empty), "--out", str(tmp_path / "c.png")])


def test_runs_are_named_by_their_folder_or_kept_file() -> None:
    assert curves.run_name(Path("runs/attention_hgr-30/run.json")) == "attention_hgr-30"
    assert curves.run_name(Path("research/weights/attention_hgr.run.json")) == "attention_hgr"

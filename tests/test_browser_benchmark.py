"""The browser benchmark (benchmarks.browser) on a short run in headless Chromium: it measures what docs/results.md's
browser figures say it measures, and a photo held still costs the widget no model run once its hands are found."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchmarks import browser
from tests.browser_harness import missing_system_tools


@pytest.fixture(scope="module")
def chromium() -> None:
    if missing := missing_system_tools():
        message = f"not installed: {', '.join(missing)} (`make setup` installs them)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def test_a_short_benchmark_run_reports_the_stream_and_held_poses(chromium: None, data_dir: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture) -> None:
    figures_file = tmp_path / "figures.json"
    assert browser.main(["--data", str(data_dir), "--parts", "stream", "held", "--limit", "8", "--held-none", "2",
                         "--held-gestures", "1", "--json", str(figures_file)]) == 0
    table = capsys.readouterr().out
    figures = json.loads(figures_file.read_text())
    stream, held = figures["stream"], figures["held"]
    assert figures["load"] is None and stream["photos"] == 8
    assert stream["frames_processed"] == len(stream["frames"]["total_ms"]) > 0
    assert held["photos"] == {"none": 2, "like": 1, "dislike": 1, "ok": 1}
    for name in ("none stream", "held poses"):
        assert f"| {name}: per-frame time, median |" in table
        assert f"| {name}: frames that ran no model (hands still, views unchanged) |" in table
    # a photo held still for 1.5 s: once its hand is found (or every view searched), frames follow that run no
    # model at all, and take a fraction of the time of those that do
    frames = held["frames"]
    idle = [total for total, looked, detected in zip(frames["total_ms"], frames["looked"], frames["detected"],
                                                     strict=True) if not looked and not detected]
    busy = [total for total, looked in zip(frames["total_ms"], frames["looked"], strict=True) if looked]
    assert len(idle) > len(frames["total_ms"]) / 3, f"{len(idle)} of {len(frames['total_ms'])} frames ran no model"
    assert busy and sorted(idle)[len(idle) // 2] < sorted(busy)[len(busy) // 2] / 3

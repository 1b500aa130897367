"""The time-to-reaction benchmark (benchmarks.time_to_reaction) on a short run: real held-out training photos
replayed through the tracker and hold-to-confirm give a row per gesture and hold, the false reactions of `none`
photos, and the idle streams' busy share; and the replay takes frames as the worker would."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from benchmarks import time_to_reaction
from benchmarks.time_to_reaction import HOLDS_S, Costs, PythonPlayer
from runtime.paths import classifier_model, landmark_model, palm_model
from runtime.pipeline import GesturePipeline
from runtime.tracking import HandTracker
from tests.browser_harness import missing_system_tools


def test_a_short_run_prints_every_table(data_dir: Path, capsys: pytest.CaptureFixture) -> None:
    assert time_to_reaction.main(["--data", str(data_dir), "--limit", "1", "--idle-seconds", "3"]) == 0
    table = capsys.readouterr().out
    for gesture in ("like", "dislike", "ok"):
        for hold in HOLDS_S:
            assert re.search(rf"^\| {gesture} \| {hold:.1f} s \| [01]/1 ", table, re.MULTILINE), (gesture, hold)
    assert re.search(r"^\| none photos held 2.5 s that fired \| [01] of 1 \|", table, re.MULTILINE)
    shares = re.findall(r"^\| idle, (?:still|with a 20 px sway) \| (\d+)% \| ([\d.]+) \|", table, re.MULTILINE)
    assert len(shares) == 2 and all(0 < int(share) <= 100 for share, _ in shares)
    found = re.search(r"hand raised into the swaying picture: found in (\d+) of 3", table)
    assert found and int(found[1]) >= 1
    streams = re.findall(r"^\| (gesture photos held|none photos held|the fast none|idle)[^|]*\| ([\d.]+) \| (\d+)% \| "
                         r"[\d.]+ ms \| (\d+), .* \| (\d+), .* \| (\d+), .* \|$", table, re.MULTILINE)
    assert [kind for kind, *_ in streams] == ["gesture photos held", "none photos held", "the fast none", "idle",
                                              "idle"], table
    for _, fps, busy, *ran in streams:  # frames come, cost a share of a core, and each ran something or nothing
        assert 0 < float(fps) <= 30 and 0 < int(busy) <= 100 and sum(map(int, ran)) > 0


def test_a_host_who_chose_one_gesture_gets_rows_for_it_and_the_others_photos_as_none(
        data_dir: Path, capsys: pytest.CaptureFixture) -> None:
    """`--gestures like`: the thumbs up photos are held, the thumbs down and OK ones join the `none` photos, and a
    gesture the classifier lacks is refused."""
    assert time_to_reaction.main(["--data", str(data_dir), "--limit", "3", "--gestures", "like", "--holds-s", "1.0",
                                  "--parts", "held", "none"]) == 0
    table = capsys.readouterr().out
    assert "gestures like;" in table
    assert re.search(r"^\| like \| 1.0 s \| [0-3]/3 ", table, re.MULTILINE), table
    assert not re.search(r"^\| (dislike|ok) \|", table, re.MULTILINE), table
    held = re.search(r"^\| none photos held 2.5 s that fired \| (\d+) of (\d+)", table, re.MULTILINE)
    assert held and int(held[2]) == 3
    with pytest.raises(SystemExit, match="no such gesture"):
        time_to_reaction.main(["--data", str(data_dir), "--limit", "1", "--gestures", "wave"])


def test_the_worker_takes_the_newest_frame_when_free_and_waits_when_idle() -> None:
    """Black frames (nothing to find, nothing moving) at 30 fps: the first frame runs the detector, then frames come
    at the classifier's idle_fps; with a busy frame of 100 ms, the frames in between are dropped."""
    pipeline = GesturePipeline(palm_model(), landmark_model(), classifier_model())
    player = PythonPlayer(HandTracker(pipeline), Costs(frame=1, palm=99, landmarks=0, classifier=0))
    frames, starts = player([(None, 2.0), (None, 1.0)])
    assert starts == [0.0, 2000.0] and {frame.segment for frame in frames} == {0, 1}
    starts = np.array([frame.start for frame in frames])
    assert frames[0].detected and starts[1] == pytest.approx(100.0)  # the frame at 100 ms, after 1 + 99 ms of work
    gaps, idle_gap = np.diff(starts[1:]), 1000 / pipeline.settings.idle_fps
    assert np.all(gaps >= idle_gap - 1e-6) and idle_gap <= np.median(gaps) < idle_gap + 1000 / 30


def test_a_short_run_in_the_browser_reads_the_widgets_frames(data_dir: Path, capsys: pytest.CaptureFixture) -> None:
    """The same tables from the widget in headless Chromium, and from MediaPipe's Gesture Recognizer on its own
    page: each held photo's frames are found by the marks on the camera's frames, so its hand is found at a time
    after the photo came into view; first visits of both pages timed; then the two compared."""
    if missing := missing_system_tools():
        message = f"not installed: {', '.join(missing)} (`make setup` installs them)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    assert time_to_reaction.main(["--data", str(data_dir), "--browser", "--with-mediapipe", "--limit", "1",
                                  "--holds-s", "1.0", "--parts", "held", "load", "--visits", "1"]) == 0
    ours, peer = capsys.readouterr().out.split("MediaPipe's Gesture Recognizer")
    for table in (ours, peer):  # the held photos' page and one first visit of each
        assert re.search(r"^load to first result, first visit: median \d+ ms over 2 pages", table, re.MULTILINE)
    for table in (ours, peer):
        rows = re.findall(r"^\| (like|dislike|ok) \| 1.0 s \| [01]/1 .* \| (\d+|nan) ms \| \d+ of (\d+) \(.*\) \|$",
                          table, re.MULTILINE)
        assert sorted(label for label, _, _ in rows) == ["dislike", "like", "ok"], table
        found = [int(ms) for _, ms, _ in rows if ms != "nan"]
        assert found and all(0 < ms < 2500 for ms in found), table
        assert all(int(frames) > 0 for _, _, frames in rows), table  # frames of every photo were processed
    assert re.search(r"^\| ok \| 1.0 s \| 0/1 ", peer, re.MULTILINE)  # MediaPipe has no OK sign
    assert re.search(r"^\| per-frame time, median \(held photos\) \| \d+ ms \| \d+ ms \| [\d.]+ \|$", peer,
                     re.MULTILINE)
    for figure in ("load to first result, first visit, median", "download, first visit, median"):
        row = re.search(rf"^\| {figure} \| ([\d.]+) (?:ms|MB) \| ([\d.]+) (?:ms|MB) \| [\d.]+ \|$", peer, re.MULTILINE)
        assert row and float(row[1]) > 0 and float(row[2]) > 0, figure

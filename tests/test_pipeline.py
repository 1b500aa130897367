"""The whole pipeline in Python (palm detector -> hand landmarks -> hand box -> classifier) on real whole frames,
the hand boxes' geometry, the `export.predict` command and frame evaluation through `training.evaluate`, and that
both run where PyTorch cannot be imported."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from export import pipeline_benchmark, predict, tune_pipeline
from runtime.hand_box import hand_box
from runtime.images import read_rgb
from runtime.palm_decode import PalmDetection
from runtime.paths import classifier_model, landmark_model, palm_model
from runtime.pipeline import GesturePipeline, Hand, gesture_decisions
from tests.conftest import copy_rows, make_small_dataset, manifest_rows
from training import evaluate

PER_LABEL = 6


def first_test_frames(data_dir: Path) -> list[dict[str, str]]:
    """The first few test-split frames of every label, in a fixed order."""
    rows = sorted((r for r in manifest_rows(data_dir) if r["kind"] == "frame" and r["split"] == "test"),
                  key=lambda r: r["path"])
    return [r for label in ("like", "dislike", "ok", "none")
            for r in [r for r in rows if r["label"] == label][:PER_LABEL]]


@pytest.fixture(scope="module")
def pipeline() -> GesturePipeline:
    return GesturePipeline(palm_model(), landmark_model(), classifier_model())


def test_pipeline_labels_real_test_frames(data_dir: Path, pipeline: GesturePipeline) -> None:
    rows = first_test_frames(data_dir)
    correct = 0
    for row in rows:
        image = read_rgb(data_dir / row["path"])
        prediction = pipeline(image)
        correct += prediction.label == row["label"]
        assert (prediction.box is None) == (prediction.label == "none")
        assert prediction.box is None or prediction.box in [hand.box for hand in prediction.hands]
        for hand in prediction.hands:
            left, top, right, bottom = hand.box
            assert 0 <= left < right <= image.shape[1] and 0 <= top < bottom <= image.shape[0]
            assert abs(sum(hand.probabilities.values()) - 1) < 1e-3
            assert hand.landmarks.presence >= pipeline.settings.min_presence
            # the whole hand, thumb and fingertips included, is in the classifier's square box
            xs = hand.landmarks.points[:, 0].clip(0, image.shape[1])
            ys = hand.landmarks.points[:, 1].clip(0, image.shape[0])
            assert left - 1 <= xs.min() and xs.max() <= right + 1 and top - 1 <= ys.min() and ys.max() <= bottom + 1
    assert correct >= 0.75 * len(rows)


def test_crops_are_decided_as_the_pipeline_decides_a_frame_with_that_one_hand(data_dir: Path,
                                                                              pipeline: GesturePipeline) -> None:
    labels, threshold = pipeline.classifier.labels, pipeline.settings.min_gesture_score
    hands = [hand for row in first_test_frames(data_dir) for hand in pipeline.hands(read_rgb(data_dir / row["path"]))]
    assert {hand.label for hand in hands} >= {"like", "dislike", "ok", "none"}, "every label among the real hands"
    # and each side of the threshold: a gesture just at it, just under it, and two gestures under it, none above
    at, under = [0.0] * len(labels), [0.0] * len(labels)
    at[labels.index("ok")], at[labels.index("none")] = threshold, 1 - threshold
    under[labels.index("like")], under[labels.index("none")] = threshold - 1e-3, 1 - threshold + 1e-3
    split, each = [0.0] * len(labels), min(threshold - 1e-3, 0.45)
    split[labels.index("like")], split[labels.index("dislike")], split[labels.index("none")] = each, each, 1 - 2 * each
    rows = [[hand.probabilities[label] for label in labels] for hand in hands] + [at, under, split]
    decided = gesture_decisions(np.asarray(rows), labels, threshold, pipeline.gestures)
    for row, index in zip(rows, decided, strict=True):
        hand = Hand((0, 0, 1, 1), 1.0, dict(zip(labels, row, strict=True)), hands[0].landmarks)
        assert labels[index] == pipeline.decide([hand]).label
    assert [labels[i] for i in decided[-3:]] == ["ok", "none", "none"]


def test_hand_box_grows_the_palm_towards_the_fingers_without_rotating() -> None:
    # a 40 px palm with the fingers pointing up (wrist below the middle finger's base)
    keypoints = np.zeros((7, 2), dtype=np.float32)
    keypoints[0], keypoints[2] = (120, 140), (120, 100)
    palm = PalmDetection(box=np.array([100, 100, 140, 140], dtype=np.float32), keypoints=keypoints, score=0.9)
    scale, shift = 1.8, 0.25
    left, top, right, bottom = hand_box(palm, 640, 480, scale, shift)
    assert right - left == bottom - top == round(scale * 40)
    assert (left + right) / 2 == pytest.approx(120, abs=1)
    assert (top + bottom) / 2 == pytest.approx(120 - shift * 40, abs=1)
    # fingers pointing down (thumbs down is often held so): the box moves down, and stays axis-aligned
    keypoints[0], keypoints[2] = (120, 100), (120, 140)
    left, top, right, bottom = hand_box(palm, 640, 480, scale, shift)
    assert (top + bottom) / 2 == pytest.approx(120 + shift * 40, abs=1)
    # at the image's edge the box is clipped to the image
    assert hand_box(palm, 130, 130, scale, shift)[2:] == (130, 130)


def test_predict_prints_gesture_score_and_box(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    frame = data_dir / next(r["path"] for r in first_test_frames(data_dir) if r["label"] == "ok")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    assert predict.main([str(frame), str(broken)]) == 1
    captured = capsys.readouterr()
    line = captured.out.strip().splitlines()[0]
    assert line.startswith(f"{frame}: ") and line.split()[1] in ("like", "dislike", "ok", "none")
    assert "hand box" in line or "no gesture shown" in line
    assert f"{broken}: cannot read image" in captured.err
    missing = tmp_path / "classifier.int8.onnx"
    assert predict.main(["--classifier", str(missing), str(frame)]) == 2
    assert f"{missing}: no such file" in capsys.readouterr().err


def test_frame_evaluation_writes_the_crop_report_shape(data_dir: Path, tmp_path: Path) -> None:
    rows = first_test_frames(data_dir)[::3]
    copy_rows(data_dir, rows, tmp_path)
    out = tmp_path / "frames.json"
    evaluate.main(["--data", str(tmp_path), "--split", "test", "--kind", "frame", "--json", str(out)])
    report = json.loads(out.read_text())
    assert report["n"] == len(rows) and report["kind"] == "frame" and report["labels"][-1] == "none"
    assert set(report) >= {"macro_f1", "per_class", "confusion", "labels", "n"}
    assert sum(map(sum, report["confusion"])) == len(rows)
    assert out.with_suffix(".png").is_file()


def test_pipeline_benchmark_times_each_part_on_real_frames(data_dir: Path, capsys: pytest.CaptureFixture) -> None:
    pipeline_benchmark.main(["--data", str(data_dir), "--frames", "8"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("8 test frames, onnxruntime 1 thread(s)")
    rows = {line[:24].strip(): [float(x) for x in line[24:].split()[:2]] for line in lines[2:]}
    assert set(rows) == {"palm detector", "hand landmarks", "classifier", "detected frame",
                         "tracked frame, moved", "tracked frame, still"}
    assert all(0 < median <= p95 for median, p95 in rows.values())
    assert rows["detected frame"][0] >= rows["palm detector"][0] + rows["hand landmarks"][0]
    # no palm detector on a tracked frame; hands held still run no model at all
    assert rows["tracked frame, still"][0] < rows["tracked frame, moved"][0] < rows["detected frame"][0]
    assert rows["tracked frame, moved"][0] >= rows["hand landmarks"][0] / 2


def test_tune_pipeline_prints_the_grid_best_first(data_dir: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    small = make_small_dataset(data_dir, tmp_path, {}, frames=3)
    tune_pipeline.main(["--data", str(small), "--split", "train", "--top", "6"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split(" train frames;")[0].isdigit() and "of the gesture frames" in lines[0]
    assert lines[1].split() == ["macro-F1", "palm", "presence", "gesture", "like", "dislike", "ok", "none"]
    rows = [[float(x) for x in line.split()] for line in lines[2:8]]
    assert len(rows) == 6 and [r[0] for r in rows] == sorted((r[0] for r in rows), reverse=True)
    assert all(r[1] in tune_pipeline.PALM_SCORES and r[2] in tune_pipeline.PRESENCES
               and r[3] in tune_pipeline.GESTURE_SCORES for r in rows)
    # photos held still: the higher hold-to-confirm's threshold, the fewer fire, none or gesture
    assert lines[8].startswith("held still") and lines[9].split() == ["threshold", "none", "fired", "gestures", "fired"]
    held = [[float(x) for x in line.split()] for line in lines[10:]]
    assert [row[0] for row in held] == list(tune_pipeline.REACTION_THRESHOLDS)
    assert all(later[1] <= earlier[1] and later[2] <= earlier[2] for earlier, later in itertools.pairwise(held))


def test_a_frame_is_decided_among_the_gestures_the_host_chose(data_dir: Path, pipeline: GesturePipeline) -> None:
    """Two real hands in one frame, a thumbs up and an OK sign: a host who chose only one of them gets that one
    whichever hand is the more confident, and `none` when it chose neither; a name the classifier lacks is refused."""
    hands = [hand for row in first_test_frames(data_dir) for hand in pipeline.hands(read_rgb(data_dir / row["path"]))]
    like = max((h for h in hands if h.label == "like"), key=lambda h: h.probabilities["like"])
    ok = max((h for h in hands if h.label == "ok"), key=lambda h: h.probabilities["ok"])
    labels = pipeline.classifier.labels
    assert pipeline.decide([like, ok]).label in {"like", "ok"}
    for gestures, expected in ((("like",), "like"), (("ok",), "ok"), (("dislike",), "none")):
        chosen = GesturePipeline(palm_model(), landmark_model(), pipeline.classifier, gestures=gestures)
        decision = chosen.decide([like, ok])
        assert decision.label == expected
        assert decision.score == pytest.approx(like.probabilities["like"] if expected == "like" else
                                               ok.probabilities["ok"] if expected == "ok" else
                                               1 - max(like.probabilities["dislike"], ok.probabilities["dislike"]))
        rows = np.asarray([[hand.probabilities[label] for label in labels] for hand in (like, ok)])
        assert [labels[i] for i in gesture_decisions(rows, labels, 0.4, gestures)] == [
            "like" if "like" in gestures else "none", "ok" if "ok" in gestures else "none"]
    with pytest.raises(ValueError, match="no such gesture"):
        GesturePipeline(palm_model(), landmark_model(), pipeline.classifier, gestures=("wave",))

"""Gestures taught from a few seconds of one person's hand, on real photos: learned or refused, recognised on other
people's photos of the pose and not on the classifier's own gestures, and the browser's twin deciding alike."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest

from benchmarks import few_shot
from benchmarks.few_shot import fires, jittered_views
from runtime.custom_gestures import (
    CustomGesture,
    TeachingError,
    decide_with_custom,
    hand_embedding,
    learn_gesture,
    mirrored,
    teaching_hand,
)
from runtime.hand_landmarks import HandLandmarker
from runtime.images import read_rgb
from runtime.paths import classifier_model, landmark_model, palm_model
from runtime.pipeline import GesturePipeline, Hand
from runtime.settings import CustomGestureSettings
from tests.conftest import copy_rows, manifest_rows
from tests.test_widget_modules import run_node

SETTINGS = CustomGestureSettings()
VIEWS = 12
"""Frames a teacher is seen in: about as many as a participant shows in a second."""


@pytest.fixture(scope="module")
def pipeline() -> GesturePipeline:
    return GesturePipeline(palm_model(), landmark_model(), classifier_model(), threads=1)


@pytest.fixture(scope="module")
def photos(data_dir: Path, pipeline: GesturePipeline) -> dict[str, list[tuple[str, np.ndarray, list[Hand]]]]:
    """Real training photos by source class: peace (every one), the classifier's gestures and four other poses (eight
    each), with the hands the pipeline finds in them."""
    wanted = {"peace": 99, "like": 8, "dislike": 8, "ok": 8, "fist": 8, "rock": 8, "call": 8, "mute": 8}
    found: dict[str, list[tuple[str, np.ndarray, list[Hand]]]] = {name: [] for name in wanted}
    for row in manifest_rows(data_dir):
        name = row["source_class"]
        if row["kind"] == "frame" and row["split"] == "train" and len(found.get(name, ())) < wanted.get(name, 0):
            image = read_rgb(data_dir / row["path"])
            found[name].append((row["path"], image, pipeline.hands(image)))
    return found


@pytest.fixture(scope="module")
def taught(photos: dict, pipeline: GesturePipeline) -> tuple[str, CustomGesture, list[Hand]]:
    return teach_v_sign(pipeline, photos["peace"])


def teach_v_sign(pipeline: GesturePipeline, photos: Iterable[tuple[str, np.ndarray, list[Hand]]],
                 ) -> tuple[str, CustomGesture, list[Hand]]:
    """A V sign taught from the first of `photos` (path, image, hands) whose teaching is accepted, seen in jittered
    regions as a held hand is frame by frame: its path, the gesture and the views."""
    for path, image, hands in photos:
        if not hands:
            continue
        views = jittered_views(pipeline, image, teaching_hand(hands), VIEWS, path)
        try:
            return path, learn(pipeline, "v-sign", [[view] for view in views]), views
        except TeachingError:
            continue
    pytest.fail("no photo of a V sign could be taught")


def learn(pipeline: GesturePipeline, name: str, frames: list[list[Hand]],
          taught: list[CustomGesture] = ()) -> CustomGesture:
    names = {"like": "thumbs up", "dislike": "thumbs down", "ok": "OK sign"}
    return learn_gesture(name, "✌️", frames, pipeline.gestures, names, list(taught),
                         pipeline.settings.min_gesture_score, SETTINGS, pipeline.landmarker.metadata.pose_encoder)


def held_fires(pipeline: GesturePipeline, gesture: CustomGesture, hands: list[Hand], seconds: float) -> bool:
    minimum, encoder = pipeline.settings.min_gesture_score, pipeline.landmarker.metadata.pose_encoder
    decided = decide_with_custom(pipeline.decide(hands), [gesture], pipeline.gestures, minimum, SETTINGS, encoder)
    return fires(decided, gesture.name, seconds, pipeline.classifier.metadata.reactions)


def test_an_embedding_forgets_place_size_and_tilt_but_keeps_which_way_the_hand_points() -> None:
    points = np.random.default_rng(0).uniform(0, 100, (21, 3))
    moved = points * 2.5 + np.array([40, -7, 0])
    moved[:, 2] = points[:, 2] * 2.5
    assert np.allclose(hand_embedding(points, SETTINGS), hand_embedding(moved, SETTINGS), atol=1e-5)
    turn = np.deg2rad(15)
    rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    tilted = points.copy()
    tilted[:, :2] = points[:, :2] @ rotation.T
    tilt = np.linalg.norm(hand_embedding(tilted, SETTINGS) - hand_embedding(points, SETTINGS))
    upside_down = points.copy()
    upside_down[:, 1] *= -1
    upside_down[:, 0] *= -1
    flip = np.linalg.norm(hand_embedding(upside_down, SETTINGS) - hand_embedding(points, SETTINGS))
    assert tilt < 0.4 < 1.9 < flip, (tilt, flip)  # a tilt moves the direction (cos, sin) and the box; upside down: 2
    mirror = points.copy()
    mirror[:, 0] *= -1
    assert np.allclose(mirrored(hand_embedding(points, SETTINGS))[0], hand_embedding(mirror, SETTINGS), atol=1e-5)


def test_a_taught_pose_fires_for_its_teacher_and_other_people_and_leaves_the_classifiers_gestures_alone(
        photos: dict, taught: tuple, pipeline: GesturePipeline) -> None:
    path, gesture, _ = taught
    peace = {p: hands for p, _, hands in photos["peace"]}
    assert held_fires(pipeline, gesture, peace[path], 1.0), "the teacher's own photo"
    others = [held_fires(pipeline, gesture, hands, 1.0) for p, hands in peace.items() if p != path]
    assert sum(others) >= 3, f"{sum(others)} of {len(others)} other people's V signs fired it"
    for name in ("like", "dislike", "ok"):
        for _, _, hands in photos[name]:
            before = pipeline.decide(hands)
            after = decide_with_custom(before, [gesture], pipeline.gestures, pipeline.settings.min_gesture_score,
                                       SETTINGS, pipeline.landmarker.metadata.pose_encoder)
            assert (after.label, after.score) == (before.label, before.score) or before.label == "none", name
    poses = [hands for name in ("fist", "rock", "call", "mute") for _, _, hands in photos[name]]
    false = sum(held_fires(pipeline, gesture, hands, 2.5) for hands in poses)
    assert false <= 1, f"{false} of {len(poses)} photos of fists, rocks, calls and mutes fired the V sign"


def test_teaching_is_refused_with_a_reason(photos: dict, taught: tuple, pipeline: GesturePipeline) -> None:
    _, gesture, views = taught
    frames = [[view] for view in views]
    refusals = {
        "name-taken": lambda: learn(pipeline, "v-sign", frames, [gesture]),
        "too-close": lambda: learn(pipeline, "peace-again", frames, [gesture]),
        "no-hand": lambda: learn(pipeline, "nothing", [[]] * 8 + frames[:2]),
        "unsteady": lambda: learn(pipeline, "changing", [*frames[:4], *([hands[0]] for hands in
                                                                        _fist_hands(photos)[:4])]),
    }
    like_path, like_image, like_hands = next(p for p in photos["like"] if p[2])
    like_views = jittered_views(pipeline, like_image, teaching_hand(like_hands), VIEWS, like_path)
    refusals["built-in"] = lambda: learn(pipeline, "thumb", [[view] for view in like_views])
    for code, teach in refusals.items():
        with pytest.raises(TeachingError) as refused:
            teach()
        assert refused.value.code == code, str(refused.value)
        assert code != "built-in" or "thumbs up" in str(refused.value)


def _fist_hands(photos: dict) -> list[list[Hand]]:
    return [hands for _, _, hands in photos["fist"] if hands]


def test_the_browser_learns_and_decides_as_python_on_real_hands(node: str, tmp_path: Path, photos: dict,
                                                                taught: tuple, pipeline: GesturePipeline) -> None:
    _, gesture, views = taught
    as_js = [{"box": list(h.box), "probabilities": h.probabilities, "landmarks": h.landmarks.points.tolist()}
             for h in views]
    frames = [hands for name in photos for _, _, hands in photos[name][:6]]
    frames_js = [[{"box": list(h.box), "probabilities": h.probabilities, "landmarks": h.landmarks.points.tolist()}
                  for h in hands] for hands in frames]
    decisions = [pipeline.decide(hands) for hands in frames]
    settings = {"matchDistance": SETTINGS.match_distance, "directionWeight": SETTINGS.direction_weight,
                "teachMs": SETTINGS.teach_ms, "minHandShare": SETTINGS.min_hand_share,
                "maxBuiltinShare": SETTINGS.max_builtin_share, "maxSpread": SETTINGS.max_spread,
                "minSeparation": SETTINGS.min_separation, "maxExamples": SETTINGS.max_examples, "encoder": {"layers": [
                    {"weights": weights.ravel().tolist(), "bias": bias.tolist()}
                    for weights, bias in pipeline.landmarker.metadata.pose_encoder.layers]}}
    answer = run_node(node, """
const s = input.settings;
const taught = custom.learnGesture('v-sign', '✌️', input.views.map((v) => [v]), input.builtin, {}, [], input.min, s);
const refusal = (() => {
  try { custom.learnGesture('again', '', input.views.map((v) => [v]), input.builtin, {}, [taught], input.min, s); }
  catch (e) { return [e.code, e.message]; }
})();
const decided = input.frames.map((hands, i) => custom.decideWithCustom({...input.decisions[i], hands}, [taught],
  input.builtin, input.min, s));
console.log(JSON.stringify({examples: taught.examples, refusal, decided: decided.map((d) => [d.gesture, d.confidence]),
  embedding: custom.handEmbedding(input.views[0].landmarks, s),
  exported: JSON.stringify([taught])}));""", tmp_path, views=as_js, frames=frames_js,
        decisions=[{"gesture": d.label, "confidence": d.score, "box": d.box} for d in decisions],
        builtin=list(pipeline.gestures), min=pipeline.settings.min_gesture_score, settings=settings)
    assert answer["embedding"] == pytest.approx(hand_embedding(views[0].landmarks.points, SETTINGS).tolist(), abs=1e-5)
    assert np.allclose(answer["examples"], gesture.examples, atol=1e-5)
    with pytest.raises(TeachingError) as python:
        learn(pipeline, "again", [[view] for view in views], [gesture])
    assert answer["refusal"] == [python.value.code, str(python.value)]
    fired = 0
    for decision, (label, confidence) in zip(decisions, answer["decided"], strict=True):
        expected = decide_with_custom(decision, [gesture], pipeline.gestures, pipeline.settings.min_gesture_score,
                                      SETTINGS, pipeline.landmarker.metadata.pose_encoder)
        assert (label, confidence) == (expected.label, pytest.approx(expected.score, abs=1e-5))
        fired += label == "v-sign"
    assert fired >= 2, "the frames include V signs the taught gesture recognises"
    exported = CustomGesture.from_json(json.loads(answer["exported"])[0])  # the browser's exportGestures()
    assert (exported.name, exported.emoji) == ("v-sign", "✌️")
    for decision, (label, confidence) in zip(decisions, answer["decided"], strict=True):
        again = decide_with_custom(decision, [exported], pipeline.gestures, pipeline.settings.min_gesture_score,
                                   SETTINGS, pipeline.landmarker.metadata.pose_encoder)
        assert (again.label, again.score) == (label, pytest.approx(confidence, abs=1e-5))


def test_the_few_shot_benchmark_runs(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [r for r in manifest_rows(data_dir) if r["split"] == "train"]
    kept = [r for kind, names in (("frame", ("peace", "fist", "like")), ("crop", ("peace", "fist", "like", "none")))
            for name in names for r in [r for r in rows if r["source_class"] == name and r["kind"] == kind][:4]]
    few_shot.main(["--data", str(copy_rows(data_dir, kept, tmp_path / "data")), "--k", "3", "--teachers", "2",
                   "--workers", "1", "--match-distance", "1.2"])  # each pose matched by an encoder of the 16 crops
    out = capsys.readouterr().out
    assert "12 train frames judged" in out
    for name in ("peace", "fist", "median"):
        assert out.count(f"\n{name}") == 2, out
    assert "match distance 1.2" in out
    assert out.count("teachings refused with k=3, by reason: ") == 2


def test_both_readers_read_how_taught_gestures_are_matched_alike(node: str, tmp_path: Path) -> None:
    shutil.copy(landmark_model(), tmp_path / "landmarks.onnx")
    answer = run_node(node, """
const s = metadata.landmarkSettings(metadata.readModelMetadata(read('landmarks.onnx'))).customGestures;
const encoder = s.encoder.layers.map(({weights, bias}) => [Array.from(weights), Array.from(bias)]);
console.log(JSON.stringify({...s, encoder}));""", tmp_path)
    read = HandLandmarker(landmark_model()).metadata
    python = read.custom_gestures
    assert python == SETTINGS
    layers = answer.pop("encoder")
    assert len(layers) == len(read.pose_encoder.layers) == 3
    for (weights, bias), (js_weights, js_bias) in zip(read.pose_encoder.layers, layers, strict=True):
        assert np.array_equal(weights.ravel(), np.float32(js_weights)) and np.array_equal(bias, np.float32(js_bias))
    assert answer == {"matchDistance": python.match_distance, "directionWeight": python.direction_weight,
                      "teachMs": python.teach_ms, "minHandShare": python.min_hand_share,
                      "maxBuiltinShare": python.max_builtin_share, "maxSpread": python.max_spread,
                      "minSeparation": python.min_separation, "maxExamples": python.max_examples}

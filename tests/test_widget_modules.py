"""The widget's pure JavaScript modules (static/widget/) under Node: they compute what the Python pipeline computes,
since the documented accuracy figures are measured in Python. Pixel for pixel: the letterboxed detector input and the
classifier's crops (Pillow's bilinear resize); number for number: anchors and decoded palms on the palm detector's
real outputs; key for key: the classifier's ONNX metadata, including the thresholds and hand box margin both sides
read from it (the landmark model's geometry: tests/test_widget_landmarks.py). The JavaScript-only tests in tests/js
run here too."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from PIL import Image

from runtime.classifier import OnnxClassifier, add_to_logit, parse_metadata, preprocess, read_metadata
from runtime.exposure import expose_bright_crop
from runtime.hand_box import landmark_box
from runtime.hand_landmarks import HandLandmarker
from runtime.images import read_rgb, resize_square
from runtime.metadata import MetadataError
from runtime.onnx_models import onnx_session
from runtime.palm_decode import PalmDetection, decode_detections, letterbox, ssd_anchors, to_image_pixels
from runtime.paths import ROOT, WIDGET_DIR, classifier_model, landmark_model, palm_model
from runtime.pipeline import GesturePipeline
from runtime.reactions import HoldToConfirm, RaisedHand
from runtime.settings import PipelineSettings, ReactionSettings
from runtime.tracking import has_motion, search_views, signature
from tests.conftest import manifest_rows, swayed_and_raised

FRAMES_PER_LABEL = 2
FRAME_SIDE = 640


def run_node(node: str, script: str, folder: Path, **inputs: Any) -> Any:
    """Run an ES module `script` that sees `input` (the JSON of `inputs`), `read(name)` (bytes of a file in
    `folder`) and the widget's modules as `palm`, `resample`, `metadata`, `pipeline`, `landmarks`, `custom`; it
    returns its answer by printing JSON."""
    (folder / "input.json").write_text(json.dumps(inputs))
    prelude = f"""
import {{readFileSync}} from 'node:fs';
const palm = await import({json.dumps((WIDGET_DIR / "palm.js").as_uri())});
const resample = await import({json.dumps((WIDGET_DIR / "resample.js").as_uri())});
const metadata = await import({json.dumps((WIDGET_DIR / "onnx-metadata.js").as_uri())});
const pipeline = await import({json.dumps((WIDGET_DIR / "pipeline.js").as_uri())});
const landmarks = await import({json.dumps((WIDGET_DIR / "landmarks.js").as_uri())});
const custom = await import({json.dumps((WIDGET_DIR / "custom-gestures.js").as_uri())});
const folder = {json.dumps(str(folder))};
const read = (name) => new Uint8Array(readFileSync(`${{folder}}/${{name}}`));
const floats = (name) => {{ const b = read(name); return new Float32Array(b.buffer, b.byteOffset, b.length / 4); }};
const input = JSON.parse(readFileSync(`${{folder}}/input.json`, 'utf8'));
"""
    result = subprocess.run([node, "--input-type=module", "-e", prelude + script], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def frames(data_dir: Path) -> list[np.ndarray]:
    """A few real photos per label (portrait and landscape), as uint8 RGB."""
    rows = sorted((r for r in manifest_rows(data_dir) if r["kind"] == "frame" and r["split"] == "test"),
                  key=lambda r: r["path"])
    chosen = []
    for label in ("like", "dislike", "ok", "none"):
        chosen += [r for r in rows if r["label"] == label][:FRAMES_PER_LABEL]
    images = []
    for row in chosen:
        with Image.open(data_dir / row["path"]) as image:
            images.append(np.asarray(image.convert("RGB")))
    return images


def write_rgba(image: np.ndarray, path: Path) -> None:
    rgba = np.concatenate([image, np.full((*image.shape[:2], 1), 255, np.uint8)], axis=2)
    path.write_bytes(rgba.tobytes())


def failed_subtests(tap: str) -> str:
    """Each failing subtest of node's TAP output: its `not ok` line (the name) and the lines that explain it, up to
    the next test."""
    failures, current = [], None
    for line in tap.splitlines():
        if line.lstrip().startswith("not ok"):
            current = [line]
            failures.append(current)
        elif line.lstrip().startswith(("ok ", "# Subtest:")) or re.match(r"^# (tests|pass|fail)", line):
            current = None
        elif current is not None and len(current) < 40:
            current.append(line)
    return "\n".join("\n".join(block) for block in failures)


def test_javascript_unit_tests(node: str) -> None:
    result = subprocess.run([node, "--test", str(ROOT / "tests" / "js")], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, failed_subtests(result.stdout) + "\n" + result.stderr[-2000:]


def test_pipeline_numbers_come_from_the_classifier_file_as_in_python(node: str, tmp_path: Path) -> None:
    """The thresholds and the hand box's margin were chosen in Python (export.tune_pipeline) and the classifier was
    trained on that box: the browser must use the very same numbers, which both read from the classifier file. The
    JS pipeline is checked to use them, not just to parse them: on a detector output with palms scoring on either
    side of the palm threshold, more palms than it may classify, a landmark model's presence on either side of
    its threshold, and a classifier answer on either side of the gesture threshold (float32 probabilities: not
    exactly at it)."""
    path = classifier_model()
    shutil.copy(path, tmp_path / "classifier.onnx")
    shutil.copy(landmark_model(), tmp_path / "landmarks.onnx")
    python = read_metadata(path)
    answer = run_node(node, """
const settings = metadata.classifierSettings(metadata.readModelMetadata(read('classifier.onnx')));
const regions = metadata.landmarkSettings(metadata.readModelMetadata(read('landmarks.onnx')));
const {minPalmScore, minPresence, minGestureScore, maxHands} = settings.pipeline;
const logit = (p) => Math.log(p / (1 - p));
// palms at anchors far apart: maxHands + 1 just above the palm threshold, one just below it
const anchors = Array.from({length: maxHands + 2}, (_, i) => 2 * (i * 4 * 24 + 12));
const regressors = new Float32Array(palm.NUM_ANCHORS * palm.NUM_COORDS);
const scores = new Float32Array(palm.NUM_ANCHORS).fill(-20);
anchors.forEach((anchor, i) => {
  regressors.set([0, 0, 20, 20, 0, 5, 0, 0, 0, -5], anchor * palm.NUM_COORDS);
  scores[anchor] = logit(i <= maxHands ? minPalmScore + 1e-3 : minPalmScore - 1e-3);
});
const detectPalms = async () => ({regressors, scores});
// a hand spread over the middle of the landmark model's input
const hand = Float32Array.from({length: 63}, (_, i) => (i % 3 === 2 ? 0 : 62 + ((i * 37) % 100)));
const run = async (gestureScore, presence) => {
  const {labels} = settings;
  const row = labels.map((label) => (label === settings.gestures[0] ? gestureScore
    : label === 'none' ? 1 - gestureScore : 0));
  const frames = new pipeline.FramePipeline({classifier: settings, landmarks: regions}, {detectPalms,
    markHand: async () => ({landmarks: hand, presence}),
    classify: async (input, count) => Float32Array.from({length: count * labels.length},
      (_, i) => row[i % labels.length])});
  const size = input.size;
  const palms = palm.decodeDetections(regressors, scores, palm.ssdAnchors(), 0.01)
    .map((p) => palm.toFramePixels(p, palm.letterboxView(size, size)));
  const result = await frames.process(new Uint8ClampedArray(size * size * 4), size, size);
  return {palms, regions: result.regions, hands: result.hands.map((h) => ({box: h.box, landmarks: h.landmarks})),
    gesture: result.gesture};
};
console.log(JSON.stringify({settings, above: await run(minGestureScore + 1e-3, minPresence + 1e-3),
  below: await run(minGestureScore - 1e-3, minPresence + 1e-3),
  absent: await run(minGestureScore + 1e-3, minPresence - 1e-3)}));
""", tmp_path, size=FRAME_SIDE)
    pipeline, reactions = python.pipeline, python.reactions
    assert answer["settings"]["pipeline"] == {
        "minPalmScore": pipeline.min_palm_score, "minPresence": pipeline.min_presence,
        "minGestureScore": pipeline.min_gesture_score, "maxHands": pipeline.max_hands,
        "handBoxMargin": pipeline.hand_box_margin, "stillChange": pipeline.still_change,
        "signatureSize": pipeline.signature_size, "redetectMs": pipeline.redetect_ms,
        "searchMotion": pipeline.search_motion, "motionShiftShare": pipeline.motion_shift_share,
        "motionSearchMs": pipeline.motion_search_ms,
        "idleSearchMs": pipeline.idle_search_ms, "idleFps": pipeline.idle_fps,
        "brightCropLuma": pipeline.bright_crop_luma, "brightCropTarget": pipeline.bright_crop_target,
        "brightCropNoneLogit": pipeline.bright_crop_none_logit}
    assert answer["settings"]["reactions"] == {"threshold": reactions.threshold, "hold": reactions.hold_ms,
                                               "cooldown": reactions.cooldown_ms}
    above, below, absent = answer["above"], answer["below"], answer["absent"]
    palms = [PalmDetection(np.asarray(p["box"]), np.asarray(p["keypoints"]), p["score"]) for p in above["palms"]]
    found = [p for p in palms if p.score >= pipeline.min_palm_score]
    assert len(palms) == pipeline.max_hands + 2 and len(found) == pipeline.max_hands + 1
    # the regions around the palms are the landmark model file's, as in Python
    landmarker = HandLandmarker(landmark_model())
    for region, palm_found in zip(above["regions"], found, strict=False):
        assert region == pytest.approx(asdict(landmarker.around_palm(palm_found)), abs=1e-3)
    assert len(above["regions"]) == pipeline.max_hands and len(above["hands"]) == pipeline.max_hands
    for hand in above["hands"]:
        points = np.asarray(hand["landmarks"])
        assert tuple(hand["box"]) == landmark_box(points, FRAME_SIDE, FRAME_SIDE, pipeline.hand_box_margin)
    assert above["gesture"] != "none" and below["gesture"] == "none"
    assert absent["hands"] == [] and absent["gesture"] == "none"


def test_anchors_and_tiles_match_python(node: str, tmp_path: Path) -> None:
    sizes = [(640, 480), (480, 640), (512, 683), (683, 512), (1280, 720), (300, 300), (333, 1000)]
    answer = run_node(node, """
console.log(JSON.stringify({
  anchors: Array.from(palm.ssdAnchors()),
  views: input.sizes.map(([w, h]) => palm.searchViews(w, h).map((t) => [t.x, t.y, t.side])),
  letterbox: input.sizes.map(([w, h]) => palm.letterboxView(w, h)),
}));""", tmp_path, sizes=sizes)
    np.testing.assert_allclose(np.asarray(answer["anchors"]).reshape(-1, 4), ssd_anchors(), atol=1e-7)
    for (width, height), views, view in zip(sizes, answer["views"], answer["letterbox"], strict=True):
        _, placed = letterbox(np.zeros((height, width, 3), np.uint8))
        assert view == {"x": -placed.left, "y": -placed.top, "side": placed.side}
        assert views == [[-placed.left, -placed.top, placed.side] if tile is None else [tile.x, tile.y, tile.side]
                         for tile in search_views(width, height)]


def test_detector_input_and_palms_match_python(node: str, frames: list[np.ndarray], tmp_path: Path) -> None:
    """On real photos: the letterboxed 192 x 192 input is Pillow's to the pixel, and the palms decoded from the
    detector's outputs are Python's."""
    session = onnx_session(palm_model(), "palm detector")
    settings = read_metadata(classifier_model()).pipeline
    cases, expected = [], []
    for i, image in enumerate(frames):
        tensor, placed = letterbox(image)
        regressors, scores = session.run(None, {session.get_inputs()[0].name: tensor})
        write_rgba(image, tmp_path / f"{i}.rgba")
        (tmp_path / f"{i}.regressors").write_bytes(regressors.astype(np.float32).tobytes())
        (tmp_path / f"{i}.scores").write_bytes(scores.astype(np.float32).tobytes())
        np.save(tmp_path / f"{i}.npy", tensor)
        palms = [to_image_pixels(p, placed) for p in decode_detections(regressors[0], scores[0], ssd_anchors(),
                                                                        settings.min_palm_score)]
        height, width = image.shape[:2]
        cases.append({"width": width, "height": height})
        expected.append([(p.box, p.keypoints, p.score) for p in palms])
    answer = run_node(node, """
const anchors = palm.ssdAnchors();
const out = input.cases.map(({width, height}, i) => {
  const view = palm.letterboxView(width, height);
  const square = resample.resizeRegion(read(`${i}.rgba`), width, height,
    {x: view.x, y: view.y, width: view.side, height: view.side}, 192, 192);
  const tensor = new Float32Array(3 * 192 * 192);
  resample.writeChannelsFirst(square, tensor);
  const palms = palm.decodeDetections(floats(`${i}.regressors`), floats(`${i}.scores`), anchors, input.minPalmScore)
    .map((p) => palm.toFramePixels(p, view));
  return {tensor: Array.from(tensor), palms};
});
console.log(JSON.stringify(out));""", tmp_path, cases=cases, minPalmScore=settings.min_palm_score)
    found = 0
    for i, (result, palms) in enumerate(zip(answer, expected, strict=True)):
        python_tensor = np.load(tmp_path / f"{i}.npy").reshape(-1)
        np.testing.assert_array_equal(np.asarray(result["tensor"], np.float32), python_tensor)
        assert len(result["palms"]) == len(palms)
        for js, (box, keypoints, score) in zip(result["palms"], palms, strict=True):
            np.testing.assert_allclose(js["box"], box, atol=1e-3)
            np.testing.assert_allclose(js["keypoints"], keypoints, atol=1e-3)
            assert js["score"] == pytest.approx(score, abs=1e-6)
            found += 1
    assert found >= len(frames) // 2, "too few palms found to compare"


def test_classifier_crops_match_python(node: str, frames: list[np.ndarray], tmp_path: Path) -> None:
    """Hand crops, resized and normalised for the classifier: the same numbers as runtime/pipeline.py's."""
    classifier = OnnxClassifier(classifier_model())
    size = classifier.input_size
    rng = np.random.default_rng(0)
    cases, expected = [], []
    for i, image in enumerate(frames):
        height, width = image.shape[:2]
        left, top = int(rng.integers(0, width // 2)), int(rng.integers(0, height // 2))
        side = int(rng.integers(20, min(width - left, height - top)))
        box = (left, top, left + side, top + side)
        crop = np.array(Image.fromarray(image).crop(box).resize((size, size), Image.Resampling.BILINEAR))
        expected.append(preprocess(crop[None], size, classifier.metadata.mean, classifier.metadata.std).reshape(-1))
        write_rgba(image, tmp_path / f"{i}.rgba")
        cases.append({"width": width, "height": height, "box": box})
    answer = run_node(node, """
const out = input.cases.map(({width, height, box: [l, t, r, b]}, i) => {
  const crop = resample.resizeRegion(read(`${i}.rgba`), width, height, {x: l, y: t, width: r - l, height: b - t},
    input.size, input.size);
  const tensor = new Float32Array(3 * input.size * input.size);
  resample.writeChannelsFirst(crop, tensor, 0, input.mean, input.std);
  return Array.from(tensor);
});
console.log(JSON.stringify(out));""", tmp_path, cases=cases, size=size, mean=list(classifier.metadata.mean),
                      std=list(classifier.metadata.std))
    for js, python in zip(answer, expected, strict=True):
        np.testing.assert_allclose(np.asarray(js, np.float32), python, atol=1e-6)


def test_over_exposed_crops_are_toned_down_as_in_python(node: str, frames: list[np.ndarray], tmp_path: Path) -> None:
    """The classifier's crops of real photos, as they are and made over-exposed (x1.8, clipped): the browser picks
    the same ones to tone down and gives the same pixels (runtime/exposure.py)."""
    classifier = OnnxClassifier(classifier_model())
    pipeline, size = classifier.metadata.pipeline, classifier.input_size
    crops = [resize_square(image, size) for image in frames]
    crops += [np.clip(crop.astype(np.float32) * 1.8, 0, 255).astype(np.uint8) for crop in crops]
    expected = [expose_bright_crop(crop, pipeline.bright_crop_luma, pipeline.bright_crop_target) for crop in crops]
    assert sum(e is not c for e, c in zip(expected, crops, strict=True)) >= len(frames) // 2, "too few toned down"
    assert any(e is c for e, c in zip(expected, crops, strict=True)), "no crop left alone"
    for i, crop in enumerate(crops):
        (tmp_path / f"{i}.rgb").write_bytes(crop.tobytes())
    shutil.copy(classifier_model(), tmp_path / "classifier.onnx")
    answer = run_node(node, """
const {brightCropLuma, brightCropTarget} = metadata.classifierSettings(
  metadata.readModelMetadata(read('classifier.onnx'))).pipeline;
console.log(JSON.stringify(Array.from({length: input.count},
  (_, i) => Array.from(resample.exposeBrightCrop(read(`${i}.rgb`), brightCropLuma, brightCropTarget)))));""",
                      tmp_path, count=len(crops))
    for js, python in zip(answer, expected, strict=True):
        np.testing.assert_array_equal(np.asarray(js, np.uint8), python.reshape(-1))


def test_toned_down_crops_lean_to_none_as_in_python(node: str, frames: list[np.ndarray], tmp_path: Path) -> None:
    """Hands in real photos, as they are and made over-exposed (x1.8, clipped), through the browser pipeline's
    `hands` with a classifier answering fixed probabilities: the crops Python tones down, and only those, get
    `bright_crop_none_logit` on their none logit, to within 1e-7 of `runtime.classifier.add_to_logit` (numpy sums the
    nine numbers pairwise, JavaScript in order)."""
    classifier = OnnxClassifier(classifier_model())
    pipeline, size, labels = classifier.metadata.pipeline, classifier.input_size, list(classifier.labels)
    assert pipeline.bright_crop_none_logit > 0
    images = list(frames) + [np.clip(f.astype(np.float32) * 1.8, 0, 255).astype(np.uint8) for f in frames]
    rng = np.random.default_rng(0)
    rows = rng.dirichlet(np.ones(len(labels)), size=len(images)).astype(np.float32)
    cases, toned = [], []
    for i, image in enumerate(images):
        height, width = image.shape[:2]
        # 21 landmarks on a grid over the middle of the photo
        xs, ys = np.meshgrid(np.linspace(0.3, 0.6, 7) * width, np.linspace(0.3, 0.5, 3) * height)
        points = np.stack([xs.ravel(), ys.ravel(), np.zeros(21)], axis=1)
        box = landmark_box(points, width, height, pipeline.hand_box_margin)
        crop = resize_square(Image.fromarray(image).crop(box), size)
        toned.append(expose_bright_crop(crop, pipeline.bright_crop_luma, pipeline.bright_crop_target) is not crop)
        write_rgba(image, tmp_path / f"{i}.rgba")
        cases.append({"width": width, "height": height, "landmarks": points.tolist()})
    assert any(toned) and not all(toned), f"toned down: {toned}"
    expected = add_to_logit(rows, labels.index("none"), pipeline.bright_crop_none_logit, np.array(toned))
    shutil.copy(classifier_model(), tmp_path / "classifier.onnx")
    shutil.copy(landmark_model(), tmp_path / "landmarks.onnx")
    answer = run_node(node, """
const settings = metadata.classifierSettings(metadata.readModelMetadata(read('classifier.onnx')));
const regions = metadata.landmarkSettings(metadata.readModelMetadata(read('landmarks.onnx')));
const out = [];
for (const [i, {width, height, landmarks}] of input.cases.entries()) {
  const frames = new pipeline.FramePipeline({classifier: settings, landmarks: regions}, {
    detectPalms: async () => { throw new Error('not used'); }, markHand: async () => { throw new Error('not used'); },
    classify: async () => Float32Array.from(input.rows[i])});
  const [hand] = await frames.hands(read(`${i}.rgba`), width, height, [{landmarks, presence: 1, region: null}]);
  out.push(settings.labels.map((label) => hand.probabilities[label]));
}
console.log(JSON.stringify(out));""", tmp_path, cases=cases, rows=rows.tolist())
    np.testing.assert_allclose(np.asarray(answer, np.float32), expected, rtol=0, atol=1e-7)
    assert not np.array_equal(expected[np.array(toned)], rows[np.array(toned)]), "toned-down rows moved"


def test_classifier_metadata_read_from_the_onnx_file(node: str, tmp_path: Path) -> None:
    path = classifier_model()
    shutil.copy(path, tmp_path / "classifier.onnx")
    answer = run_node(node, """
const props = metadata.readModelMetadata(read('classifier.onnx'));
console.log(JSON.stringify({props, settings: metadata.classifierSettings(props)}));""", tmp_path)
    assert answer["props"] == {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    python = read_metadata(path)
    settings = answer["settings"]
    assert settings["labels"] == list(python.labels)
    assert settings["gestures"] == list(python.gestures)
    assert settings["emoji"] == python.emoji
    assert settings["inputSize"] == python.input_size
    assert settings["mean"] == list(python.mean) and settings["std"] == list(python.std)


def test_both_readers_refuse_settings_with_a_key_misspelt(node: str, tmp_path: Path) -> None:
    """One key of the pipeline's or the reactions' numbers misspelt, their count unchanged: Python and the worker
    both refuse the classifier's metadata, naming the key (a reader that counted keys would take it, and then miss
    the number)."""
    path = classifier_model()
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    cases = []
    for key in ("pipeline", "reactions"):
        numbers = json.loads(props[key])
        first = next(iter(numbers))
        misspelt = {(name + "s" if name == first else name): value for name, value in numbers.items()}
        assert len(misspelt) == len(numbers)
        cases.append({**props, key: json.dumps(misspelt)})
        with pytest.raises(MetadataError, match=f'"{key}"'):
            parse_metadata(cases[-1])
    answer = run_node(node, """
console.log(JSON.stringify(input.cases.map((props) => {
  try { metadata.classifierSettings(props); return null; } catch (error) { return error.message; }
})));""", tmp_path, cases=cases)
    assert all(message and f'"{key}"' in message for message, key in zip(answer, ("pipeline", "reactions"),
                                                                           strict=True)), answer


def test_signatures_match_python(node: str, frames: list[np.ndarray], tmp_path: Path) -> None:
    """What decides that a hand or a view has not moved (runtime.tracking.signature) is the same integers in the
    worker, on real photos: a hand-sized box, the letterboxed frame's square (reaching past the frame's edges), a
    tile, a box smaller than the signature, and one past the frame's corner."""
    settings = read_metadata(classifier_model()).pipeline
    cases = []
    for index, image in enumerate(frames[::3]):
        height, width = image.shape[:2]
        write_rgba(image, tmp_path / f"{index}.rgba")
        side = max(width, height)
        left, top = -((side - width) // 2), -((side - height) // 2)
        for box in [(width // 3, height // 4, width // 3 + 97, height // 4 + 103), (left, top, left + side, top + side),
                    (0, 0, min(width, height) // 2, min(width, height) // 2), (5, 7, 11, 12),
                    (width - 40, height - 30, width + 60, height + 70)]:
            cases.append({"frame": index, "width": width, "height": height, "box": box})
    answer = run_node(node, """
console.log(JSON.stringify(input.cases.map(({frame, width, height, box}) =>
  Array.from(pipeline.signature(read(`${frame}.rgba`), width, height, box, input.size)))));""",
                      tmp_path, cases=cases, size=settings.signature_size)
    for case, values in zip(cases, answer, strict=True):
        expected = signature(frames[::3][case["frame"]], tuple(case["box"]), settings)
        assert values == expected.ravel().tolist(), case


def test_motion_matches_python(node: str, data_dir: Path, tmp_path: Path) -> None:
    """What wakes the detector with no hand tracked (runtime.tracking.has_motion) is the same decision in the
    worker, on real photos swayed, re-lit and with a hand raised into them, at the shipped numbers and others."""
    cases = [pair for first, swayed, raised in swayed_and_raised(data_dir, 6) for pair in ((first, swayed),
                                                                                          (first, raised))]
    numbers = [(36, 0.25), (36, 0), (20, 0.1), (50, 0.5)]
    answer = run_node(node, """
console.log(JSON.stringify(input.numbers.map(([searchMotion, share]) => input.cases.map(([before, now]) =>
  pipeline.hasMotion(now, before, input.size, searchMotion, share)))));""", tmp_path,
                      cases=[[before.ravel().tolist(), now.ravel().tolist()] for before, now in cases],
                      numbers=numbers, size=PipelineSettings().signature_size)
    for (search_motion, share), decisions in zip(numbers, answer, strict=True):
        settings = replace(PipelineSettings(), search_motion=search_motion, motion_shift_share=share)
        assert decisions == [has_motion(now, before, settings) for before, now in cases], (search_motion, share)
    assert any(answer[0]) and not all(answer[0])


CHOSEN = [None, ["like", "ok"], ["dislike"]]
"""The `gestures` option's values the hold-to-confirm parity test tries: every gesture, two, one."""


def test_hold_to_confirm_matches_python(node: str, tmp_path: Path) -> None:
    """Python's twin of hold-to-confirm (runtime.reactions, which the time-to-reaction benchmark replays) gives the
    widget's states, frame for frame: streams of gestures switching, weakening, dropping to none and back, at
    uneven frame times, with the shipped classifier's numbers and a short cooldown, with every gesture chosen and
    with only some (the `gestures` option)."""
    shipped = read_metadata(classifier_model()).reactions
    numbers = {"threshold": shipped.threshold, "hold": shipped.hold_ms, "cooldown": 600.0}
    rng = np.random.default_rng(0)
    streams = []
    for _ in range(20):
        time, frames, gesture = 0.0, [], "like"
        for _ in range(120):
            if rng.random() < 0.05:
                gesture = str(rng.choice(["like", "dislike", "ok", "none"]))
            time += float(rng.choice([16.7, 33.3, 66.7, 120.0]))
            frames.append([gesture, float(rng.choice([0.3, 0.55, 0.8, 0.95, 1.0], p=[0.1, 0.1, 0.2, 0.3, 0.3])), time])
        streams.append(frames)
    answer = run_node(node, f"""
const {{HoldToConfirm}} = await import({json.dumps((WIDGET_DIR / "reactions.js").as_uri())});
console.log(JSON.stringify(input.streams.map((frames, i) => {{
  const gate = new HoldToConfirm({{...input.numbers, gestures: input.chosen[i % input.chosen.length]}});
  return frames.map(([gesture, confidence, time]) => gate.update(gesture, confidence, time));
}})));""", tmp_path, streams=streams, numbers=numbers, chosen=CHOSEN)
    settings = ReactionSettings(numbers["threshold"], numbers["hold"], numbers["cooldown"])
    fired = 0
    for i, (frames, states) in enumerate(zip(streams, answer, strict=True)):
        gate = HoldToConfirm(settings, CHOSEN[i % len(CHOSEN)])
        for (gesture, confidence, time), state in zip(frames, states, strict=True):
            python = gate.update(gesture, confidence, time)
            assert (python.phase, python.gesture) == (state["phase"], state["gesture"])
            assert python.progress == pytest.approx(state["progress"], abs=1e-12)
            assert (python.reaction and asdict(python.reaction)) == state["reaction"]
            fired += python.reaction is not None
            chosen = CHOSEN[i % len(CHOSEN)]
            assert python.reaction is None or chosen is None or python.reaction.gesture in chosen
    assert fired > 10  # the streams do fire: the states compared include reactions


def test_raised_hand_matches_python(node: str, tmp_path: Path) -> None:
    """Python's twin of the raise-hand state (runtime.reactions.RaisedHand) raises and lowers on the widget's frames,
    frame for frame: streams of the gesture coming and going, weakening and lost, at uneven frame times, with
    lower() called now and then."""
    numbers = {"gesture": "raise_hand", "threshold": 0.8, "hold": 400.0, "lowerAfter": 700.0}
    rng = np.random.default_rng(1)
    streams = []
    for _ in range(20):
        time, frames, gesture = 0.0, [], "raise_hand"
        for _ in range(150):
            if rng.random() < 0.06:
                gesture = str(rng.choice(["raise_hand", "like", "none"]))
            time += float(rng.choice([16.7, 33.3, 66.7, 120.0, 400.0], p=[0.3, 0.3, 0.2, 0.15, 0.05]))
            lower = bool(rng.random() < 0.02)
            frames.append([gesture, float(rng.choice([0.3, 0.85, 0.95, 1.0], p=[0.1, 0.3, 0.3, 0.3])), time, lower])
        streams.append(frames)
    answer = run_node(node, f"""
const {{RaisedHand}} = await import({json.dumps((WIDGET_DIR / "reactions.js").as_uri())});
console.log(JSON.stringify(input.streams.map((frames) => {{
  const hand = new RaisedHand(input.numbers);
  return frames.map(([gesture, confidence, time, lower]) => [hand.update(gesture, confidence, time),
    lower && hand.lower()]);
}})));""", tmp_path, streams=streams, numbers=numbers)
    changes = []
    for frames, states in zip(streams, answer, strict=True):
        hand = RaisedHand(numbers["gesture"], numbers["threshold"], numbers["hold"], numbers["lowerAfter"])
        for (gesture, confidence, time, lower), (state, lowered) in zip(frames, states, strict=True):
            python = hand.update(gesture, confidence, time)
            assert (python.raised, python.change) == (state["raised"], state["change"])
            assert python.progress == pytest.approx(state["progress"], abs=1e-12)
            assert (lower and hand.lower()) == lowered
            changes.append(python.change)
    assert changes.count("raise") > 10 and changes.count("lower") > 5  # the streams do raise and lower


def test_a_frame_is_decided_among_the_chosen_gestures_as_in_python(node: str, data_dir: Path,
                                                                   tmp_path: Path) -> None:
    """The worker's `decide` and `GesturePipeline.decide` give one answer and confidence for real hands of real
    frames of each gesture (two each), put together two by two, for each gesture of the shipped classifier chosen
    alone, each two of them, the default ones and all of them."""
    pipeline = GesturePipeline(palm_model(), landmark_model(), classifier_model())
    rows = sorted((r for r in manifest_rows(data_dir) if r["kind"] == "frame" and r["split"] == "train"),
                  key=lambda r: r["path"])
    sources = ("like", "dislike", "ok", "palm", "peace", "rock", "call", "fist", "four")
    hands = [hand for source in sources for row in [r for r in rows if r["source_class"] == source][:2]
             for hand in pipeline.hands(read_rgb(data_dir / row["path"]))]
    pairs = [[first, second] for first, second in itertools.combinations(hands, 2)]
    labels, gestures = pipeline.classifier.labels, [label for label in pipeline.classifier.labels if label != "none"]
    chosen_sets = [*([list(chosen) for size in (1, 2) for chosen in itertools.combinations(gestures, size)]),
                   list(pipeline.classifier.default_gestures), gestures]
    python = []
    for chosen in chosen_sets:
        deciding = GesturePipeline(palm_model(), landmark_model(), pipeline.classifier, gestures=chosen)
        python.append([[deciding.decide(pair).label, deciding.decide(pair).score] for pair in pairs])
    answer = run_node(node, """
const decided = input.chosen.map((chosen) => input.pairs.map((pair) => {
  const {gesture, confidence} = pipeline.decide(pair.map((probabilities) => ({probabilities, box: [0, 0, 1, 1]})),
    chosen, input.minScore);
  return [gesture, confidence];
}));
console.log(JSON.stringify(decided));
""", tmp_path, chosen=chosen_sets, minScore=pipeline.settings.min_gesture_score,
                      pairs=[[hand.probabilities for hand in pair] for pair in pairs])
    assert len({label for answers in python for label, _ in answers}) == len(labels), "every answer among the cases"
    for chosen, ours, theirs in zip(chosen_sets, python, answer, strict=True):
        assert [label for label, _ in theirs] == [label for label, _ in ours], chosen
        assert np.allclose([score for _, score in theirs], [score for _, score in ours], atol=1e-6), chosen

"""The widget's hand landmark geometry (static/widget/landmarks.js) under Node against the Python runtime
(runtime/hand_landmarks.py, runtime/hand_box.py) on real photos: the landmark model's rotated input to the pixel,
the regions around real palms and around the real landmarks the model finds, the landmarks mapped back to the
frame, the classifier's box around them, and the landmark model file's metadata read alike by both."""

from __future__ import annotations

import math
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image

from runtime.hand_box import landmark_box
from runtime.hand_landmarks import HandLandmarker, RegionOfInterest, parse_landmark_metadata
from runtime.metadata import MetadataError
from runtime.paths import landmark_model, palm_model
from runtime.pipeline import PalmFinder
from runtime.settings import PipelineSettings
from tests.conftest import manifest_rows
from tests.test_widget_modules import run_node

PHOTOS_PER_LABEL = 3
COORDINATE_TOLERANCE = 1e-3
"""Pixels: Python computes some steps in float32 (the palm detector's outputs), the browser in float64."""


@pytest.fixture(scope="module")
def hands(data_dir: Path) -> list[tuple[np.ndarray, RegionOfInterest, np.ndarray, float]]:
    """Real test photos, each with the region around its best palm and the landmark model's raw output there:
    (image, region, the model's 63 outputs, presence)."""
    rows = sorted((r for r in manifest_rows(data_dir) if r["kind"] == "frame" and r["split"] == "test"),
                  key=lambda r: r["path"])
    finder = PalmFinder(palm_model(), PipelineSettings().min_palm_score, 1)
    landmarker = HandLandmarker(landmark_model())
    found = []
    for label in ("like", "dislike", "ok", "none"):
        for row in [r for r in rows if r["label"] == label][:PHOTOS_PER_LABEL]:
            image = np.asarray(Image.open(data_dir / row["path"]).convert("RGB"))
            for palm in finder.palms(image):
                region = landmarker.around_palm(palm)
                model_input = landmarker.model_input(Image.fromarray(image), region)
                output, presence, _ = landmarker.session.run(None, {landmarker.input_name: model_input})
                found.append((image, region, output.ravel(), float(presence.ravel()[0])))
    assert len(found) >= 2 * PHOTOS_PER_LABEL
    return found


def test_rotated_input_landmarks_regions_and_box_match_python(node: str, tmp_path: Path,
                                                              hands: list[tuple]) -> None:
    landmarker = HandLandmarker(landmark_model())
    size, margin = landmarker.metadata.input_size, PipelineSettings().hand_box_margin
    cases = []
    for i, (image, region, output, _) in enumerate(hands):
        rgba = np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
        (tmp_path / f"{i}.rgba").write_bytes(rgba.tobytes())
        (tmp_path / f"{i}.out").write_bytes(output.astype(np.float32).tobytes())
        cases.append({"width": image.shape[1], "height": image.shape[0], "region": asdict(region)})
    # a region turned a third of a turn and reaching past the frame's corner: black there, as Pillow's
    corner = RegionOfInterest(10.0, 15.0, 2.5 * hands[0][1].side, 2.1)
    shutil.copy(landmark_model(), tmp_path / "landmarks.onnx")
    answer = run_node(node, """
const settings = metadata.landmarkSettings(metadata.readModelMetadata(read('landmarks.onnx')));
const size = settings.inputSize;
const out = input.cases.map(({width, height, region}, i) => {
  const rgba = read(`${i}.rgba`);
  const crop = landmarks.cropRegion(rgba, width, height, region, size);
  const points = landmarks.landmarksFromOutput(region, floats(`${i}.out`), size);
  return {crop: Array.from(crop), points, next: landmarks.roiFromLandmarks(points, settings),
    box: landmarks.landmarkBox(points, width, height, input.margin)};
});
const {width, height} = input.cases[0];
const corner = Array.from(landmarks.cropRegion(read('0.rgba'), width, height, input.corner, size));
console.log(JSON.stringify({settings, out, corner}));""", tmp_path, cases=cases, margin=margin,
                      corner=asdict(corner))
    regions = {key: value for key, value in answer["settings"].items() if key != "customGestures"}  # its own test
    assert regions == {"inputSize": size, **{
        name: asdict(getattr(landmarker.metadata, key)) for name, key in (("palm", "palm_region"),
                                                                          ("landmarks", "landmark_region"))}}
    for (image, region, output, _), js in zip(hands, answer["out"], strict=True):
        picture = Image.fromarray(image)
        expected_crop = np.asarray(region.crop(picture, size))
        np.testing.assert_array_equal(np.asarray(js["crop"], np.uint8).reshape(size, size, 3), expected_crop)
        points = np.concatenate([region.to_image(output.reshape(-1, 3)[:, :2], size),
                                 output.reshape(-1, 3)[:, 2:] * region.side / size], axis=1)
        np.testing.assert_allclose(js["points"], points, atol=COORDINATE_TOLERANCE)
        expected_next = landmarker.around_hand(points)
        assert js["next"] == pytest.approx(asdict(expected_next), abs=COORDINATE_TOLERANCE)
        assert tuple(js["box"]) == landmark_box(points, image.shape[1], image.shape[0], margin)
    expected_corner = np.asarray(corner.crop(Image.fromarray(hands[0][0]), size))
    assert (expected_corner == 0).all(axis=2).mean() > 0.3, "the region should reach well past the frame"
    np.testing.assert_array_equal(np.asarray(answer["corner"], np.uint8).reshape(size, size, 3), expected_corner)


def test_regions_around_real_palms_match_python(node: str, tmp_path: Path, data_dir: Path) -> None:
    rows = sorted((r for r in manifest_rows(data_dir) if r["kind"] == "frame" and r["split"] == "test"),
                  key=lambda r: r["path"])[:40]
    finder = PalmFinder(palm_model(), PipelineSettings().min_palm_score, 2)
    landmarker = HandLandmarker(landmark_model())
    palms = [palm for row in rows for palm in finder.palms(np.asarray(Image.open(data_dir / row["path"])
                                                                      .convert("RGB")))]
    assert len(palms) >= 20
    shutil.copy(landmark_model(), tmp_path / "landmarks.onnx")
    answer = run_node(node, """
const settings = metadata.landmarkSettings(metadata.readModelMetadata(read('landmarks.onnx')));
console.log(JSON.stringify(input.palms.map((p) => landmarks.roiFromPalm(p, settings))));""", tmp_path,
                      palms=[{"box": p.box.tolist(), "keypoints": p.keypoints.tolist()} for p in palms])
    rotations = []
    for palm, js in zip(palms, answer, strict=True):
        expected = landmarker.around_palm(palm)
        assert js == pytest.approx(asdict(expected), abs=COORDINATE_TOLERANCE)
        rotations.append(expected.rotation)
    assert np.ptp(rotations) > math.pi / 4, "palms turned several ways"


def test_both_readers_refuse_a_landmark_model_without_its_regions_alike(node: str, tmp_path: Path) -> None:
    short_layer = '{"layers": [{"weights": "AACAPw==", "bias": "AACAPw=="}]}'  # one weight where 65 are needed
    cases = {"palm_region": None, "landmark_region": '{"scale": 2.0}', "input_size": "-3",
             "custom_gestures": '{"match_distance": 0.8}', "pose_encoder": short_layer}
    for key, value in cases.items():
        model = onnx.load(landmark_model())
        metadata = {p.key: p.value for p in model.metadata_props if p.key != key}
        if value is not None:
            metadata[key] = value
        with pytest.raises(MetadataError) as python:
            parse_landmark_metadata(metadata)
        js = run_node(node, """
try { metadata.landmarkSettings(input.metadata); console.log(JSON.stringify(null)); }
catch (error) { console.log(JSON.stringify(error.message)); }""", tmp_path, metadata=metadata)
        assert js == str(python.value), key
        assert f'"{key}"' in js

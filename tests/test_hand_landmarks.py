"""MediaPipe's hand landmark model: the PyTorch rebuild and the ONNX file built at set-up against the TFLite
interpreter on real hands, MediaPipe's region of interest around a palm, landmarks that find the hand in real
frames, and clear errors on missing files."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from PIL import Image

from export.hand_landmarks import load_hand_landmarks
from export.mediapipe_weights import hand_landmark_model_path
from runtime.hand_landmarks import (
    INPUT_SIZE,
    PALM_REGION,
    HandLandmarker,
    RegionOfInterest,
    landmark_metadata,
    roi_from_palm,
)
from runtime.onnx_models import ModelFileError
from runtime.palm_decode import PalmDetection
from runtime.paths import landmark_model, palm_model
from runtime.pipeline import PalmFinder
from runtime.settings import PipelineSettings
from tests.conftest import manifest_rows

FRAMES_PER_GESTURE = 8
LANDMARK_TOLERANCE = 0.01  # input pixels of 224; measured: 2.5e-4 (rebuild) and 2e-4 (float16 ONNX)
SCORE_TOLERANCE = 1e-4  # measured: 2e-6


@pytest.fixture(scope="module")
def hands(data_dir: Path) -> list[tuple[Image.Image, PalmDetection]]:
    """The first training frames of each gesture with the best palm the pipeline finds in each (training frames:
    none of this chooses anything)."""
    rows = sorted((r for r in manifest_rows(data_dir) if r["kind"] == "frame" and r["split"] == "train"),
                  key=lambda r: r["path"])
    settings = PipelineSettings()
    finder = PalmFinder(palm_model(), settings.min_palm_score, 1)
    found = []
    for label in ("like", "dislike", "ok"):
        for row in [r for r in rows if r["label"] == label][:FRAMES_PER_GESTURE]:
            with Image.open(data_dir / row["path"]) as opened:
                image = opened.convert("RGB")
            found += [(image, palm) for palm in finder.palms(np.asarray(image))]
    assert len(found) >= 0.8 * 3 * FRAMES_PER_GESTURE
    return found


@pytest.mark.parametrize("variant", ["lite", "full"])
def test_rebuild_and_export_match_the_tflite_interpreter_on_real_hands(
        hands: list[tuple[Image.Image, PalmDetection]], variant: str) -> None:
    litert = pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert (the dev extra) is needed")
    interpreter = litert.Interpreter(model_path=str(hand_landmark_model_path(variant)), num_threads=1)
    interpreter.allocate_tensors()
    rebuilt = load_hand_landmarks(variant=variant)
    exported = HandLandmarker(landmark_model()) if variant == "lite" else None  # set-up builds the lite one
    for image, palm in hands[::3]:
        model_input = HandLandmarker.model_input(image, roi_from_palm(palm, PALM_REGION))
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], model_input.transpose(0, 2, 3, 1).copy())
        interpreter.invoke()
        expected = [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]
        with torch.no_grad():
            answers = [[t.numpy() for t in rebuilt(torch.from_numpy(model_input))]]
        if exported is not None:
            answers.append(exported.session.run(None, {exported.input_name: model_input}))  # no world landmarks
        for answer in answers:
            for got, want, tolerance in zip(answer, expected, (LANDMARK_TOLERANCE, SCORE_TOLERANCE, SCORE_TOLERANCE,
                                                               LANDMARK_TOLERANCE), strict=False):
                np.testing.assert_allclose(got, want, rtol=0, atol=tolerance)


def test_landmarks_find_the_hand_around_real_palms(hands: list[tuple[Image.Image, PalmDetection]]) -> None:
    landmarker = HandLandmarker(landmark_model())
    results = [(landmarker(image, landmarker.around_palm(palm)), palm) for image, palm in hands]
    present = [(result, palm) for result, palm in results if result.presence >= PipelineSettings().min_presence]
    assert len(present) >= 0.85 * len(results)  # measured: 23 of 24
    for result, palm in present:
        side = max(palm.box[2] - palm.box[0], palm.box[3] - palm.box[1])
        # the wrist landmark lands on the palm detector's wrist keypoint (measured: within 0.5 palm sides)
        assert np.hypot(*(result.points[0, :2] - palm.keypoints[0])) <= 0.6 * side
        # every landmark lies within the region the model looked at
        roi = result.roi
        assert np.hypot(result.points[:, 0] - roi.x, result.points[:, 1] - roi.y).max() <= roi.side / math.sqrt(2)


def test_region_of_interest_is_mediapipes() -> None:
    keypoints = np.zeros((7, 2), dtype=np.float32)
    keypoints[0], keypoints[2] = (120, 140), (120, 100)  # fingers up: no rotation, moved up half a palm
    upright = roi_from_palm(PalmDetection(np.array([100, 100, 140, 140], np.float32), keypoints, 0.9), PALM_REGION)
    assert upright == pytest.approx(RegionOfInterest(120, 100, PALM_REGION.scale * 40, 0.0))
    keypoints[0], keypoints[2] = (100, 120), (140, 120)  # fingers to the right: turned a quarter, moved right
    right = roi_from_palm(PalmDetection(np.array([100, 100, 140, 140], np.float32), keypoints, 0.9), PALM_REGION)
    assert right == pytest.approx(RegionOfInterest(140, 120, PALM_REGION.scale * 40, math.pi / 2))
    # the top of the model's input is where the fingers point, and its centre is the region's
    top_centre, centre = right.to_image(np.array([[INPUT_SIZE / 2, 0], [INPUT_SIZE / 2, INPUT_SIZE / 2]]))
    assert top_centre == pytest.approx([140 + right.side / 2, 120]) and centre == pytest.approx([140, 120])


def test_the_crop_shows_what_to_image_points_at() -> None:
    """A bright dot in the image appears in the rotated crop where `to_image` says the crop's pixel comes from."""
    image = Image.new("RGB", (320, 240))
    image.putpixel((200, 90), (255, 255, 255))
    roi = RegionOfInterest(180, 120, 104, math.radians(30))
    crop = np.asarray(roi.crop(image)).sum(axis=2)
    v, u = np.unravel_index(np.argmax(crop), crop.shape)
    assert roi.to_image(np.array([[u + 0.5, v + 0.5]]))[0] == pytest.approx([200.5, 90.5], abs=0.6)


def test_missing_models_name_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "hand_landmark_lite.onnx"
    with pytest.raises(ModelFileError, match=f"{re.escape(str(missing))}.*hand landmark model"):
        HandLandmarker(missing)
    with pytest.raises(FileNotFoundError, match=f"hand landmark model not found: {re.escape(str(tmp_path))}"):
        load_hand_landmarks(tmp_path / "hand_landmark_lite.tflite")


def test_a_landmark_model_without_its_regions_is_refused_with_its_path(tmp_path: Path) -> None:
    """The regions travel in the model file (for the browser too): a file without them, or built for another
    input, names itself and what it lacks."""
    model = onnx.load(landmark_model())
    assert {p.key: p.value for p in model.metadata_props}.items() >= landmark_metadata().items()
    for key, value in (("palm_region", None), ("landmark_region", '{"scale": 2}'), ("input_size", "0")):
        broken = onnx.load(landmark_model())
        kept = [p for p in broken.metadata_props if p.key != key]
        del broken.metadata_props[:]
        broken.metadata_props.extend(kept)
        if value is not None:
            broken.metadata_props.add(key=key, value=value)
        path = tmp_path / f"without-{key}.onnx"
        onnx.save(broken, path)
        with pytest.raises(ModelFileError, match=f'{re.escape(str(path))}: its metadata .*"{key}".*expected'):
            HandLandmarker(path)

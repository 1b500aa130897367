"""MediaPipe's palm detector rebuilt in PyTorch: the same numbers as TFLite, palms found in real photos,
the same numbers again from the ONNX export, MediaPipe's anchors and NMS, and clear errors on bad files."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from PIL import Image

from export.mediapipe_weights import MediaPipeWeightsError, extract_model, palm_model_path
from export.palm_detector import detect_palms, export_onnx, load_palm_detector
from runtime.palm_decode import (
    INPUT_SIZE,
    NUM_ANCHORS,
    Letterbox,
    PalmDetection,
    decode_boxes,
    letterbox,
    ssd_anchors,
    to_image_pixels,
    weighted_nms,
)
from tests.conftest import manifest_rows

FRAMES_PER_GESTURE = 7
TFLITE_TOLERANCE = 1e-3  # measured: 1.1e-4 on regressors of magnitude up to ~130, 2e-5 on score logits


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def gesture_frames(data_dir: Path) -> list[Path]:
    """The first few test-split photos of each gesture, in a fixed order."""
    rows = sorted((r for r in manifest_rows(data_dir) if r["kind"] == "frame" and r["split"] == "test"),
                  key=lambda r: r["path"])
    return [data_dir / r["path"] for label in ("like", "dislike", "ok")
            for r in [r for r in rows if r["label"] == label][:FRAMES_PER_GESTURE]]


def read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


@pytest.mark.parametrize("variant", ["lite", "full"])
def test_rebuild_matches_the_tflite_interpreter_on_a_real_frame(data_dir: Path, variant: str) -> None:
    litert = pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert (the dev extra) is needed")
    path = palm_model_path(variant)
    image, _ = letterbox(read_rgb(gesture_frames(data_dir)[0]))
    with torch.no_grad():
        regressors, scores = load_palm_detector(path)(torch.from_numpy(image))
    interpreter = litert.Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image.transpose(0, 2, 3, 1).copy())
    interpreter.invoke()
    expected = {d["name"]: interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()}
    np.testing.assert_allclose(regressors.numpy(), expected["Identity"], rtol=0, atol=TFLITE_TOLERANCE)
    np.testing.assert_allclose(scores.numpy(), expected["Identity_1"], rtol=0, atol=TFLITE_TOLERANCE)


def test_finds_a_palm_inside_most_real_gesture_frames(data_dir: Path) -> None:
    detector = load_palm_detector()
    frames = gesture_frames(data_dir)
    found = 0
    for path in frames:
        image = read_rgb(path)
        palms = detect_palms(detector, image, min_score=0.5)
        if not palms:
            continue
        found += 1
        height, width = image.shape[:2]
        xmin, ymin, xmax, ymax = palms[0].box
        assert 0 <= xmin < xmax <= width and 0 <= ymin < ymax <= height, f"{path.name}: box {palms[0].box}"
        assert all(p.score >= 0.5 for p in palms)
    assert len(frames) == 3 * FRAMES_PER_GESTURE
    assert found >= 0.8 * len(frames), f"a palm found in only {found} of {len(frames)} frames"


def test_onnx_export_matches_pytorch(tmp_path: Path) -> None:
    detector = load_palm_detector()
    path = export_onnx(detector, tmp_path / "palm_detection_lite.onnx")
    model = onnx.load(str(path))
    assert {n.op_type for n in model.graph.node} <= {"Conv", "PRelu", "Add", "MaxPool", "Pad", "Resize", "Transpose",
                                                     "Reshape", "Concat", "Cast"}
    # weights stored as float16 (as in the .tflite file), cast to float32 when loaded: half the file
    floats = [t.data_type for t in model.graph.initializer if len(t.dims) > 0
              and t.data_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)]
    assert floats and set(floats) == {onnx.TensorProto.FLOAT16}
    assert {p.key: p.value for p in model.metadata_props}["input_range"] == "[0.0, 1.0]"
    image = np.random.default_rng(0).random((1, 3, INPUT_SIZE, INPUT_SIZE), dtype=np.float32)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    regressors, scores = session.run(["regressors", "scores"], {"image": image})
    with torch.no_grad():
        expected_regressors, expected_scores = detector(torch.from_numpy(image))
    np.testing.assert_allclose(regressors, expected_regressors.numpy(), rtol=0, atol=1e-3)
    np.testing.assert_allclose(scores, expected_scores.numpy(), rtol=0, atol=1e-3)


def test_missing_model_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "palm_detection_lite.tflite"
    with pytest.raises(FileNotFoundError, match=re.escape(str(path))):
        load_palm_detector(path)


def test_corrupt_model_files_name_the_path(tmp_path: Path) -> None:
    garbage, truncated = tmp_path / "garbage.tflite", tmp_path / "truncated.tflite"
    garbage.write_bytes(b"this is not a flatbuffer" * 10)
    truncated.write_bytes(palm_model_path().read_bytes()[:50_000])
    for path in (garbage, truncated):
        with pytest.raises(ValueError, match=re.escape(str(path))):
            load_palm_detector(path)


def test_wheel_without_the_model_says_what_was_expected_where(tmp_path: Path) -> None:
    wheel = tmp_path / "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("mediapipe/__init__.py", "")
        archive.writestr("mediapipe/modules/palm_detection/palm_detection_full.tflite", b"not the pinned model")
    with pytest.raises(MediaPipeWeightsError,
                       match=f"{re.escape(str(wheel))} has no mediapipe/modules/palm_detection/palm_detection_lite"):
        extract_model(wheel, "palm_detection_lite.tflite", tmp_path / "out.tflite")
    with pytest.raises(MediaPipeWeightsError, match="SHA-256"):
        extract_model(wheel, "palm_detection_full.tflite", tmp_path / "out.tflite")
    assert not (tmp_path / "out.tflite").exists()


def test_anchors_are_mediapipes() -> None:
    anchors = ssd_anchors()
    assert anchors.shape == (NUM_ANCHORS, 4) == (2016, 4)
    assert np.all(anchors[:, 2:] == 1.0)  # fixed_anchor_size
    # stride 8: 24 x 24 cells, 2 anchors each; then stride 16: 12 x 12 cells, 6 anchors each
    np.testing.assert_allclose(anchors[[0, 1, 2, 47, 48]][:, :2],
                               [[0.5 / 24, 0.5 / 24], [0.5 / 24, 0.5 / 24], [1.5 / 24, 0.5 / 24],
                                [23.5 / 24, 0.5 / 24], [0.5 / 24, 1.5 / 24]], rtol=1e-6)
    np.testing.assert_allclose(anchors[1152:1158, :2], [[0.5 / 12, 0.5 / 12]] * 6, rtol=1e-6)
    np.testing.assert_allclose(anchors[1158, :2], [1.5 / 12, 0.5 / 12], rtol=1e-6)
    np.testing.assert_allclose(anchors[-1], [11.5 / 12, 11.5 / 12, 1, 1], rtol=1e-6)


def test_decoding_scales_offsets_by_the_input_size() -> None:
    anchors = np.asarray([[0.25, 0.5, 1.0, 1.0]], dtype=np.float32)
    raw = np.zeros((1, 18), dtype=np.float32)
    raw[0, :4] = [19.2, -9.6, 96.0, 48.0]  # x, y offsets; width, height
    raw[0, 4:6] = [-19.2, 38.4]  # keypoint 0
    boxes, keypoints = decode_boxes(raw, anchors)
    np.testing.assert_allclose(boxes[0], [0.35 - 0.25, 0.45 - 0.125, 0.35 + 0.25, 0.45 + 0.125], rtol=1e-6)
    np.testing.assert_allclose(keypoints[0, 0], [0.15, 0.7], rtol=1e-6)
    np.testing.assert_allclose(keypoints[0, 1:], [[0.25, 0.5]] * 6, rtol=1e-6)


def test_weighted_nms_averages_overlapping_boxes_by_score() -> None:
    boxes = np.asarray([[0.0, 0.0, 1.0, 1.0], [0.5, 0.5, 0.9, 0.9], [0.1, 0.0, 1.1, 1.0]], dtype=np.float32)
    keypoints = np.stack([np.full((7, 2), v, dtype=np.float32) for v in (0.2, 0.7, 0.4)])
    scores = np.asarray([0.6, 0.8, 0.9], dtype=np.float32)
    first, second = weighted_nms(boxes, keypoints, scores)
    # the 0.9 box overlaps the 0.6 box (IoU 0.82) but not enough the 0.8 box (IoU 0.15)
    np.testing.assert_allclose(first.box, (0.9 * boxes[2] + 0.6 * boxes[0]) / 1.5, rtol=1e-6)
    np.testing.assert_allclose(first.keypoints, np.full((7, 2), (0.9 * 0.4 + 0.6 * 0.2) / 1.5), rtol=1e-6)
    assert first.score == pytest.approx(0.9)
    np.testing.assert_allclose(second.box, boxes[1])
    assert second.score == pytest.approx(0.8)


def test_letterbox_centres_the_image_and_maps_back_to_its_pixels() -> None:
    image = np.full((100, 300, 3), 255, dtype=np.uint8)  # wide: black bars above and below
    tensor, placed = letterbox(image)
    assert tensor.shape == (1, 3, INPUT_SIZE, INPUT_SIZE) and tensor.dtype == np.float32
    assert placed == Letterbox(side=300, left=0, top=100)
    assert tensor[0, :, 0].max() == 0.0 and tensor[0, :, INPUT_SIZE // 2].min() == 1.0
    centre = PalmDetection(box=np.asarray([0.4, 0.4, 0.6, 0.6]), keypoints=np.asarray([[0.5, 0.5]] * 7), score=0.9)
    mapped = to_image_pixels(centre, placed)
    np.testing.assert_allclose(mapped.box, [120, 20, 180, 80])
    np.testing.assert_allclose(mapped.keypoints[0], [150, 50])

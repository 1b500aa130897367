"""Write the models into `export/models/`, and the browser's ORT-format copies of the widget's three into
`static/widget/models/` (`export.ort_format`).

    python -m export.to_onnx                 # classifier (int8 + fp32), palm detector, hand landmark model
    python -m export.to_onnx --only palm --only landmarks   # MediaPipe's two (set-up: no dataset needed)
    python -m export.to_onnx --check         # measure the classifier files already there, write nothing

The classifier is the shipped checkpoint, quantized on real training crops and checked on the validation crops as
the browser runs it; MediaPipe's two are rebuilt from their .tflite files. Two runs write the same ONNX bytes.
"""

from __future__ import annotations

import argparse
import json
import logging
from importlib.metadata import version as package_version
from pathlib import Path

import numpy as np
import torch

from export.classifier_onnx import calibration_crops, export_fp32, metadata, quantize_int8
from export.hand_landmarks import export_onnx as export_landmarks
from export.hand_landmarks import load_hand_landmarks
from export.ort_format import WIDGET_MODELS, write_ort_format
from export.palm_detector import export_onnx as export_palm
from export.palm_detector import load_palm_detector
from runtime.classifier import OnnxClassifier
from runtime.paths import (
    CLASSIFIER_FP32,
    CLASSIFIER_INT8,
    HAND_LANDMARKS,
    LANDMARK_VARIANT,
    MODELS_DIR,
    PALM_DETECTOR,
    PALM_VARIANT,
    SHIPPED_CHECKPOINT,
    WIDGET_MODELS_DIR,
    data_dir,
)
from training.cache import load_cached
from training.checkpoint import load_checkpoint
from training.datasets import load_samples
from training.inference import torch_probabilities
from training.metrics import classification_report

MODELS = ("classifier", "palm", "landmarks")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, default=SHIPPED_CHECKPOINT, help="classifier .pt to export")
    p.add_argument("--data", type=Path, default=data_dir(), help="shared dataset: training crops calibrate, "
                                                                      "validation crops check")
    p.add_argument("--out", type=Path, default=MODELS_DIR)
    p.add_argument("--browser-out", type=Path, help="where the browser's copies go (default: the widget's models "
                   "folder for the repository's models, else --out)")
    p.add_argument("--only", choices=MODELS, action="append", help="write this model only (repeatable)")
    p.add_argument("--check", action="store_true",
                   help="write nothing: measure the classifier files already in --out against the checkpoint")
    return p.parse_args(argv)


def export_classifier(checkpoint: Path, data: Path, out: Path) -> dict:
    """Both classifier files, and their parity with PyTorch on the validation crops."""
    _, checkpoint_meta = load_checkpoint(checkpoint)
    test_file = checkpoint.with_suffix(".test.json")
    test_report = json.loads(test_file.read_text()) if test_file.is_file() else None
    labels = tuple(checkpoint_meta["labels"])
    train = load_cached(load_samples(data, "train", "crop", labels), desc="decoding train", labels=labels)
    fp32 = export_fp32(checkpoint, out / CLASSIFIER_FP32,
                       metadata(checkpoint_meta, test_report, package_version("gesture-reactions"), "float32"))
    int8 = quantize_int8(fp32, out / CLASSIFIER_INT8, calibration_crops(train.images, train.labels),
                         metadata(checkpoint_meta, test_report, package_version("gesture-reactions"), "int8"))
    return parity(checkpoint, data, {"fp32": fp32, "int8": int8})


def parity(checkpoint: Path, data: Path, exports: dict[str, Path]) -> dict:
    """Top-1 agreement with PyTorch and macro-F1 of each export on the validation crops: the networks alone (the
    runtime's toning down of over-exposed crops is not PyTorch's, and not the export's to check)."""
    model, meta = load_checkpoint(checkpoint)
    labels = tuple(meta["labels"])
    val = load_cached(load_samples(data, "val", "crop", labels), desc="decoding val", labels=labels)
    reference = torch_probabilities(model, val.images, meta["input_size"]).argmax(1)
    result = {"n": len(val.labels),
              "pytorch": {"macro_f1": classification_report(val.labels, reference, labels)["macro_f1"]}}
    for name, path in exports.items():
        predicted = OnnxClassifier(path, network_only=True).probabilities(val.images).argmax(1)
        result[name] = {"macro_f1": classification_report(val.labels, predicted, labels)["macro_f1"],
                        "agreement": float(np.mean(predicted == reference)), "bytes": path.stat().st_size}
    return result


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    args = parse_args(argv)
    torch.manual_seed(0)
    if args.check:
        exports = {"fp32": args.out / CLASSIFIER_FP32, "int8": args.out / CLASSIFIER_INT8}
        print_parity(parity(args.checkpoint, args.data, exports), exports, args.checkpoint)
        return
    only = set(args.only or MODELS)
    if args.browser_out is None:  # another export (a candidate's) never replaces what the widget serves
        args.browser_out = WIDGET_MODELS_DIR if args.out.resolve() == MODELS_DIR.resolve() else args.out
    if "palm" in only:
        palm = export_palm(load_palm_detector(variant=PALM_VARIANT), args.out / PALM_DETECTOR,
                           f"palm_detection_{PALM_VARIANT}.tflite")
        print(f"{palm}: {palm.stat().st_size / 1e6:.2f} MB")
        write_ort_format(palm, args.browser_out, WIDGET_MODELS[PALM_DETECTOR])
    if "landmarks" in only:
        landmarks = export_landmarks(load_hand_landmarks(variant=LANDMARK_VARIANT), args.out / HAND_LANDMARKS,
                                     f"hand_landmark_{LANDMARK_VARIANT}.tflite")
        print(f"{landmarks}: {landmarks.stat().st_size / 1e6:.2f} MB")
        write_ort_format(landmarks, args.browser_out, WIDGET_MODELS[HAND_LANDMARKS])
    if "classifier" not in only:
        return
    result = export_classifier(args.checkpoint, args.data, args.out)
    write_ort_format(args.out / CLASSIFIER_INT8, args.browser_out, WIDGET_MODELS[CLASSIFIER_INT8])
    print_parity(result, {"fp32": args.out / CLASSIFIER_FP32, "int8": args.out / CLASSIFIER_INT8}, args.checkpoint)


def print_parity(result: dict, exports: dict[str, Path], checkpoint: Path) -> None:
    print(f"classifier from {checkpoint.name}, on {result['n']} validation crops "
          f"(PyTorch macro-F1 {result['pytorch']['macro_f1']:.4f}):")
    for name, path in exports.items():
        r = result[name]
        drop = 100 * (result["pytorch"]["macro_f1"] - r["macro_f1"])
        print(f"  {path}: {r['bytes'] / 1e6:.2f} MB, top-1 agreement with PyTorch {100 * r['agreement']:.2f}%, "
              f"macro-F1 {r['macro_f1']:.4f} (drop {drop:.2f} points)")


if __name__ == "__main__":
    main()

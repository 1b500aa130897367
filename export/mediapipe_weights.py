"""MediaPipe's palm detection and hand landmark models, read out of the PyPI wheel `mediapipe==0.10.21` (fetched
with pip, not installed: a package registry is reachable where a model hub is not), checked against pinned SHA-256
digests and cached under `runtime.paths.weights_dir()`; never committed (Apache-2.0, Google).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from runtime.paths import weights_dir

MEDIAPIPE_VERSION = "0.10.21"
# Any platform's wheel holds the same model files; naming one makes the download the same from every machine.
WHEEL_PLATFORM = "manylinux_2_28_x86_64"
WHEEL_PYTHON = "3.11"
MODELS = {
    "palm_detection_lite.tflite": "e9a4aaddf90dda56a87235303cf00e4c2d3fb28725f68fd88772997dac905c18",
    "palm_detection_full.tflite": "1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54",
    "hand_landmark_lite.tflite": "048edd3645c9bf7397d19a9f6e3a42957d6e414c9bea6598030a2e9b624156e6",
    "hand_landmark_full.tflite": "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3",
}
"""Each model file and its SHA-256."""


class MediaPipeWeightsError(RuntimeError):
    """A MediaPipe model could not be downloaded, found in the wheel or verified."""


def member(name: str) -> str:
    """Where `name` lies in the wheel: mediapipe/modules/<its module>/<name>."""
    if name not in MODELS:
        raise ValueError(f"unknown MediaPipe model {name!r}: choose one of {sorted(MODELS)}")
    module = "palm_detection" if name.startswith("palm_detection") else "hand_landmark"
    return f"mediapipe/modules/{module}/{name}"


def model_path(name: str) -> Path:
    """The cached .tflite file `name` (one of MODELS), downloaded and extracted first if it is missing or not the
    pinned file."""
    folder = weights_dir() / f"mediapipe-{MEDIAPIPE_VERSION}"
    target = folder / Path(member(name)).name
    if target.is_file() and _sha256(target.read_bytes()) == MODELS[name]:
        return target
    with tempfile.TemporaryDirectory(prefix="mediapipe-wheel-") as download:
        wheel = download_wheel(Path(download))
        for other in MODELS:  # all of them, so that asking for another one later downloads nothing
            extract_model(wheel, other, folder / other)
    return target


def palm_model_path(variant: str = "lite") -> Path:
    """MediaPipe's palm detector, `lite` or `full`."""
    return model_path(f"palm_detection_{variant}.tflite")


def hand_landmark_model_path(variant: str = "lite") -> Path:
    """MediaPipe's hand landmark model, `lite` or `full`."""
    return model_path(f"hand_landmark_{variant}.tflite")


def download_wheel(folder: Path) -> Path:
    """mediapipe's wheel in `folder`, fetched by pip without its dependencies and without installing it."""
    command = [sys.executable, "-m", "pip", "download", f"mediapipe=={MEDIAPIPE_VERSION}", "--no-deps",
               "--only-binary=:all:", "--platform", WHEEL_PLATFORM, "--python-version", WHEEL_PYTHON,
               "--quiet", "--dest", str(folder)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(folder.glob(f"mediapipe-{MEDIAPIPE_VERSION}-*.whl"))
    if result.returncode != 0 or not wheels:
        raise MediaPipeWeightsError(f"could not download the mediapipe {MEDIAPIPE_VERSION} wheel into {folder} "
                                    f"(needed for its models); `{' '.join(command)}` exited with "
                                    f"{result.returncode}: {result.stderr.strip()[-2000:]}")
    return wheels[0]


def extract_model(wheel: Path, name: str, target: Path) -> Path:
    """Copies the model `name` out of `wheel` to `target`, after checking its SHA-256."""
    inside = member(name)
    try:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(inside)
    except KeyError as error:
        raise MediaPipeWeightsError(f"{wheel} has no {inside}; expected the MediaPipe model there") from error
    except (OSError, zipfile.BadZipFile) as error:
        raise MediaPipeWeightsError(f"cannot read {wheel} as a wheel (zip) to extract {inside}: {error}") from error
    digest = _sha256(data)
    if digest != MODELS[name]:
        raise MediaPipeWeightsError(f"{inside} in {wheel} has SHA-256 {digest}, expected {MODELS[name]}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(target)
    return target


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main(argv: list[str] | None = None) -> None:
    """`python -m export.mediapipe_weights`: fetch the models during set-up, so that tests and export run offline."""
    argparse.ArgumentParser(description=main.__doc__).parse_args(argv)
    for name in MODELS:
        print(model_path(name))


if __name__ == "__main__":
    main()

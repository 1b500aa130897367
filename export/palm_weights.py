"""MediaPipe's palm detection weights, read out of the PyPI wheel `mediapipe==0.10.21` without installing it.

The wheel is fetched with pip (a package registry is reachable where a model hub is not), the one
.tflite file is taken out of it with zipfile, checked against a pinned SHA-256 and kept under
`$GESTURE_REACTIONS_WEIGHTS` (default `~/.cache/gesture-reactions/weights`). The weights (Apache-2.0, Google)
are never committed to this repository.
"""

from __future__ import annotations

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
MEMBER_FOLDER = "mediapipe/modules/palm_detection"
SHA256 = {
    "lite": "e9a4aaddf90dda56a87235303cf00e4c2d3fb28725f68fd88772997dac905c18",
    "full": "1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54",
}


class PalmWeightsError(RuntimeError):
    """The palm detection model could not be downloaded, found in the wheel or verified."""


def model_filename(variant: str = "lite") -> str:
    if variant not in SHA256:
        raise ValueError(f"unknown palm detection variant {variant!r}: choose one of {sorted(SHA256)}")
    return f"palm_detection_{variant}.tflite"


def palm_model_path(variant: str = "lite") -> Path:
    """The cached .tflite file, downloaded and extracted first if it is missing or not the pinned file."""
    folder = weights_dir() / f"mediapipe-{MEDIAPIPE_VERSION}"
    target = folder / model_filename(variant)
    if target.is_file() and _sha256(target.read_bytes()) == SHA256[variant]:
        return target
    with tempfile.TemporaryDirectory(prefix="mediapipe-wheel-") as download:
        wheel = download_wheel(Path(download))
        for name in SHA256:  # both variants, so that asking for the other one later downloads nothing
            extract_model(wheel, name, folder / model_filename(name))
    return target


def download_wheel(folder: Path) -> Path:
    """mediapipe's wheel in `folder`, fetched by pip without its dependencies and without installing it."""
    command = [sys.executable, "-m", "pip", "download", f"mediapipe=={MEDIAPIPE_VERSION}", "--no-deps",
               "--only-binary=:all:", "--platform", WHEEL_PLATFORM, "--python-version", WHEEL_PYTHON,
               "--quiet", "--dest", str(folder)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(folder.glob(f"mediapipe-{MEDIAPIPE_VERSION}-*.whl"))
    if result.returncode != 0 or not wheels:
        raise PalmWeightsError(f"could not download the mediapipe {MEDIAPIPE_VERSION} wheel into {folder} "
                               f"(needed for the palm detection model); `{' '.join(command)}` exited with "
                               f"{result.returncode}: {result.stderr.strip()[-2000:]}")
    return wheels[0]


def extract_model(wheel: Path, variant: str, target: Path) -> Path:
    """Copies the model out of `wheel` to `target`, after checking its SHA-256."""
    member = f"{MEMBER_FOLDER}/{model_filename(variant)}"
    try:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(member)
    except KeyError as error:
        raise PalmWeightsError(f"{wheel} has no {member}; expected the palm detection model there") from error
    except (OSError, zipfile.BadZipFile) as error:
        raise PalmWeightsError(f"cannot read {wheel} as a wheel (zip) to extract {member}: {error}") from error
    digest = _sha256(data)
    if digest != SHA256[variant]:
        raise PalmWeightsError(f"{member} in {wheel} has SHA-256 {digest}, expected {SHA256[variant]}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(target)
    return target


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


if __name__ == "__main__":
    # `python -m export.palm_weights`: fetch the model during set-up, so that tests and export run offline.
    print(palm_model_path("lite"))

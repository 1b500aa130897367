"""The one place that defines what the classifier sees and says: labels, emoji, names, input size and
normalisation, which the export writes into the ONNX metadata so that the browser never hard-codes them.
"""

from __future__ import annotations

LABELS: tuple[str, ...] = ("like", "dislike", "ok", "none")
"""Class order of the classifier's output."""

GESTURES: tuple[str, ...] = LABELS[:-1]
"""The labels that fire a reaction; `none` never does."""

EMOJI: dict[str, str] = {"like": "\N{THUMBS UP SIGN}", "dislike": "\N{THUMBS DOWN SIGN}",
                         "ok": "\N{PERSON RAISING BOTH HANDS IN CELEBRATION}"}
"""Default reaction per gesture, as the original specification says (OK sign -> raised hands)."""

NAMES: dict[str, str] = {"like": "thumbs up", "dislike": "thumbs down", "ok": "OK sign"}
"""Each gesture in words, for people: the widget's buttons, status line and screen-reader announcements."""

INPUT_SIZE: int = 112
"""Side of the square crop the classifier takes, in pixels."""

CACHE_SIZE: int = 128
"""Side of the square images kept in the decoded cache; training crops INPUT_SIZE from it."""

MEAN: tuple[float, float, float] = (0.5, 0.5, 0.5)
STD: tuple[float, float, float] = (0.5, 0.5, 0.5)
"""Normalisation on [0, 1] RGB: maps pixels to [-1, 1], as EfficientNet-Lite's ImageNet weights expect."""

HAGRID_TO_LABEL: dict[str, str] = {"like": "like", "dislike": "dislike", "ok": "ok"}
"""HaGRID class -> our label; every other HaGRID class (call, fist, palm, no_gesture, ...) is `none`."""


def label_of_hagrid_class(hagrid_class: str) -> str:
    """Map a HaGRID gesture name to one of LABELS."""
    return HAGRID_TO_LABEL.get(hagrid_class, "none")

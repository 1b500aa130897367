"""The one place that defines what the classifier sees and says: labels, emoji, names, input size and
normalisation, which the export writes into the ONNX metadata so that the browser never hard-codes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Gesture:
    """A gesture a classifier may have: its default emoji, its name for people, and the source classes whose images
    show it (HaGRID's gestures; the Sign-Language-Digits dataset's digits, e.g. 2 is a V)."""

    emoji: str
    name: str
    source_classes: tuple[str, ...]


CATALOGUE: dict[str, Gesture] = {
    "like": Gesture("\N{THUMBS UP SIGN}", "thumbs up", ("like",)),
    "dislike": Gesture("\N{THUMBS DOWN SIGN}", "thumbs down", ("dislike",)),
    "ok": Gesture("\N{PERSON RAISING BOTH HANDS IN CELEBRATION}", "OK sign", ("ok",)),
    "raise_hand": Gesture("\N{RAISED HAND}", "raised hand", ("palm", "stop", "5")),
    "peace": Gesture("\N{VICTORY HAND}\N{VARIATION SELECTOR-16}", "peace sign", ("peace", "2")),
    "rock": Gesture("\N{SIGN OF THE HORNS}", "rock sign", ("rock",)),
    "call": Gesture("\N{CALL ME HAND}", "call me", ("call",)),
    "fist": Gesture("\N{RAISED FIST}", "fist", ("fist",)),
}
"""Every gesture a classifier may be trained on; the original specification's three map OK sign to raised hands.
Any source class no gesture of a classifier takes is that classifier's `none`."""

UNNAMED_POSES: dict[str, frozenset[str]] = {"images": frozenset({"raise_hand", "peace", "fist"})}
"""Source classes whose images show these gestures among other poses, image by image unnamed (SubhiH's webcam
frames of one person counting on their fingers: a fist, an open hand raised beside the head, a V): a label set with
any of them leaves those images out rather than call them `none`."""

LABEL_SETS: dict[str, tuple[str, ...]] = {
    "shipped": ("like", "dislike", "ok", "none"),
    "extended": ("like", "dislike", "ok", "raise_hand", "peace", "rock", "call", "fist", "none"),
    "added": ("raise_hand", "peace", "rock", "call", "fist", "none"),
}
"""Named class orders a run may train (`training.train --labels`); `none` is always last."""


def label_set_error(labels: object) -> str | None:
    """Why `labels` is not a class order a classifier may have (catalogue gestures, each once, then `none`)."""
    if not isinstance(labels, list | tuple) or not all(isinstance(label, str) for label in labels):
        return f"labels {labels!r} are not a list of names"
    if len(labels) < 2 or labels[-1] != "none" or len(set(labels)) != len(labels):
        return f"labels {list(labels)} are not distinct gestures followed by none"
    if unknown := [label for label in labels[:-1] if label not in CATALOGUE]:
        return f"labels {list(labels)} name {', '.join(unknown)}, not in the catalogue ({', '.join(CATALOGUE)})"
    return None


def emoji_of(labels: Sequence[str]) -> dict[str, str]:
    """Each gesture of `labels` -> its default emoji, as the ONNX metadata carries them."""
    return {label: CATALOGUE[label].emoji for label in labels if label != "none"}


def names_of(labels: Sequence[str]) -> dict[str, str]:
    """Each gesture of `labels` -> its name for people, as the ONNX metadata carries them."""
    return {label: CATALOGUE[label].name for label in labels if label != "none"}


def default_gestures(labels: Sequence[str]) -> tuple[str, ...]:
    """The gestures of `labels` that fire reactions until a host chooses (the ONNX metadata's "default_gestures"):
    the shipped set's, so that a classifier with more gestures behaves as the shipped one; else all of them."""
    gestures = [label for label in labels if label != "none"]
    return tuple(g for g in gestures if g in LABEL_SETS["shipped"]) or tuple(gestures)


LABELS: tuple[str, ...] = LABEL_SETS["shipped"]
"""Class order of the shipped classifier's output: the default label set."""

GESTURES: tuple[str, ...] = LABELS[:-1]
"""The labels that fire a reaction; `none` never does."""

EMOJI: dict[str, str] = emoji_of(LABELS)
"""Default reaction per gesture, as the original specification says (OK sign -> raised hands)."""

NAMES: dict[str, str] = names_of(LABELS)
"""Each gesture in words, for people: the widget's buttons, status line and screen-reader announcements."""

INPUT_SIZE: int = 112
"""Side of the square crop the classifier takes, in pixels."""

CACHE_SIZE: int = 128
"""Side of the square images kept in the decoded cache; training crops INPUT_SIZE from it."""

MEAN: tuple[float, float, float] = (0.5, 0.5, 0.5)
STD: tuple[float, float, float] = (0.5, 0.5, 0.5)
"""Normalisation on [0, 1] RGB: maps pixels to [-1, 1], as EfficientNet-Lite's ImageNet weights expect."""


def label_of_hagrid_class(hagrid_class: str, labels: Sequence[str] = LABELS) -> str | None:
    """Map a source class (a HaGRID gesture name) to the label of `labels` that takes it; `none` where no gesture
    does; None where its images may show a gesture of `labels` unnamed (`UNNAMED_POSES`): no label at all."""
    if UNNAMED_POSES.get(hagrid_class, frozenset()) & set(labels):
        return None
    return next((label for label in labels[:-1] if hagrid_class in CATALOGUE[label].source_classes), "none")

"""The numbers the browser shares with Python, written once here.

The export writes them into the classifier's ONNX metadata (keys `pipeline` and `reactions`, as JSON); the
Python runtime (`runtime.classifier`) and the browser's worker (`static/onnx-metadata.js`) both read them from
there, so a classifier file carries the thresholds it was tuned with and no JavaScript file spells them.
Labels, emoji, input size and normalisation travel the same way, from `training/gestures.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TypeVar


@dataclass(frozen=True)
class PipelineSettings:
    """How one frame becomes one gesture (`runtime.pipeline`, `static/pipeline.js`).

    The box and both scores were chosen on the held-out training frames (`python -m export.tune_pipeline`);
    the classifier was fine-tuned on crops cut with this very box (`training.pipeline_crops`), so changing
    the box means cutting those crops again.
    """

    min_palm_score: float = 0.4
    """Palm detections below this score are dropped."""
    min_gesture_score: float = 0.6
    """A hand counts as a gesture only at this probability or above; hold-to-confirm comes on top."""
    max_hands: int = 2
    """Hands classified per frame, best palms first: a participant in a call shows at most two."""
    hand_box_scale: float = 1.8
    """Side of the axis-aligned hand box, in palm box sides (MediaPipe's rotated square uses 2.6)."""
    hand_box_shift: float = 0.1
    """How far the hand box's centre moves from the palm's, in palm box sides, from wrist to middle finger."""
    redetect_ms: float = 200
    """The browser reuses a detection's hand boxes for this long before running the palm detector again: a hand
    held still is looked for afresh at least twice during a hold (`ReactionSettings.hold_ms`), and moves little
    in 200 ms against a box 1.8 palm sides wide."""


@dataclass(frozen=True)
class ReactionSettings:
    """Hold-to-confirm (`static/reactions.js`): the widget's defaults, which a host page may override.

    With a 500 ms hold, one finger-counting pose read as `ok` over four webcam frames fired a reaction in the
    browser benchmark's stream of all shared `none` photos; 700 ms fires none and still confirms a deliberate
    gesture in well under a second.
    """

    threshold: float = 0.7
    """Confidence a gesture needs in every frame of the hold."""
    hold_ms: float = 700
    """How long the same gesture must be shown before it fires."""
    cooldown_ms: float = 2000
    """After a reaction, nothing fires for this long."""


Settings = TypeVar("Settings", PipelineSettings, ReactionSettings)


def settings_from(kind: type[Settings], values: object) -> Settings | None:
    """`kind` from a JSON object with exactly its fields, all finite numbers; None for anything else."""
    names = {f.name for f in fields(kind)}
    if not isinstance(values, dict) or set(values) != names:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values.values()):
        return None
    return kind(**values)

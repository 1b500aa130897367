"""The numbers the browser shares with Python, written once here.

The export writes them into the classifier's ONNX metadata (keys `pipeline` and `reactions`, as JSON); the
Python runtime (`runtime.classifier`) and the browser's worker (`static/widget/onnx-metadata.js`) both read them from
there, so a classifier file carries the thresholds it was tuned with and no JavaScript file spells them.
Labels, emoji, input size and normalisation travel the same way, from `training/gestures.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TypeVar


@dataclass(frozen=True)
class PipelineSettings:
    """How one frame becomes one gesture (`runtime.pipeline`, `static/widget/pipeline.js`).

    The scores were chosen on the held-out training frames (`python -m export.tune_pipeline`); the classifier was
    fine-tuned on crops cut with this very box (`training.pipeline_crops`), so changing the box means cutting
    those crops again.
    """

    min_palm_score: float = 0.2
    """Palm detections below this score are dropped; the landmark model's presence score then drops palms that
    are not hands, so the detector may be less strict than it had to be alone (0.4 before landmarks)."""
    min_presence: float = 0.7
    """The landmark model's hand presence score a hand needs: below it, the palm was not a hand, or a tracked hand
    has left its region (MediaPipe's hand_landmark_cpu.pbtxt thresholds it at 0.5; 0.7 scored better on the held-out
    training frames at every palm score tried)."""
    min_gesture_score: float = 0.4
    """A hand counts as a gesture only at this probability or above; hold-to-confirm comes on top. Chosen with the
    shipped classifier, whose `none` logit carries a prior correction (`training.none_prior`): held-out frames
    0.9632 at 0.4, 0.9588 at 0.5 and 0.9496 at 0.6 (`python -m export.tune_pipeline --split train`)."""
    max_hands: int = 2
    """Hands classified per frame, best first: a participant in a call shows at most two."""
    hand_box_margin: float = 0.1
    """The classifier's box: the square on the long side of the 21 landmarks' extent, plus this much of that side
    on each side (`runtime.hand_box.landmark_box`); the classifier was fine-tuned on crops cut this way."""
    still_change: float = 15
    """A tracked hand whose box, or a view of the frame whose square, looks as it did when the models last ran on it
    (no value of its signature, `signature_size` cells a side, moved by more than this, of 255) is not run again:
    the hand keeps its landmarks and probabilities, the view has no new hand. On 150 training photos' hands, camera
    noise moved a still hand's signature by at most 13 (a dim room's noise and compression), a hand moved by 2
    pixels moved it by 22 (median), by 4 pixels 43 (`python -m export.still_change`)."""
    signature_size: int = 12
    """Cells a side of a signature (`runtime.tracking.signature`), each the mean of about as many pixels a side."""
    redetect_ms: float = 800
    """While fewer than `max_hands` hands are tracked, the palm detector runs again after this long to find another
    one; tracked hands need no detector (their landmarks give the next frame's region), and with none tracked it
    runs on every frame. A second hand raised is found within this long, then held for `ReactionSettings.hold_ms`
    before it fires."""
    search_motion: float = 36
    """With no hand tracked, a frame whose letterboxed square's signature moved by more than this since the previous
    frame has motion in it (a hand being raised): the palm detector runs at once, and on every frame for
    `motion_search_ms`. Camera noise, a little light and a slow sway stay below it."""
    motion_search_ms: float = 1500
    """How long after motion the detector keeps searching on every frame (a view at a time)."""
    idle_search_ms: float = 1200
    """With no hand tracked and nothing moving, the detector runs once this long: a hand that came in unseen is
    still found, a round of the views at a time."""
    idle_fps: float = 12
    """With no hand tracked and nothing moving, frames are taken at most this often: an idle call costs little,
    and motion is still seen within a tenth of a second."""
    bright_crop_luma: float = 190
    """A hand crop (at the classifier's input size) whose mean luma is above this, of 255, is taken as
    over-exposed and toned down (`runtime.exposure`): well above ordinary photos' crops, below most crops made 1.8
    times brighter (`training.perturbations`' over-exposure)."""
    bright_crop_target: float = 160
    """Where an over-exposed crop's gamma takes a grey at its mean luma (clipped white stays white). With 190 and 160
    (chosen on the validation crops and the held-out training frames) the shipped classifier's macro-F1 on
    over-exposed validation crops rose from 0.9236 to 0.9481, and the held-out frames stayed at 0.9531 (README,
    *Over-exposed crops toned down*)."""
    bright_crop_none_logit: float = 1.0
    """Added to the `none` logit of a crop that was toned down: washing out erases the shading that tells a relaxed
    hand from a gesture, and a washed-out `none` hand read as OK was the over-exposed crops' one common error, the
    error a participant must never see. Chosen on the validation crops (over-exposed 0.9710 -> 0.9781 by the most
    probable label; no other condition falls) as the largest value that keeps the held-out training frames at
    0.9632 (1.5 loses an OK sign there): README, *Washed-out crops lean to `none`*."""


@dataclass(frozen=True)
class ReactionSettings:
    """Hold-to-confirm (`static/widget/reactions.js`, `runtime.reactions`): the widget's defaults, which a host page may
    override. A frame adds (p - threshold) / (1 - threshold) of its time to the held gesture's evidence; a reaction
    needs `hold_ms` of it. Chosen with `python -m benchmarks.time_to_reaction --sweep` (README, *Time to reaction*).
    """

    threshold: float = 0.8
    """The confidence at which a frame adds no evidence: above it a frame adds, below it (or `none`) it takes."""
    hold_ms: float = 200
    """The evidence a reaction needs: how long a gesture seen at full confidence is held before it fires."""
    cooldown_ms: float = 2000
    """After a reaction, nothing fires for this long."""


@dataclass(frozen=True)
class RegionSettings:
    """Where the hand landmark model looks for a hand (MediaPipe's RectTransformationCalculator): a square of
    `scale` times the long side of the rectangle it starts from, moved `shift` of that rectangle's height along the
    hand's axis (negative: towards the fingers). `runtime.hand_landmarks` gives the two MediaPipe uses, around a
    palm and around the last frame's landmarks; the export writes them into the landmark model's metadata."""

    scale: float
    shift: float


Settings = TypeVar("Settings", PipelineSettings, ReactionSettings, RegionSettings)


def settings_from(kind: type[Settings], values: object) -> Settings | None:
    """`kind` from a JSON object with exactly its fields, all finite numbers; None for anything else."""
    names = {f.name for f in fields(kind)}
    if not isinstance(values, dict) or set(values) != names:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values.values()):
        return None
    return kind(**values)

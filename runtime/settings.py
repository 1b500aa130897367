"""The numbers the browser shares with Python, written once here.
The export writes them into the classifier's ONNX metadata, which both runtimes read (`runtime.classifier`,
`static/widget/onnx-metadata.js`): a classifier file carries the thresholds it was tuned with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TypeVar


@dataclass(frozen=True)
class PipelineSettings:
    """How one frame becomes one gesture (`runtime.pipeline`, `static/widget/pipeline.js`); the scores were chosen
    with `export.tune_pipeline`, and the classifier was fine-tuned on crops cut with this box, so changing the box
    means cutting those crops again (`training.pipeline_crops`)."""

    min_palm_score: float = 0.2
    """Palm detections below this score are dropped; the landmark model's presence then drops palms that are not
    hands (docs/decisions.md#palm-score-threshold)."""
    min_presence: float = 0.7
    """The landmark model's presence score a hand needs: below it, the palm was not a hand, or a tracked hand has
    left its region (docs/decisions.md#landmark-presence-threshold)."""
    min_gesture_score: float = 0.4
    """A hand counts as a gesture only at this probability or above; hold-to-confirm comes on top
    (docs/decisions.md#gesture-score-threshold)."""
    max_hands: int = 2
    """Hands classified per frame, best first: a participant in a call shows at most two."""
    hand_box_margin: float = 0.1
    """The classifier's box: the square on the long side of the 21 landmarks' extent, plus this much of that side
    on each side (`runtime.hand_box.landmark_box`); the classifier was fine-tuned on crops cut this way."""
    still_change: float = 15
    """A tracked hand or searched view whose signature moved by no more than this (of 255) since the models last
    ran on it is not run again: camera noise, not movement (docs/decisions.md#still-hand-threshold)."""
    signature_size: int = 12
    """Cells a side of a signature (`runtime.tracking.signature`), each the mean of about as many pixels a side."""
    redetect_ms: float = 800
    """While fewer than `max_hands` hands are tracked, the palm detector runs again after this long to find another
    one (tracked hands need no detector): a second hand raised is found within this long."""
    search_motion: float = 36
    """With no hand tracked, a frame whose signature moved by more than this since the previous one has motion (a
    hand being raised): the detector runs at once and for `motion_search_ms`; noise and a slow sway stay below."""
    motion_shift_share: float = 0.25
    """A cell's change up to this share of its largest difference to a neighbouring cell is what a shift of a few
    pixels makes of what was there (a participant swaying), not motion
    (docs/decisions.md#motion-that-a-sway-cannot-explain)."""
    motion_search_ms: float = 1500
    """How long after motion the detector keeps searching on every frame (a view at a time)."""
    idle_search_ms: float = 1200
    """With no hand tracked and nothing moving, the detector runs once this long: a hand that came in unseen is
    still found, a round of the views at a time."""
    idle_fps: float = 12
    """With no hand tracked and nothing moving, frames are taken at most this often: an idle call costs little,
    and motion is still seen within a tenth of a second."""
    bright_crop_luma: float = 190
    """A hand crop (at the classifier's input size) whose mean luma is above this, of 255, is over-exposed and
    toned down (`runtime.exposure`) (docs/decisions.md#over-exposed-crops-toned-down)."""
    bright_crop_target: float = 160
    """Where an over-exposed crop's gamma takes a grey at its mean luma; clipped white stays white
    (docs/decisions.md#over-exposed-crops-toned-down)."""
    bright_crop_none_logit: float = 1.0
    """Added to the `none` logit of a toned-down crop: washing out erases the shading that tells a relaxed hand
    from a gesture (docs/decisions.md#washed-out-crops-lean-to-none)."""


@dataclass(frozen=True)
class ReactionSettings:
    """Hold-to-confirm's defaults (`static/widget/reactions.js`, `runtime.reactions`), which a host page may override:
    a frame adds (p - threshold) / (1 - threshold) of its time to the gesture's evidence, a reaction needs `hold_ms`
    of it (docs/decisions.md#hold-to-confirm-threshold-and-hold)."""

    threshold: float = 0.8
    """The confidence at which a frame adds no evidence: above it a frame adds, below it (or `none`) it takes."""
    hold_ms: float = 200
    """The evidence a reaction needs: how long a gesture seen at full confidence is held before it fires."""
    cooldown_ms: float = 2000
    """After a reaction, nothing fires for this long."""


@dataclass(frozen=True)
class RaiseHandSettings:
    """The raise-hand state's defaults (`static/widget/reactions.js` RaisedHand, `runtime.reactions.RaisedHand`), for
    a classifier with a raise-hand gesture: `label` raises the hand after `hold_ms` of its evidence, weighed as
    hold-to-confirm weighs it, and a raised hand is lowered `lower_after_ms` after the label was last seen
    (docs/decisions.md#raise-hand-a-state-with-its-own-hold)."""

    label: str = "raise_hand"
    hold_ms: float = 600
    """Raising the hand is seen by everyone until it is lowered: it needs three times a reaction's evidence."""
    lower_after_ms: float = 2000
    """A hand lost for a moment (turned, out of frame, missed) stays raised."""


@dataclass(frozen=True)
class CustomGestureSettings:
    """Gestures a participant teaches (`runtime.custom_gestures`, `static/widget/custom-gestures.js`): a hand's
    confidence in a taught gesture is 1 / (1 + (d / `match_distance`)^2), d the distance of its embedding to the
    nearest example's, both through the pose encoder; the rest say when teaching is refused
    (docs/decisions.md#taught-gestures-matched-by-a-learnt-pose-encoder)."""

    match_distance: float = 1.35
    """The distance at which a hand is a taught gesture at confidence one half; at hold-to-confirm's 0.8 it is half
    as far. Chosen with `benchmarks.few_shot` on training frames."""
    direction_weight: float = 1.0
    """How much the direction a hand points weighs against its shape in the embedding the pose encoder takes."""
    teach_ms: float = 3000
    """How long a gesture is shown to teach it, by default."""
    min_hand_share: float = 0.5
    """The share of the frames seen while teaching that must show a hand: below it, no hand was shown."""
    max_builtin_share: float = 0.5
    """Above this share of the frames with a hand read as one of the classifier's own gestures, the pose is one."""
    max_spread: float = 0.25
    """The examples' median distance to their medoid above which the pose changed while it was taught."""
    min_separation: float = 0.675
    """The examples' median distance to an earlier taught gesture's below which a new gesture is refused as too
    close to it: half the match distance, where its hands would be read as the earlier one at hold-to-confirm's
    threshold, 0.8."""
    max_examples: int = 24
    """Examples kept per taught gesture, evenly over the frames it was shown in."""


@dataclass(frozen=True)
class RegionSettings:
    """Where the hand landmark model looks (MediaPipe's RectTransformationCalculator): a square of `scale` times the
    starting rectangle's long side, moved `shift` of its height along the hand's axis (negative: to the fingers);
    `runtime.hand_landmarks` has MediaPipe's two, written into the landmark model's metadata."""

    scale: float
    shift: float


Settings = TypeVar("Settings", PipelineSettings, ReactionSettings, RegionSettings, CustomGestureSettings)


def settings_from(kind: type[Settings], values: object) -> Settings | None:
    """`kind` from a JSON object with exactly its fields, all finite numbers; None for anything else."""
    names = {f.name for f in fields(kind)}
    if not isinstance(values, dict) or set(values) != names:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values.values()):
        return None
    return kind(**values)

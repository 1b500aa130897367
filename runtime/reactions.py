"""Hold-to-confirm, the widget's step for step (`static/widget/reactions.js`): per-frame gestures become deliberate
reactions once a gesture has gathered `hold_ms` of evidence. Pure and timestamp-driven, so that a benchmark can
replay the browser's frames.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from runtime.settings import ReactionSettings


def evidence_rate(p: float, threshold: float) -> float:
    """Evidence per millisecond of a frame showing a gesture at confidence p (`reactions.js` evidenceRate)."""
    return (p - threshold) / max(1 - threshold, 1e-6)


@dataclass(frozen=True)
class Reaction:
    gesture: str
    confidence: float
    timestamp: float


@dataclass(frozen=True)
class HoldState:
    """`progress`: 0..1 of the hold's evidence (holding) or of the cooldown; `reaction`: set on the frame that fires."""

    phase: Literal["idle", "holding", "cooldown"]
    gesture: str | None
    progress: float
    reaction: Reaction | None = None


@dataclass
class _Candidate:
    gesture: str
    evidence: float


class HoldToConfirm:
    """`static/widget/reactions.js` HoldToConfirm with `settings`' numbers (threshold, hold and cooldown in ms); a
    gesture not in `gestures` (None: every one) counts as none, as the widget's `gestures` option makes it."""

    def __init__(self, settings: ReactionSettings, gestures: Iterable[str] | None = None) -> None:
        self.settings = settings
        self.gestures = None if gestures is None else frozenset(gestures)
        self.reset()

    def reset(self) -> None:
        """Forget any hold, cooldown and last reaction."""
        self.candidate: _Candidate | None = None
        self.last_frame: float | None = None
        self.cooldown_until = -math.inf
        self.cooldown_from = -math.inf
        self.last_fired: str | None = None

    def update(self, gesture: str, confidence: float, timestamp: float) -> HoldState:
        """One processed frame: its gesture ('none' for no gesture), confidence 0..1 and timestamp in ms."""
        elapsed = 0.0 if self.last_frame is None else max(0.0, timestamp - self.last_frame)
        self.last_frame = timestamp
        if self.gestures is not None and gesture not in self.gestures:
            gesture = "none"
        strong = gesture if gesture != "none" and confidence >= self.settings.threshold else None
        if strong != self.last_fired:
            self.last_fired = None
        if timestamp < self.cooldown_until:
            self.candidate = None
            progress = (timestamp - self.cooldown_from) / (self.cooldown_until - self.cooldown_from)
            return HoldState("cooldown", None, progress)
        if strong is not None and strong != self.last_fired and (self.candidate is None
                                                                  or strong != self.candidate.gesture):
            self.candidate = _Candidate(strong, 0.0)  # another gesture, shown clearly: start over with it
        elif self.candidate is not None:
            p = confidence if gesture == self.candidate.gesture else 0.0
            self.candidate.evidence += evidence_rate(p, self.settings.threshold) * elapsed
            if self.candidate.evidence <= 0:
                self.candidate = None
        held = self.candidate
        if held is None:
            return HoldState("idle", None, 0.0)
        if held.evidence < self.settings.hold_ms:
            return HoldState("holding", held.gesture, held.evidence / self.settings.hold_ms)
        self.fired(held.gesture, timestamp)
        return HoldState("cooldown", held.gesture, 0.0, Reaction(held.gesture, confidence, timestamp))

    def fired(self, gesture: str, timestamp: float) -> None:
        """Start the cooldown after a reaction."""
        self.candidate = None
        self.last_fired = gesture
        self.cooldown_from = timestamp
        self.cooldown_until = timestamp + self.settings.cooldown_ms


@dataclass(frozen=True)
class RaisedState:
    """`change`: 'raise' or 'lower' on the frame the hand is raised or lowered; `progress`: 0..1 of raising."""

    raised: bool
    change: Literal["raise", "lower"] | None
    progress: float


class RaisedHand:
    """`static/widget/reactions.js` RaisedHand: raise hand as a state, raised after `hold` ms of the gesture's
    evidence, lowered `lower_after` ms after it was last seen at `threshold` or by lower()."""

    def __init__(self, gesture: str, threshold: float, hold: float, lower_after: float) -> None:
        self.gesture, self.threshold, self.hold, self.lower_after = gesture, threshold, hold, lower_after
        self.reset()

    def reset(self) -> None:
        """Lowered, no evidence, nothing to let go."""
        self.raised = False
        self.evidence = 0.0
        self.last_frame: float | None = None
        self.last_seen = -math.inf
        self.must_let_go = False

    def update(self, gesture: str, confidence: float, timestamp: float) -> RaisedState:
        """One processed frame: its label, confidence 0..1 and timestamp in ms."""
        elapsed = 0.0 if self.last_frame is None else max(0.0, timestamp - self.last_frame)
        self.last_frame = timestamp
        p = confidence if gesture == self.gesture else 0.0
        if p >= self.threshold:
            self.last_seen = timestamp
        else:
            self.must_let_go = False
        if self.raised:
            if timestamp - self.last_seen < self.lower_after:
                return RaisedState(True, None, 1.0)
            self.raised = False
            return RaisedState(False, "lower", 0.0)
        if self.must_let_go:
            return RaisedState(False, None, 0.0)
        self.evidence = max(0.0, self.evidence + evidence_rate(p, self.threshold) * elapsed)
        if self.evidence < self.hold:
            return RaisedState(False, None, self.evidence / self.hold)
        self.raised = True
        self.evidence = 0.0
        return RaisedState(True, "raise", 1.0)

    def lower(self) -> bool:
        """Lower the hand now; it rises again only once the gesture was let go. Whether it was raised."""
        was = self.raised
        self.raised = False
        self.evidence = 0.0
        self.must_let_go = True
        return was

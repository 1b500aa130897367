/**
 * Hold-to-confirm: from one gesture per frame to deliberate reactions. A participant must never see a reaction they
 * did not make, so one confident frame is not enough: a gesture fires once it has gathered `hold` milliseconds of
 * evidence. Each frame adds (p - threshold) / (1 - threshold) times the time since the previous frame, p being the
 * held gesture's confidence on that frame (0 when it shows none or a weak other gesture): a gesture seen at full
 * confidence fires after `hold` ms, one at p after hold * (1 - threshold) / (p - threshold), and a weaker frame takes
 * evidence back instead of starting over. Another gesture at or above `threshold` starts over with that gesture.
 * After a reaction, nothing fires for `cooldown` milliseconds, and the same gesture fires again only once it has
 * been let go (holding a thumbs up for ten seconds is one reaction, not five). A gesture the host did not choose
 * (`gestures`) counts as none.
 *
 * Pure: time comes from the frames' timestamps, so the same frames always give the same reactions; Python's twin is
 * runtime/reactions.py. The widget's defaults for the three numbers are the classifier's (its metadata "reactions",
 * read by onnx-metadata.js; runtime/settings.py ReactionSettings).
 */

/**
 * @typedef {{phase: 'idle' | 'holding' | 'cooldown', gesture: string | null, progress: number,
 *   reaction: {gesture: string, confidence: number, timestamp: number} | null}} HoldState
 *   progress: 0..1 of the hold's evidence (holding) or of the cooldown (cooldown); reaction: set on the frame that
 *   fires.
 */

/**
 * Evidence per millisecond of a frame showing a gesture at confidence p: (p - threshold) / (1 - threshold), negative
 * below the threshold; hold-to-confirm and the raise-hand state weigh frames alike.
 */
export function evidenceRate(p, threshold) {
  return (p - threshold) / Math.max(1 - threshold, 1e-6);
}

export class HoldToConfirm {
  /**
   * @param {{threshold: number, hold: number, cooldown: number, gestures?: Iterable<string> | null}} options the
   *   confidence (0..1) at which a frame adds no evidence; the evidence a reaction needs (ms of a gesture at full
   *   confidence) and the cooldown, in ms; the gestures that may fire (null: every one)
   */
  constructor({threshold, hold, cooldown, gestures = null}) {
    this.gestures = null;
    this.configure({threshold, hold, cooldown, gestures});
    this.reset();
  }

  /**
   * New numbers for the next frames; those not given stay as they are.
   * @param {{threshold?: number, hold?: number, cooldown?: number, gestures?: Iterable<string> | null}} options
   */
  configure({threshold = this.threshold, hold = this.hold, cooldown = this.cooldown, gestures = this.gestures}) {
    this.threshold = threshold;
    this.hold = hold;
    this.cooldown = cooldown;
    this.gestures = gestures === null ? null : new Set(gestures);
  }

  /** Forget any hold, cooldown and last reaction (camera stopped, tab hidden). */
  reset() {
    this.candidate = null; // {gesture, evidence}: the gesture being held and its evidence so far, in ms
    this.lastFrame = null; // the previous frame's timestamp
    this.cooldownUntil = -Infinity;
    this.cooldownFrom = -Infinity;
    this.lastFired = null; // the gesture that must be let go before it fires again
  }

  /**
   * One processed frame.
   * @param {string} gesture a label; 'none' for no gesture (a gesture not chosen counts as none)
   * @param {number} confidence 0..1
   * @param {number} timestamp milliseconds
   * @returns {HoldState}
   */
  update(gesture, confidence, timestamp) {
    const elapsed = this.lastFrame === null ? 0 : Math.max(0, timestamp - this.lastFrame);
    this.lastFrame = timestamp;
    if (this.gestures !== null && !this.gestures.has(gesture)) gesture = 'none';
    const strong = gesture !== 'none' && confidence >= this.threshold ? gesture : null;
    if (strong !== this.lastFired) this.lastFired = null;
    if (timestamp < this.cooldownUntil) {
      this.candidate = null;
      const progress = (timestamp - this.cooldownFrom) / (this.cooldownUntil - this.cooldownFrom);
      return {phase: 'cooldown', gesture: null, progress, reaction: null};
    }
    if (strong !== null && strong !== this.lastFired && strong !== this.candidate?.gesture) {
      this.candidate = {gesture: strong, evidence: 0}; // another gesture, shown clearly: start over with it
    } else if (this.candidate) {
      const p = gesture === this.candidate.gesture ? confidence : 0;
      this.candidate.evidence += evidenceRate(p, this.threshold) * elapsed;
      if (this.candidate.evidence <= 0) this.candidate = null;
    }
    const held = this.candidate;
    if (held === null) {
      return {phase: 'idle', gesture: null, progress: 0, reaction: null};
    }
    if (held.evidence < this.hold) {
      return {phase: 'holding', gesture: held.gesture, progress: held.evidence / this.hold, reaction: null};
    }
    this.fired(held.gesture, timestamp);
    return {phase: 'cooldown', gesture: held.gesture, progress: 0,
      reaction: {gesture: held.gesture, confidence, timestamp}};
  }

  /** Start the cooldown after a reaction, from the camera or from a reaction button. */
  fired(gesture, timestamp) {
    this.candidate = null;
    this.lastFired = gesture;
    this.cooldownFrom = timestamp;
    this.cooldownUntil = timestamp + this.cooldown;
  }
}

/**
 * @typedef {{raised: boolean, change: 'raise' | 'lower' | null, progress: number}} RaisedState
 *   change: set on the frame the hand is raised or lowered; progress: 0..1 of the evidence raising needs.
 */

/**
 * Raise hand as a state, as meeting apps keep it: raised once the raise-hand gesture has gathered `hold` ms of
 * evidence (weighed as HoldToConfirm weighs it), kept while it is seen at `threshold` or above, lowered once it has
 * not been for `lowerAfter` ms (a hand lost for a moment stays raised) or when lower() is called; then it must be
 * let go before it can be raised again. Pure and timestamp-driven; Python's twin is runtime/reactions.py.
 */
export class RaisedHand {
  /**
   * @param {{gesture: string, threshold: number, hold: number, lowerAfter: number}} options the label that raises
   *   the hand, the confidence at which a frame adds no evidence, and the evidence (ms) raising needs and the ms
   *   without the gesture that lower it
   */
  constructor({gesture, threshold, hold, lowerAfter}) {
    Object.assign(this, {gesture, threshold, hold, lowerAfter});
    this.reset();
  }

  /** Lowered, no evidence, nothing to let go (camera stopped, tab hidden). */
  reset() {
    this.raised = false;
    this.evidence = 0;
    this.lastFrame = null;
    this.lastSeen = -Infinity; // the last frame showing the gesture at threshold or above
    this.mustLetGo = false; // lowered by lower() while the gesture was still shown
  }

  /**
   * One processed frame.
   * @param {string} gesture the frame's label
   * @param {number} confidence 0..1
   * @param {number} timestamp milliseconds
   * @returns {RaisedState}
   */
  update(gesture, confidence, timestamp) {
    const elapsed = this.lastFrame === null ? 0 : Math.max(0, timestamp - this.lastFrame);
    this.lastFrame = timestamp;
    const p = gesture === this.gesture ? confidence : 0;
    if (p >= this.threshold) this.lastSeen = timestamp;
    else this.mustLetGo = false;
    if (this.raised) {
      if (timestamp - this.lastSeen < this.lowerAfter) return {raised: true, change: null, progress: 1};
      this.raised = false;
      return {raised: false, change: 'lower', progress: 0};
    }
    if (this.mustLetGo) return {raised: false, change: null, progress: 0};
    this.evidence = Math.max(0, this.evidence + evidenceRate(p, this.threshold) * elapsed);
    if (this.evidence < this.hold) return {raised: false, change: null, progress: this.evidence / this.hold};
    this.raised = true;
    this.evidence = 0;
    return {raised: true, change: 'raise', progress: 1};
  }

  /**
   * Lower the hand now (the participant or the host did); it rises again only once the gesture was let go.
   * @returns {boolean} whether it was raised
   */
  lower() {
    const was = this.raised;
    this.raised = false;
    this.evidence = 0;
    this.mustLetGo = true;
    return was;
  }
}

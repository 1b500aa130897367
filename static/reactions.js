/**
 * Hold-to-confirm: from one gesture per frame to deliberate reactions. A participant must never see a reaction they
 * did not make, so a single confident frame is not enough: the same gesture has to stay at or above `threshold` for
 * `hold` milliseconds. `none`, a low-confidence frame or another gesture starts over. After a reaction, nothing fires
 * for `cooldown` milliseconds, and the same gesture fires again only once it has been let go (holding a thumbs up
 * for ten seconds is one reaction, not five).
 *
 * Pure: time comes from the frames' timestamps, so the same frames always give the same reactions.
 *
 * The widget's defaults for the three numbers are the classifier's (its metadata "reactions", read by
 * onnx-metadata.js; chosen by measurement, see runtime/settings.py ReactionSettings).
 */

/**
 * @typedef {{phase: 'idle' | 'holding' | 'cooldown', gesture: string | null, progress: number,
 *   reaction: {gesture: string, confidence: number, timestamp: number} | null}} HoldState
 *   progress: 0..1 of the hold (holding) or of the cooldown (cooldown); reaction: set on the frame that fires.
 */

export class HoldToConfirm {
  /**
   * @param {{threshold: number, hold: number, cooldown: number}} options confidence (0..1) a gesture needs in
   *   every frame of the hold; the hold and the cooldown, in milliseconds
   */
  constructor({threshold, hold, cooldown}) {
    this.configure({threshold, hold, cooldown});
    this.reset();
  }

  /**
   * New numbers for the next frames; those not given stay as they are.
   * @param {{threshold?: number, hold?: number, cooldown?: number}} options
   */
  configure({threshold = this.threshold, hold = this.hold, cooldown = this.cooldown}) {
    this.threshold = threshold;
    this.hold = hold;
    this.cooldown = cooldown;
  }

  /** Forget any hold, cooldown and last reaction (camera stopped, tab hidden). */
  reset() {
    this.candidate = null; // {gesture, since}
    this.cooldownUntil = -Infinity;
    this.cooldownFrom = -Infinity;
    this.lastFired = null; // the gesture that must be let go before it fires again
  }

  /**
   * One processed frame.
   * @param {string} gesture a label; 'none' for no gesture
   * @param {number} confidence 0..1
   * @param {number} timestamp milliseconds
   * @returns {HoldState}
   */
  update(gesture, confidence, timestamp) {
    const shown = gesture !== 'none' && confidence >= this.threshold ? gesture : null;
    if (shown !== this.lastFired) this.lastFired = null;
    if (timestamp < this.cooldownUntil) {
      this.candidate = null;
      const progress = (timestamp - this.cooldownFrom) / (this.cooldownUntil - this.cooldownFrom);
      return {phase: 'cooldown', gesture: null, progress, reaction: null};
    }
    if (shown === null || shown === this.lastFired) {
      this.candidate = null;
      return {phase: 'idle', gesture: null, progress: 0, reaction: null};
    }
    if (this.candidate?.gesture !== shown) this.candidate = {gesture: shown, since: timestamp};
    const held = timestamp - this.candidate.since;
    if (held < this.hold) {
      return {phase: 'holding', gesture: shown, progress: this.hold > 0 ? held / this.hold : 1, reaction: null};
    }
    this.fired(shown, timestamp);
    return {phase: 'cooldown', gesture: shown, progress: 0, reaction: {gesture: shown, confidence, timestamp}};
  }

  /** Start the cooldown after a reaction, from the camera or from a reaction button. */
  fired(gesture, timestamp) {
    this.candidate = null;
    this.lastFired = gesture;
    this.cooldownFrom = timestamp;
    this.cooldownUntil = timestamp + this.cooldown;
  }
}

// Hold-to-confirm (static/widget/reactions.js): when a stream of per-frame gestures becomes a reaction, and when not.
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {HoldToConfirm, RaisedHand} from '../../static/widget/reactions.js';

/** A gate with a test's own numbers: threshold 0.5, hold 500 ms, cooldown 2000 ms unless `options` says else. */
const gateWith = (options = {}) => new HoldToConfirm({threshold: 0.5, hold: 500, cooldown: 2000, ...options});

/** Feed [gesture, confidence] frames every `step` ms from t = 0; the reactions fired, as [gesture, time]. */
function reactions(gate, frames, step = 100) {
  const fired = [];
  frames.forEach(([gesture, confidence], i) => {
    const {reaction} = gate.update(gesture, confidence, i * step);
    if (reaction) fired.push([reaction.gesture, reaction.timestamp]);
  });
  return fired;
}

const repeat = (frame, count) => Array.from({length: count}, () => frame);

test('a gesture at full confidence fires after `hold` ms, at the first frame past it', () => {
  assert.deepEqual(reactions(gateWith({hold: 500}), repeat(['like', 1], 8)), [['like', 500]]);
  assert.deepEqual(reactions(gateWith({hold: 500}), repeat(['like', 1], 20), 30), [['like', 510]]);
});

test('weaker evidence takes longer: hold * (1 - threshold) / (p - threshold)', () => {
  // 0.8 at threshold 0.5: 0.6 ms of evidence per ms, 500 ms needs 833 ms
  assert.deepEqual(reactions(gateWith({hold: 500}), repeat(['ok', 0.8], 12)), [['ok', 900]]);
  // at the threshold, never
  assert.deepEqual(reactions(gateWith({hold: 500}), repeat(['ok', 0.5], 100)), []);
});

test('a shorter hold does not fire, and none takes the evidence back', () => {
  const gate = gateWith({hold: 500});
  assert.deepEqual(reactions(gate, [...repeat(['like', 1], 5), ...repeat(['none', 0.9], 4),
    ...repeat(['like', 1], 5)]), []);
});

test('one weak frame takes a little evidence back instead of starting over', () => {
  const gate = gateWith({hold: 500});
  // 300 ms of evidence, a frame at 0.4 takes 20 back, then 100 a frame: 580 at 700 ms
  const frames = [...repeat(['ok', 1], 4), ['ok', 0.4], ...repeat(['ok', 1], 6)];
  assert.deepEqual(reactions(gate, frames), [['ok', 700]]);
});

test('another gesture shown clearly starts the hold over with that gesture; a weak one only takes evidence', () => {
  const frames = [...repeat(['like', 1], 4), ...repeat(['dislike', 1], 7)];
  assert.deepEqual(reactions(gateWith({hold: 500}), frames), [['dislike', 900]]);
  const weak = [...repeat(['like', 1], 4), ['dislike', 0.45], ...repeat(['like', 1], 3)];
  assert.deepEqual(reactions(gateWith({hold: 500}), weak), [['like', 700]]);
});

test('holding on is one reaction; letting go and showing it again after the cooldown is another', () => {
  const gate = gateWith({hold: 500, cooldown: 2000});
  assert.deepEqual(reactions(gate, repeat(['like', 1], 60)), [['like', 500]]);
  gate.reset();
  const frames = [...repeat(['like', 1], 6), ['none', 0.9], ...repeat(['like', 1], 40)];
  // the second hold starts when the cooldown ends, at 2500 ms
  assert.deepEqual(reactions(gate, frames), [['like', 500], ['like', 3000]]);
});

test('nothing fires during the cooldown, and the hold progress is reported', () => {
  const gate = gateWith({hold: 400, cooldown: 1000});
  assert.equal(gate.update('like', 1, 0).phase, 'holding');
  assert.equal(gate.update('like', 1, 200).progress, 0.5);
  assert.ok(gate.update('like', 1, 400).reaction);
  const during = gate.update('dislike', 1, 600);
  assert.equal(during.phase, 'cooldown');
  assert.equal(during.reaction, null);
  assert.ok(Math.abs(during.progress - 0.2) < 1e-9);
  assert.equal(gate.update('dislike', 1, 1400).phase, 'holding');
  assert.ok(gate.update('dislike', 1, 1800).reaction);
});

test('a reaction sent by button starts the cooldown and does not repeat from the camera', () => {
  const gate = gateWith({hold: 300, cooldown: 500});
  gate.fired('ok', 0);
  assert.deepEqual(reactions(gate, repeat(['ok', 0.95], 20)), []);
});

test('none never fires, however confident', () => {
  assert.deepEqual(reactions(gateWith({hold: 100}), repeat(['none', 1], 20)), []);
});

test('new options apply to the next frames', () => {
  const gate = gateWith({hold: 300, cooldown: 1000});
  gate.configure({threshold: 0.95});
  assert.deepEqual(reactions(gate, repeat(['like', 0.9], 20)), []);
  assert.deepEqual([gate.hold, gate.cooldown], [300, 1000]); // the numbers not given stay
  gate.configure({threshold: 0.8, hold: 200});
  assert.deepEqual(reactions(gate, repeat(['like', 1], 4)), [['like', 200]]);
});

test('a gesture the host did not choose never fires and counts as none', () => {
  const gate = gateWith({hold: 300, gestures: ['like', 'ok']});
  assert.deepEqual(reactions(gate, repeat(['dislike', 1], 20)), []);
  gate.reset();
  // 200 ms of thumbs up; a clear thumbs down takes 100 back, as none would, instead of starting over with it
  assert.deepEqual(reactions(gate, [...repeat(['like', 1], 3), ['dislike', 1], ...repeat(['like', 1], 3)]),
    [['like', 500]]);
  gate.configure({gestures: null});
  gate.reset();
  assert.deepEqual(reactions(gate, repeat(['dislike', 1], 5)), [['dislike', 300]]);
});

/** Feed [gesture, confidence] frames every `step` ms from `start`; the changes, as [change, time]. */
function changes(hand, frames, step = 100, start = 0) {
  const seen = [];
  frames.forEach(([gesture, confidence], i) => {
    const {change} = hand.update(gesture, confidence, start + i * step);
    if (change) seen.push([change, start + i * step]);
  });
  return seen;
}

const handWith = (options = {}) => new RaisedHand({gesture: 'raise_hand', threshold: 0.5, hold: 400,
  lowerAfter: 1000, ...options});

test('a hand is raised after `hold` ms of evidence and stays raised while it is shown', () => {
  const hand = handWith();
  assert.deepEqual(changes(hand, repeat(['raise_hand', 1], 50)), [['raise', 400]]);
  assert.equal(hand.raised, true);
  // at 0.75 (threshold 0.5): half the evidence a frame, twice the time
  assert.deepEqual(changes(handWith(), repeat(['raise_hand', 0.75], 12)), [['raise', 800]]);
  assert.deepEqual(changes(handWith(), repeat(['like', 1], 20)), []);
});

test('a hand lost for less than `lowerAfter` stays raised; longer, it is lowered', () => {
  const hand = handWith();
  const frames = [...repeat(['raise_hand', 1], 6), ...repeat(['none', 0.9], 9), ['raise_hand', 0.9],
    ...repeat(['none', 0.9], 11)];
  // raised at 400; last seen at 500, then at 1500 (900 ms later); lowered 1000 ms after that, at 2500
  assert.deepEqual(changes(hand, frames), [['raise', 400], ['lower', 2500]]);
  assert.equal(hand.raised, false);
});

test('lowered by lower(), it rises again only after the gesture was let go', () => {
  const hand = handWith();
  changes(hand, repeat(['raise_hand', 1], 5));
  assert.equal(hand.lower(), true);
  assert.equal(hand.lower(), false);
  assert.deepEqual(changes(hand, repeat(['raise_hand', 1], 20), 100, 500), []);
  assert.deepEqual(changes(hand, [['none', 1], ...repeat(['raise_hand', 1], 6)], 100, 2500), [['raise', 2900]]);
});

// The worker's per-frame logic without onnxruntime (static/pipeline.js, static/palm.js, static/onnx-metadata.js):
// the decision rule, the search over views, when palms are reused instead of detected again, and the metadata
// reader. Parity with the Python pipeline on real images is tested from Python (tests/test_widget_modules.py).
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {classifierSettings, readOnnxMetadata} from '../../static/onnx-metadata.js';
import {FramePipeline, MIN_GESTURE_SCORE, REDETECT_MS, decide} from '../../static/pipeline.js';
import {DEFAULTS} from '../../static/reactions.js';
import {NUM_ANCHORS, NUM_COORDS, roundHalfEven, squareTiles} from '../../static/palm.js';

const GESTURES = ['like', 'dislike', 'ok'];
const hand = (box, like, dislike, ok) => ({box, probabilities: {like, dislike, ok, none: 1 - like - dislike - ok}});

test('decide: the most confident gesture over all hands wins', () => {
  const hands = [hand([0, 0, 10, 10], 0.6, 0.1, 0.1), hand([20, 20, 40, 40], 0.05, 0.05, 0.8)];
  assert.deepEqual(decide(hands, GESTURES), {gesture: 'ok', confidence: 0.8, box: [20, 20, 40, 40], hands});
});

test('decide: below MIN_GESTURE_SCORE it is none, with the confidence that no gesture is shown', () => {
  assert.equal(MIN_GESTURE_SCORE, 0.6);
  const result = decide([hand([0, 0, 1, 1], 0.55, 0.1, 0.05)], GESTURES);
  assert.equal(result.gesture, 'none');
  assert.equal(result.box, null);
  assert.ok(Math.abs(result.confidence - 0.45) < 1e-12);
  assert.equal(decide([], GESTURES).confidence, 1);
});

test('Python rounding: halves to even', () => {
  assert.deepEqual([0.5, 1.5, 2.5, 3.5, 2.4, 2.6].map(roundHalfEven), [0, 2, 2, 4, 2, 3]);
});

test('square tiles cover a wide and a tall frame like export/pipeline.py', () => {
  assert.deepEqual(squareTiles(640, 480), [{x: 0, y: 0, side: 480}, {x: 80, y: 0, side: 480},
    {x: 160, y: 0, side: 480}]);
  assert.deepEqual(squareTiles(512, 683).map((t) => t.y), [0, 86, 171]);
  assert.deepEqual(squareTiles(300, 300), []);
});

const LIKE = [0.9, 0.05, 0.03, 0.02];
const NONE = [0.1, 0.05, 0.05, 0.8];

/**
 * A pipeline whose detector finds one palm on the calls `palmOnCall` accepts, whose classifier answers each crop
 * with `answer(call)` (default: `like`), and whose clock is `clock.now`, moved by the test.
 */
function fakePipeline(palmOnCall, answer = () => LIKE) {
  const detections = []; // the clock at each detector run
  const classified = []; // boxes per classifier run
  const clock = {now: 0};
  const detect = async () => {
    const regressors = new Float32Array(NUM_ANCHORS * NUM_COORDS);
    const scores = new Float32Array(NUM_ANCHORS).fill(-10);
    if (palmOnCall(detections.length)) {
      scores[0] = 10; // anchor 0: a palm at the view's top-left corner
      regressors.set([0, 0, 40, 40, 0, 10, 0, 0, 0, -10], 0);
    }
    detections.push(clock.now);
    return {regressors, scores};
  };
  const classify = async (input, count) => {
    const probabilities = answer(classified.length);
    classified.push(count);
    return Float32Array.from({length: count * 4}, (_, i) => probabilities[i % 4]);
  };
  const settings = {labels: [...GESTURES, 'none'], gestures: GESTURES, inputSize: 8, mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5]};
  return {pipeline: new FramePipeline(settings, detect, classify, () => clock.now), detections, classified, clock};
}

const WIDTH = 64;
const HEIGHT = 48;
const frame = (width = WIDTH, height = HEIGHT) => new Uint8ClampedArray(width * height * 4);

/** Frames at the given times (ms); whether the detector ran on each, and the gestures. */
async function play(fake, times, size = [WIDTH, HEIGHT]) {
  const results = [];
  for (const time of times) {
    fake.clock.now = time;
    results.push(await fake.pipeline.process(frame(...size), ...size));
  }
  return {detected: results.map((r) => r.detected), gestures: results.map((r) => r.gesture), results};
}

test('no palm: the next frame looks in the next view; a palm keeps it on its view', async () => {
  const fake = fakePipeline((call) => call >= 2); // palms from the third detector run on
  const views = [];
  for (let i = 0; i < 5; i++) {
    views.push(fake.pipeline.viewIndex);
    fake.clock.now = i * REDETECT_MS; // every frame runs the detector
    const result = await fake.pipeline.process(frame(), WIDTH, HEIGHT);
    assert.equal(result.detected, true);
    assert.equal(result.gesture, i >= 2 ? 'like' : 'none');
    assert.ok(result.timings.palm >= 0 && result.timings.classifier >= 0);
  }
  assert.deepEqual(views, [0, 1, 2, 2, 2]);
  fake.pipeline.reset();
  assert.equal(fake.pipeline.viewIndex, 0);
});

test('the search wraps around from the last square to the letterboxed frame', async () => {
  const {pipeline} = fakePipeline(() => false);
  const views = [];
  for (let i = 0; i < 6; i++) {
    views.push(pipeline.viewIndex);
    await pipeline.process(frame(), WIDTH, HEIGHT);
  }
  assert.deepEqual(views, [0, 1, 2, 3, 0, 1]);
});

test('REDETECT_MS is short against the hold a reaction needs', () => {
  assert.equal(REDETECT_MS, 200);
  assert.ok(REDETECT_MS <= DEFAULTS.hold / 2);
});

test('no palm known: every frame runs the detector', async () => {
  const fake = fakePipeline(() => false);
  const {detected, gestures} = await play(fake, [0, 10, 20, 30]);
  assert.deepEqual(detected, [true, true, true, true]);
  assert.deepEqual(gestures, ['none', 'none', 'none', 'none']);
  assert.deepEqual(fake.classified, []); // no box, nothing to classify
});

test('palms found: their boxes are classified without the detector until REDETECT_MS has passed', async () => {
  const fake = fakePipeline(() => true);
  const {detected, gestures, results} = await play(fake, [0, 50, 150, REDETECT_MS - 1, REDETECT_MS, 300, 399, 400]);
  assert.deepEqual(detected, [true, false, false, false, true, false, false, true]);
  assert.deepEqual(fake.detections, [0, REDETECT_MS, 400]);
  assert.deepEqual(gestures, Array(8).fill('like'));
  assert.deepEqual(fake.classified, Array(8).fill(1)); // the one hand's box, every frame
  for (const result of results) assert.deepEqual(result.box, results[0].box);
  for (const result of results.filter((r) => !r.detected)) assert.equal(result.timings.palm, 0);
});

test('a none on reused boxes: the next frame runs the detector', async () => {
  // classifier runs: 0 like (detected), 1 like (reused), 2 none (reused), 3 like (detected), 4 like (reused)
  const fake = fakePipeline(() => true, (call) => (call === 2 ? NONE : LIKE));
  const {detected, gestures} = await play(fake, [0, 10, 20, 30, 40]);
  assert.deepEqual(gestures, ['like', 'like', 'none', 'like', 'like']);
  assert.deepEqual(detected, [true, false, false, true, false]);
});

test('a none on a detector frame: the next frame still classifies its palms, and looks again after', async () => {
  const fake = fakePipeline(() => true, () => NONE); // a hand that shows no gesture
  const {detected} = await play(fake, [0, 10, 20, 30]);
  assert.deepEqual(detected, [true, false, true, false]);
});

test('a new frame size or a reset: the next frame runs the detector', async () => {
  const fake = fakePipeline(() => true);
  const {detected} = await play(fake, [0, 10], [WIDTH, HEIGHT]);
  assert.deepEqual(detected, [true, false]);
  assert.deepEqual((await play(fake, [20, 30], [HEIGHT, WIDTH])).detected, [true, false]);
  fake.pipeline.reset();
  assert.deepEqual((await play(fake, [40, 50], [HEIGHT, WIDTH])).detected, [true, false]);
});

/** A protobuf ModelProto with a graph field to skip and two metadata_props entries. */
function tinyModel(entries) {
  const text = (s) => [...new TextEncoder().encode(s)];
  const field = (number, bytes) => [(number << 3) | 2, bytes.length, ...bytes];
  const bytes = [0x08, 0x08, ...field(7, [1, 2, 3, 4]), 0x4a, 0x02, 0x05, 0x00]; // ir_version, graph, a varint field 9
  for (const [key, value] of Object.entries(entries)) bytes.push(...field(14, [...field(1, text(key)), ...field(2, text(value))]));
  return Uint8Array.from(bytes);
}

test('metadata_props are read from the ModelProto, other fields skipped', () => {
  assert.deepEqual(readOnnxMetadata(tinyModel({a: '1', emoji: '👍'})), {a: '1', emoji: '👍'});
});

test('classifier settings: parsed, or an error naming the missing key', () => {
  const metadata = {labels: '["like", "dislike", "ok", "none"]', emoji: '{"like": "1", "dislike": "2", "ok": "3"}',
    input_size: '112', mean: '[0.5, 0.5, 0.5]', std: '[0.5, 0.5, 0.5]', output: 'probabilities'};
  const settings = classifierSettings(metadata);
  assert.deepEqual(settings.gestures, GESTURES);
  assert.equal(settings.inputSize, 112);
  assert.throws(() => classifierSettings({...metadata, std: undefined}), /no "std"/);
  assert.throws(() => classifierSettings({...metadata, std: '[0.5, 0]'}), /"std" is \[0.5, 0\]/);
  assert.throws(() => classifierSettings({...metadata, emoji: '{"like": "1"}'}), /"emoji"/);
});

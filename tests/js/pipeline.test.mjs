// The worker's per-frame logic without onnxruntime (static/widget/: pipeline.js, palm.js, onnx-metadata.js):
// the decision rule, the search over views, when hands are tracked by their landmarks instead of detected again, that
// the numbers come from the classifier's settings, and the metadata reader. Parity with the Python pipeline on real images
// is tested from Python (tests/test_widget_modules.py, tests/test_widget_landmarks.py).
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {classifierSettings, readModelMetadata} from '../../static/widget/onnx-metadata.js';
import {FramePipeline, decide} from '../../static/widget/pipeline.js';
import {landmarkBox, roiFromLandmarks} from '../../static/widget/landmarks.js';
import {
  NUM_ANCHORS, NUM_COORDS, letterboxView, roundHalfEven, searchViews, tileLevels,
} from '../../static/widget/palm.js';
import {onnxModel} from './onnx-model.mjs';

const GESTURES = ['like', 'dislike', 'ok'];
/**
 * The pipeline's numbers, as classifierSettings returns them: a test's own, not the shipped classifier's. With a
 * negative stillChange nothing is ever still, and with a negative searchMotion every frame has motion: the models
 * look at every frame (the tests of stillness and of an idle frame set their own).
 */
const PIPELINE = {minPalmScore: 0.5, minPresence: 0.5, minGestureScore: 0.6, maxHands: 2, handBoxMargin: 0.1,
  stillChange: -1, signatureSize: 4, redetectMs: 250, searchMotion: -1, motionShiftShare: 0, motionSearchMs: 500,
  idleSearchMs: 1000, idleFps: 10, brightCropLuma: 190, brightCropTarget: 160,
  brightCropNoneLogit: 1};
const REDETECT = PIPELINE.redetectMs;
/**
 * The landmark model's input and regions, as landmarkSettings returns them: MediaPipe's, for which HAND below stays
 * put when tracked (that the browser uses the model file's own numbers is tested from Python,
 * tests/test_widget_modules.py).
 */
const LANDMARKS = {inputSize: 224, palm: {scale: 2.6, shift: -0.5}, landmarks: {scale: 2, shift: -0.1}};
const hand = (box, like, dislike, ok) => ({box, probabilities: {like, dislike, ok, none: 1 - like - dislike - ok}});

test('decide: the most confident gesture over all hands wins', () => {
  const hands = [hand([0, 0, 10, 10], 0.6, 0.1, 0.1), hand([20, 20, 40, 40], 0.05, 0.05, 0.8)];
  assert.deepEqual(decide(hands, GESTURES, 0.6), {gesture: 'ok', confidence: 0.8, box: [20, 20, 40, 40], hands});
});

test('decide: below the minimum score it is none, with the confidence that no gesture is shown', () => {
  const hands = [hand([0, 0, 1, 1], 0.55, 0.1, 0.05)];
  const result = decide(hands, GESTURES, 0.6);
  assert.equal(result.gesture, 'none');
  assert.equal(result.box, null);
  assert.ok(Math.abs(result.confidence - 0.45) < 1e-12);
  assert.equal(decide(hands, GESTURES, 0.55).gesture, 'like'); // at the minimum score counts
  assert.equal(decide([], GESTURES, 0.6).confidence, 1);
});

test('Python rounding: halves to even', () => {
  assert.deepEqual([0.5, 1.5, 2.5, 3.5, 2.4, 2.6].map(roundHalfEven), [0, 2, 2, 4, 2, 3]);
});

test('tiles cover a wide, a tall and a square frame like runtime/pipeline.py, coarse to fine', () => {
  const [along, fine] = tileLevels(640, 480);
  assert.deepEqual(along, [{x: 0, y: 0, side: 480}, {x: 80, y: 0, side: 480}, {x: 160, y: 0, side: 480}]);
  assert.deepEqual(fine.map((t) => [t.x, t.y, t.side]), [0, 120, 240].flatMap((y) =>
    [0, 133, 267, 400].map((x) => [x, y, 240])));
  assert.deepEqual(tileLevels(512, 683)[0].map((t) => t.y), [0, 86, 171]);
  assert.deepEqual(tileLevels(300, 300)[0], []);
  assert.deepEqual(tileLevels(300, 300)[1].map((t) => [t.x, t.y]), [0, 75, 150].flatMap((y) =>
    [0, 75, 150].map((x) => [x, y])));
});

test('the search looks in the letterboxed frame every other time, and in each tile in turn between', () => {
  const views = searchViews(640, 480);
  const letterbox = letterboxView(640, 480);
  assert.deepEqual([letterbox.y, letterbox.side], [-80, 640]);
  assert.equal(views.length, 2 * (3 + 12));
  views.forEach((view, i) => assert.deepEqual(view, i % 2 === 0 ? letterbox : tileLevels(640, 480).flat()[(i - 1) / 2]));
});

const LIKE = [0.9, 0.05, 0.03, 0.02];
const NONE = [0.1, 0.05, 0.05, 0.8];

/** Anchors of the detector's first layer (24 x 24 cells, two anchors each) far enough apart not to merge. */
const TOP_LEFT = 0;
const TOP_MIDDLE = 2 * 12;
const CENTRE = 2 * (12 * 24 + 12);

/**
 * An upright open hand in the landmark model's 224 x 224 input: wrist, thumb, then each finger base to tip. Placed so
 * that the region its landmarks give (roiFromLandmarks, LANDMARKS) is the region it was found in: a hand held still.
 */
const HAND = Float32Array.from([
  [112, 172], [80, 160], [60, 140], [56, 125], [45, 110], [84, 110], [82, 80], [80, 55], [80, 40],
  [112, 105], [112, 72], [112, 50], [112, 30], [140, 110], [140, 78], [142, 55], [144, 38],
  [160, 118], [168, 95], [172, 78], [176, 62],
].flatMap(([x, y]) => [x, y, 0]));

/**
 * A pipeline whose detector finds a palm (a 40-unit square, wrist below, middle finger above) at each of `anchors` (or
 * of `anchors(call)`)
 * with the logit `logit` on the calls `palmOnCall` accepts, whose landmark model sees HAND with the presence
 * `presence(call)` (default 0.9), whose classifier answers each crop with `answer(call)` (default: `like`), and
 * whose clock is `clock.now`, moved by the test. `pipeline`: numbers that replace PIPELINE's.
 */
function fakePipeline(palmOnCall, answer = () => LIKE,
  {pipeline = {}, anchors = [TOP_LEFT], logit = 10, presence = () => 0.9} = {}) {
  const detections = []; // the clock at each detector run
  const marked = []; // the clock at each landmark model run
  const classified = []; // boxes per classifier run
  const clock = {now: 0};
  const detect = async () => {
    const regressors = new Float32Array(NUM_ANCHORS * NUM_COORDS);
    const scores = new Float32Array(NUM_ANCHORS).fill(-10);
    if (palmOnCall(detections.length)) {
      for (const anchor of typeof anchors === 'function' ? anchors(detections.length) : anchors) {
        scores[anchor] = logit;
        regressors.set([0, 0, 40, 40, 0, 10, 0, 0, 0, -10], anchor * NUM_COORDS);
      }
    }
    detections.push(clock.now);
    return {regressors, scores};
  };
  const markHand = async () => {
    const result = {landmarks: HAND, presence: presence(marked.length)};
    marked.push(clock.now);
    return result;
  };
  const classify = async (input, count) => {
    const probabilities = answer(classified.length);
    classified.push(count);
    return Float32Array.from({length: count * 4}, (_, i) => probabilities[i % 4]);
  };
  const settings = {labels: [...GESTURES, 'none'], gestures: GESTURES, inputSize: 8, mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5], pipeline: {...PIPELINE, ...pipeline}};
  return {pipeline: new FramePipeline({classifier: settings, landmarks: LANDMARKS}, {detectPalms: detect, markHand,
    classify}, () => clock.now), detections, marked,
    classified, clock};
}

const WIDTH = 640;
const HEIGHT = 480;
const frame = (width = WIDTH, height = HEIGHT, grey = 0) => new Uint8ClampedArray(width * height * 4).fill(grey);

/** Frames at the given times (ms), all grey `greys[i]` (default black); whether the detector ran on each, and the
 * gestures. */
async function play(fake, times, size = [WIDTH, HEIGHT], greys = []) {
  const results = [];
  for (const [i, time] of times.entries()) {
    fake.clock.now = time;
    results.push(await fake.pipeline.process(frame(...size, greys[i] ?? 0), ...size));
  }
  return {detected: results.map((r) => r.detected), gestures: results.map((r) => r.gesture), results};
}

test('no hand found: the next frame looks in the next view; a hand found keeps it on its view', async () => {
  // palms on the first two detector runs whose regions hold no hand, then a hand on the third
  const fake = fakePipeline((call) => call !== 1, () => LIKE, {presence: (call) => (call >= 1 ? 0.9 : 0)});
  const views = [];
  const detected = [];
  for (let i = 0; i < 5; i++) {
    views.push(fake.pipeline.viewIndex);
    fake.clock.now = i * 10;
    const result = await fake.pipeline.process(frame(), WIDTH, HEIGHT);
    detected.push(result.detected);
    assert.equal(result.regions.length, i === 1 ? 0 : 1); // the palm's region was looked in
    assert.ok(result.timings.palm >= 0 && result.timings.landmarks >= 0 && result.timings.classifier >= 0);
  }
  // a palm with no hand moves on like no palm at all; the hand found on the third frame is then tracked there
  assert.deepEqual(views, [0, 1, 2, 2, 2]);
  assert.deepEqual(detected, [true, true, true, false, false]);
  fake.pipeline.reset();
  assert.equal(fake.pipeline.viewIndex, 0);
});

test('the search wraps around from the last square to the letterboxed frame', async () => {
  const {pipeline} = fakePipeline(() => false);
  const views = [];
  const count = searchViews(WIDTH, HEIGHT).length;
  for (let i = 0; i < count + 2; i++) {
    views.push(pipeline.viewIndex);
    await pipeline.process(frame(), WIDTH, HEIGHT);
  }
  assert.deepEqual(views, [...Array.from({length: count}, (_, i) => i), 0, 1]);
});

test('no hand, nothing moving: the detector runs every idleSearchMs; motion runs it at once, then a while',
  async () => {
    const fake = fakePipeline(() => false, () => LIKE,
      {pipeline: {searchMotion: 30, motionSearchMs: 200, idleSearchMs: 1000}});
    const times = Array.from({length: 15}, (_, i) => 100 * i);
    const greys = times.map((time) => (time > 1000 ? 200 : 0)); // something comes into view at 1100 ms
    const {detected, results} = await play(fake, times, [WIDTH, HEIGHT], greys);
    assert.deepEqual(detected, times.map((time) => [0, 1000, 1100, 1200, 1300].includes(time)));
    assert.deepEqual(results.map((r) => r.idle), times.map((time) => time < 1100 || time > 1300));
    assert.deepEqual(fake.marked, []);
  });

test('no hand, the frame moving: every frame runs the detector, and nothing else runs', async () => {
  const fake = fakePipeline(() => false);
  const {detected, gestures} = await play(fake, [0, 10, 20, 30]);
  assert.deepEqual(detected, [true, true, true, true]);
  assert.deepEqual(gestures, ['none', 'none', 'none', 'none']);
  assert.deepEqual(fake.marked, []);
  assert.deepEqual(fake.classified, []);
});

test('a hand found is tracked by its landmarks; the detector looks for another every redetectMs', async () => {
  // the detector finds the palm in the letterboxed frame, twice; its third run looks in a tile, and finds none
  const fake = fakePipeline((call) => call < 2);
  const times = [0, 50, 150, REDETECT - 1, REDETECT, REDETECT + 100, 2 * REDETECT - 1, 2 * REDETECT];
  const {detected, gestures, results} = await play(fake, times, [HEIGHT, HEIGHT]);
  assert.deepEqual(detected, [true, false, false, false, true, false, false, true]);
  assert.deepEqual(fake.detections, [0, REDETECT, 2 * REDETECT]);
  assert.deepEqual(gestures, Array(8).fill('like'));
  // one hand every frame: on a redetection, the palm found again on the tracked hand counts once, and no new hand
  // there moves the search on to the next view
  assert.deepEqual(fake.classified, Array(8).fill(1));
  assert.deepEqual(fake.marked, [0, 50, 150, REDETECT - 1, REDETECT, REDETECT, REDETECT + 100, 2 * REDETECT - 1,
    2 * REDETECT]);
  assert.equal(fake.pipeline.viewIndex, 2);
  for (const result of results.filter((r) => !r.detected)) assert.equal(result.timings.palm, 0);
  // each frame's region is the one the last frame's landmarks gave
  for (let i = 1; i < results.length; i++) {
    assert.deepEqual(results[i].regions[0], roiFromLandmarks(results[i - 1].hands[0].landmarks, LANDMARKS));
  }
});

test('a hand held still keeps its landmarks and probabilities, and no model runs on it until it moves', async () => {
  const fake = fakePipeline(() => true, () => LIKE, {pipeline: {stillChange: 16, maxHands: 1}});
  // noise moves the picture by 10 of 255, the hand moving by 40
  const greys = [0, 0, 0, 10, 40, 40];
  const {results, gestures} = await play(fake, [0, 10, 20, 30, 40, 50], [WIDTH, HEIGHT], greys);
  assert.deepEqual(results.map((r) => r.still), [0, 1, 1, 1, 0, 1]);
  assert.deepEqual(fake.marked, [0, 40]);
  assert.deepEqual(fake.classified, [1, 1]);
  assert.deepEqual(gestures, Array(6).fill('like'));
  for (const [i, result] of results.entries()) {
    if (result.still) {
      assert.deepEqual(result.regions, []); // the landmark model looked nowhere
      assert.deepEqual(result.hands, results[i - 1].hands);
    }
  }
});

test('a held hand changed by exactly stillChange stays still; by one more, it is looked at again', async () => {
  const fake = fakePipeline(() => true, () => LIKE, {pipeline: {stillChange: 16, maxHands: 1}});
  const {results} = await play(fake, [0, 10, 20, 30], [WIDTH, HEIGHT], [0, 0, 16, 17]);
  assert.deepEqual(results.map((r) => r.still), [0, 1, 1, 0]);
});

test('a view the detector found nothing new in is passed over while it looks the same', async () => {
  const fake = fakePipeline(() => false, () => LIKE, {pipeline: {stillChange: 16}});
  const count = searchViews(WIDTH, HEIGHT).length; // the letterbox and a tile in turn
  const times = Array.from({length: 2 * count}, (_, i) => 10 * i);
  const {detected} = await play(fake, times);
  // the first round: each tile once, the letterbox only the first time (it is one view); then nothing at all
  assert.deepEqual(detected.slice(0, count), Array.from({length: count}, (_, i) => i === 0 || i % 2 === 1));
  assert.deepEqual(detected.slice(count), Array(count).fill(false));
  assert.equal(fake.detections.length, 1 + count / 2);
  // the picture changes: the view the search is at is looked in again
  assert.deepEqual((await play(fake, [20 * count], [WIDTH, HEIGHT], [40])).detected, [true]);
});

test('a palm found again on a hand held still counts once', async () => {
  const fake = fakePipeline(() => true, () => LIKE, {pipeline: {stillChange: 16}});
  const {results} = await play(fake, [0, 10, REDETECT + 10]);
  assert.deepEqual(results.map((r) => [r.detected, r.still, r.hands.length]), [[true, 0, 1], [false, 1, 1],
    [true, 1, 1]]);
  assert.deepEqual(fake.marked, [0, REDETECT + 10]); // the landmark model ran on the palm, and found the same hand
  assert.deepEqual(fake.classified, [1]);
});

test('maxHands hands tracked: the detector does not run at all', async () => {
  const fake = fakePipeline(() => true, () => LIKE, {pipeline: {maxHands: 1}});
  const {detected} = await play(fake, [0, REDETECT, 5 * REDETECT]);
  assert.deepEqual(detected, [true, false, false]);
});

test('a hand held still and two more found: at most maxHands hands, the still one kept', async () => {
  const fake = fakePipeline(() => true, () => LIKE, {anchors: (call) => (call === 0 ? [TOP_LEFT] : [TOP_MIDDLE, CENTRE]),
    pipeline: {maxHands: 2, stillChange: 16}});
  const {results} = await play(fake, [0, 10, REDETECT + 10]);
  assert.deepEqual(results.map((r) => [r.detected, r.still, r.hands.length]), [[true, 0, 1], [false, 1, 1],
    [true, 1, 2]]);
  assert.deepEqual(results[2].hands[0], results[1].hands[0]);
});

test('a hand below minPresence is lost: the next frame runs the detector', async () => {
  // landmark runs: 0 found (detected), 1 tracked, 2 gone (tracked), then found again on the detector's palm
  const fake = fakePipeline(() => true, () => LIKE, {presence: (call) => (call === 2 ? 0.2 : 0.9)});
  const {detected, gestures} = await play(fake, [0, 10, 20, 30, 40]);
  assert.deepEqual(detected, [true, false, false, true, false]);
  assert.deepEqual(gestures, ['like', 'like', 'none', 'like', 'like']);
  const strict = fakePipeline(() => true, () => LIKE, {pipeline: {minPresence: 0.95}});
  assert.deepEqual((await play(strict, [0, 10])).gestures, ['none', 'none']);
  assert.deepEqual(strict.classified, []);
});

test('a hand showing no gesture stays tracked', async () => {
  const fake = fakePipeline(() => true, () => NONE);
  const {detected, gestures} = await play(fake, [0, 10, 20, 30]);
  assert.deepEqual(detected, [true, false, false, false]);
  assert.deepEqual(gestures, ['none', 'none', 'none', 'none']);
});

test('a new frame size or a reset: the next frame runs the detector', async () => {
  const fake = fakePipeline(() => true);
  const {detected} = await play(fake, [0, 10], [WIDTH, HEIGHT]);
  assert.deepEqual(detected, [true, false]);
  assert.deepEqual((await play(fake, [20, 30], [HEIGHT, WIDTH])).detected, [true, false]);
  fake.pipeline.reset();
  assert.deepEqual((await play(fake, [40, 50], [HEIGHT, WIDTH])).detected, [true, false]);
});

test('palms below the settings\' minPalmScore are dropped', async () => {
  const score = 1 / (1 + Math.exp(-1)); // logit 1
  const above = fakePipeline(() => true, () => LIKE, {logit: 1, pipeline: {minPalmScore: score - 0.01}});
  assert.deepEqual((await play(above, [0])).gestures, ['like']);
  const below = fakePipeline(() => true, () => LIKE, {logit: 1, pipeline: {minPalmScore: score + 0.01}});
  assert.deepEqual((await play(below, [0])).gestures, ['none']);
  assert.deepEqual(below.marked, []);
  assert.deepEqual(below.classified, []);
});

test('at most the settings\' maxHands hands are classified', async () => {
  const anchors = [TOP_LEFT, TOP_MIDDLE, CENTRE];
  for (const maxHands of [1, 2, 3]) {
    const fake = fakePipeline(() => true, () => LIKE, {anchors, pipeline: {maxHands}});
    const {results} = await play(fake, [0]);
    assert.equal(results[0].hands.length, maxHands);
    assert.deepEqual(fake.classified, [maxHands]);
  }
});

test('the classifier\'s box is the square around the landmarks, handBoxMargin wider on each side', async () => {
  const hand = async (pipeline) => (await play(fakePipeline(() => true, () => LIKE, {anchors: [CENTRE], pipeline}),
    [0])).results[0].hands[0];
  const tight = await hand({handBoxMargin: 0});
  const xs = tight.landmarks.map(([x]) => x);
  const ys = tight.landmarks.map(([, y]) => y);
  const side = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
  const [left, top, right, bottom] = tight.box;
  assert.ok(Math.abs(right - left - side) <= 1 && Math.abs(bottom - top - side) <= 1, `${tight.box} ${side}`);
  assert.ok(left <= Math.min(...xs) + 1 && Math.max(...xs) <= right + 1, 'every landmark is inside');
  const wide = (await hand({handBoxMargin: 0.25})).box;
  assert.ok(Math.abs(wide[2] - wide[0] - 1.5 * side) <= 1, `${wide}`);
  assert.deepEqual(tight.box, landmarkBox(tight.landmarks, WIDTH, HEIGHT, 0));
});

test('metadata_props are read from the ModelProto, other fields skipped', () => {
  assert.deepEqual(readModelMetadata(onnxModel({a: '1', emoji: '👍'})), {a: '1', emoji: '👍'});
  const long = 'x'.repeat(300); // a length past one varint byte
  assert.equal(readModelMetadata(onnxModel({long})).long, long);
});

const METADATA = {labels: '["like", "dislike", "ok", "none"]', emoji: '{"like": "1", "dislike": "2", "ok": "3"}',
  names: '{"like": "one", "dislike": "two", "ok": "three"}',
  input_size: '112', mean: '[0.5, 0.5, 0.5]', std: '[0.5, 0.5, 0.5]', output: 'probabilities',
  pipeline: JSON.stringify({min_palm_score: 0.5, min_presence: 0.6, min_gesture_score: 0.65, max_hands: 3,
    hand_box_margin: 0.2, still_change: 12, signature_size: 8, redetect_ms: 150, search_motion: 25,
    motion_shift_share: 0.3, motion_search_ms: 400, idle_search_ms: 900, idle_fps: 12, bright_crop_luma: 200,
    bright_crop_target: 150, bright_crop_none_logit: 1.25}),
  reactions: JSON.stringify({threshold: 0.8, hold_ms: 500, cooldown_ms: 1000}), raise_hand: 'null',
  default_gestures: '["like", "ok"]'};

test('classifier settings: parsed, or an error naming the missing key', () => {
  const settings = classifierSettings(METADATA);
  assert.deepEqual(settings.gestures, GESTURES);
  assert.equal(settings.inputSize, 112);
  assert.throws(() => classifierSettings({...METADATA, std: undefined}), /no "std"/);
  assert.throws(() => classifierSettings({...METADATA, std: '[0.5, 0]'}), /"std" is \[0.5, 0\]/);
  assert.throws(() => classifierSettings({...METADATA, emoji: '{"like": "1"}'}), /"emoji"/);
  assert.deepEqual(settings.names, {like: 'one', dislike: 'two', ok: 'three'});
  assert.throws(() => classifierSettings({...METADATA, names: undefined}), /no "names"/);
  assert.throws(() => classifierSettings({...METADATA, names: '{"like": "one", "dislike": "", "ok": "x"}'}), /"names"/);
  assert.deepEqual(settings.defaultGestures, ['like', 'ok']);
  assert.throws(() => classifierSettings({...METADATA, default_gestures: undefined}), /no "default_gestures"/);
  assert.throws(() => classifierSettings({...METADATA, default_gestures: '["like", "wave"]'}),
    /"default_gestures" is \["like", "wave"\] \(expected a non-empty JSON list of some of like, dislike, ok\)/);
});

test('classifier settings: the pipeline\'s and the reactions\' numbers, camel-cased', () => {
  const settings = classifierSettings(METADATA);
  assert.deepEqual(settings.pipeline, {minPalmScore: 0.5, minPresence: 0.6, minGestureScore: 0.65, maxHands: 3,
    handBoxMargin: 0.2, stillChange: 12, signatureSize: 8, redetectMs: 150, searchMotion: 25, motionShiftShare: 0.3,
    motionSearchMs: 400, idleSearchMs: 900, idleFps: 12, brightCropLuma: 200,
    brightCropTarget: 150, brightCropNoneLogit: 1.25});
  assert.deepEqual(settings.reactions, {threshold: 0.8, hold: 500, cooldown: 1000});
});

test('classifier settings: "raise_hand" is null or one of the gestures with its two numbers', () => {
  assert.equal(classifierSettings(METADATA).raiseHand, null);
  const withRaise = {...METADATA, labels: '["like", "dislike", "ok", "raise_hand", "none"]',
    emoji: '{"like": "1", "dislike": "2", "ok": "3", "raise_hand": "4"}',
    names: '{"like": "one", "dislike": "two", "ok": "three", "raise_hand": "four"}'};
  const valid = {label: 'raise_hand', hold_ms: 600, lower_after_ms: 3000};
  assert.deepEqual(classifierSettings({...withRaise, raise_hand: JSON.stringify(valid)}).raiseHand,
    {gesture: 'raise_hand', hold: 600, lowerAfter: 3000});
  assert.throws(() => classifierSettings({...withRaise, raise_hand: undefined}), /no "raise_hand"/);
  for (const wrong of [{...valid, label: 'wave'}, {...valid, label: 'none'}, {...valid, hold_ms: -1},
    {...valid, extra: 1}, {label: 'raise_hand', hold_ms: 600}, [valid], 'raise_hand']) {
    assert.throws(() => classifierSettings({...withRaise, raise_hand: JSON.stringify(wrong)}),
      /"raise_hand" is .* \(expected null or a JSON object of "label" \(one of like, dislike, ok, raise_hand\)/);
  }
});

test('classifier settings: "output" must say probabilities, and is required', () => {
  const expected = '(expected "probabilities": the graph ends in softmax)';
  assert.throws(() => classifierSettings({...METADATA, output: undefined}),
    {message: `its metadata "output" is missing ${expected}`});
  assert.throws(() => classifierSettings({...METADATA, output: 'logits'}),
    {message: `its metadata "output" is logits ${expected}`});
});

test('classifier settings: "pipeline" and "reactions" need exactly their keys, all numbers', () => {
  const expected = {
    pipeline: '(expected a JSON object of numbers: min_palm_score, min_presence, min_gesture_score, max_hands, '
      + 'hand_box_margin, still_change, signature_size, redetect_ms, search_motion, motion_shift_share, '
      + 'motion_search_ms, '
      + 'idle_search_ms, idle_fps, bright_crop_luma, bright_crop_target, '
      + 'bright_crop_none_logit)',
    reactions: '(expected a JSON object of numbers: threshold, hold_ms, cooldown_ms)',
  };
  for (const key of ['pipeline', 'reactions']) {
    const valid = JSON.parse(METADATA[key]);
    const [first] = Object.keys(valid);
    const {[first]: _, ...missing} = valid;
    assert.throws(() => classifierSettings({...METADATA, [key]: undefined}),
      {message: `its metadata has no "${key}" ${expected[key]}`});
    assert.throws(() => classifierSettings({...METADATA, [key]: '{"threshold": 0.7'}),
      {message: `its metadata "${key}" is not JSON ${expected[key]}`});
    for (const wrong of [missing, {...valid, extra: 1}, {...valid, [first]: '0.5'}, {...valid, [first]: true},
      {...valid, [first]: null}, Object.values(valid), 0.7]) {
      const raw = JSON.stringify(wrong);
      assert.throws(() => classifierSettings({...METADATA, [key]: raw}),
        {message: `its metadata "${key}" is ${raw} ${expected[key]}`});
    }
  }
});

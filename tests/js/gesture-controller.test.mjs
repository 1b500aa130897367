// The widget's lifecycle without element or browser (static/widget/gesture-controller.js in tests/js/fake-browser.mjs):
// states, events and their details, the options and the classifier's defaults, failures (their codes) and trying
// again, the pause while the page is hidden or the camera muted, a camera that ends, the host's own stream, the frame
// rate cap, reaction buttons, a new camera, the video it plays the camera in, and close() being final.
import assert from 'node:assert/strict';
import {afterEach, test} from 'node:test';

import {ASSET_BASE, FakeTrack, METADATA, RAISE_HAND_METADATA, fakeStream, hand, handResult, installFakeBrowser,
  result} from './fake-browser.mjs';
import {ERROR_CODES, GestureController, GestureReactionsError, TEACHING_CODES}
  from '../../static/widget/gesture-controller.js';
import {TeachingError} from '../../static/widget/custom-gestures.js';

const browser = installFakeBrowser();
const REACTIONS = JSON.parse(METADATA.reactions); // the fake classifier's defaults
const TIMEOUT = {timeout: 5000};

/** Every event the controller dispatches, as {type, detail}. */
function record(controller) {
  const events = [];
  for (const type of ['statechange', 'gesture', 'hold', 'reaction', 'settings', 'error', 'raise-hand', 'lower-hand']) {
    controller.addEventListener(type, ({detail}) => events.push({type, detail}));
  }
  return events;
}

const states = (events) => events.filter((e) => e.type === 'statechange').map((e) => e.detail.state);

/** The next `type` event whose detail `accepts`. */
function next(controller, type, accepts = () => true) {
  return new Promise((resolve) => {
    const listener = ({detail}) => {
      if (!accepts(detail)) return;
      controller.removeEventListener(type, listener);
      resolve(detail);
    };
    controller.addEventListener(type, listener);
  });
}

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const made = new Set(); // every controller a test made: closed after it, passed or failed, so that none runs on

/** A controller on the fake server's assets. */
function controllerWith(options = {}) {
  const controller = new GestureController({assetBase: ASSET_BASE, ...options});
  made.add(controller);
  return controller;
}

afterEach(() => {
  for (const controller of made) controller.close();
  made.clear();
});

/** start()'s rejection: a GestureReactionsError with a code from ERROR_CODES. */
async function startFails(controller) {
  const error = await controller.start().then(() => assert.fail('start() resolved'), (e) => e);
  assert.ok(error instanceof GestureReactionsError, String(error));
  assert.ok(ERROR_CODES.includes(error.code), error.code);
  return error;
}

test('start: loading, then running; a gesture event per frame; a gesture held long enough fires once', TIMEOUT,
  async () => {
    browser.reset();
    browser.worker.answer = () => result('like');
    const controller = controllerWith();
    const events = record(controller);
    const reaction = next(controller, 'reaction');
    assert.equal(await controller.start(), 'running');
    assert.deepEqual(events.filter((e) => e.type === 'statechange').map((e) => e.detail), [
      {state: 'loading', message: 'Starting the camera and loading the gesture models…', threads: 1},
      {state: 'running', message: '', threads: 1}]);
    assert.deepEqual(await reaction, {gesture: 'like', emoji: '👍', confidence: 0.9,
      timestamp: (await reaction).timestamp, source: 'camera'});
    const gestures = events.filter((e) => e.type === 'gesture').map((e) => e.detail);
    assert.deepEqual(Object.keys(gestures[0]),
      ['gesture', 'confidence', 'box', 'hands', 'detected', 'regions', 'still', 'idle', 'timings', 'timestamp']);
    const held = gestures.at(-1).timestamp - gestures[0].timestamp;
    assert.ok(held >= REACTIONS.hold_ms, `fired after ${held} ms of frames`); // the classifier's default hold
    assert.ok(events.some((e) => e.type === 'hold' && e.detail.phase === 'holding'));
    await wait(50);
    assert.equal(events.filter((e) => e.type === 'reaction').length, 1); // held on: still one
    controller.stop();
    assert.equal(controller.state, 'off');
    assert.equal(browser.camera.opened[0].stopped, true);
    const frames = events.filter((e) => e.type === 'gesture').length;
    await wait(30);
    assert.equal(events.filter((e) => e.type === 'gesture').length, frames, 'a frame after stop()');
    controller.close();
  });

test('options: the given ones, else the classifier\'s defaults once its metadata is read, else null', TIMEOUT,
  async () => {
    browser.reset();
    const controller = controllerWith({hold: 123, emoji: {ok: '🙆'}, numHands: 1});
    assert.deepEqual(controller.options, {deviceId: '', srcObject: null, assetBase: ASSET_BASE, threshold: null,
      hold: 123, cooldown: null, gestures: null, emoji: {ok: '🙆'}, raiseHold: null, lowerAfter: null, numHands: 1,
      minPalmScore: null, minGestureScore: null, maxFps: null, gestureStorage: 'local'});
    const settings = next(controller, 'settings');
    assert.deepEqual((await controller.loadSettings()).gestures, ['like', 'dislike', 'ok']);
    assert.deepEqual((await settings).reactions, {threshold: 0.8, hold: 60, cooldown: 300});
    const pipeline = JSON.parse(METADATA.pipeline);
    assert.deepEqual(controller.options, {deviceId: '', srcObject: null, assetBase: ASSET_BASE,
      threshold: REACTIONS.threshold, hold: 123, cooldown: REACTIONS.cooldown_ms, gestures: ['like', 'dislike', 'ok'],
      emoji: {like: '👍', dislike: '👎', ok: '🙆'}, raiseHold: null, lowerAfter: null, numHands: 1, minPalmScore: pipeline.min_palm_score,
      minGestureScore: pipeline.min_gesture_score, maxFps: null, gestureStorage: 'local'});
    controller.setOptions({hold: null, threshold: 0.5});
    assert.equal(controller.options.hold, REACTIONS.hold_ms);
    assert.equal(controller.options.threshold, 0.5);
    assert.throws(() => controller.setOptions({colour: 'red'}), TypeError);
    for (const wrong of [{threshold: 2}, {numHands: 1.5}, {maxFps: 0}, {srcObject: 'camera'}, {hold: -1}]) {
      assert.throws(() => controller.setOptions(wrong), TypeError, JSON.stringify(wrong));
    }
    assert.equal(browser.worker.received.length, 0, 'reading the settings started the worker');
  });

/** For each option, values it must refuse (a TypeError naming it), and one it takes. */
const BAD_OPTIONS = {
  deviceId: [[3], 'front'],
  srcObject: [['camera', {}], null],
  assetBase: [['data:text/plain,x', 'javascript:alert(1)', 'http://[', 'ftp://example.com/', 5], '/static/'],
  threshold: [[2, -0.1, Number.NaN, '0.5'], 0.5],
  hold: [[-1, 1e9, Infinity], 300],
  cooldown: [[-1, 1e9], 1000],
  gestures: [[[], 'like', ['like', 'like'], ['none'], [''], [3]], ['like', 'ok']],
  emoji: [[['👍'], 'x'], {ok: '👌'}],
  raiseHold: [[-1, 1e9], 500],
  lowerAfter: [[-1, 1e9, Number.NaN], 2000],
  numHands: [[0, 1.5, 5, 1e9], 2],
  gestureStorage: [['session', true, 3], 'none'],
  minPalmScore: [[2, -1], 0.6],
  minGestureScore: [[1.5], 0.6],
  maxFps: [[0, 0.5, 1000], 15],
};

test('every option refuses its wrong values with a TypeError naming it, and keeps its value', TIMEOUT, () => {
  browser.reset();
  const controller = controllerWith();
  for (const [option, [wrongs, right]] of Object.entries(BAD_OPTIONS)) {
    controller.setOptions({[option]: right});
    const before = controller.options[option];
    for (const wrong of wrongs) {
      assert.throws(() => controller.setOptions({[option]: wrong}),
        (error) => error instanceof TypeError && error.message.startsWith(`option ${option}: expected`),
        `${option}: ${String(wrong)}`);
      assert.deepEqual(controller.options[option], before, `${option} changed by ${String(wrong)}`);
    }
  }
  controller.close();
});

test('a classifier that cannot be read: no settings, and the next call reads it again', TIMEOUT, async () => {
  browser.reset();
  const {reactions, ...withoutReactions} = METADATA;
  browser.metadata = withoutReactions;
  const controller = controllerWith();
  assert.equal(await controller.loadSettings(), null);
  assert.equal(controller.settings, null);
  browser.metadata = {...withoutReactions, reactions};
  assert.deepEqual((await controller.loadSettings()).reactions, {threshold: 0.8, hold: 60, cooldown: 300});
  const missing = controllerWith({assetBase: 'http://page.test/elsewhere/'});
  assert.equal(await missing.loadSettings(), null);
});

test('a refused camera: error event, then its state, camera released; start() tries again', TIMEOUT, async () => {
  browser.reset();
  browser.camera.error = Object.assign(new Error('denied'), {name: 'NotAllowedError'});
  const controller = controllerWith();
  const events = record(controller);
  const error = await startFails(controller);
  assert.deepEqual([error.code, error.state, error.message], ['permission-denied', 'permission-denied',
    controller.message]);
  const failure = events.findIndex((e) => e.type === 'error');
  assert.deepEqual(events[failure].detail, {code: 'permission-denied', state: 'permission-denied',
    message: controller.message});
  assert.deepEqual(events[failure + 1].detail, {state: 'permission-denied', message: controller.message,
    threads: 1});
  assert.match(controller.message, /Camera access is blocked/);
  browser.camera.error = null;
  assert.equal(await controller.start(), 'running');
  assert.deepEqual(states(events), ['loading', 'permission-denied', 'loading', 'running']);
  controller.close();
});

test('each getUserMedia failure: its state, code and message', TIMEOUT, async () => {
  const expected = {
    NotAllowedError: ['permission-denied', 'permission-denied', /Camera access is blocked/],
    SecurityError: ['permission-denied', 'permission-denied', /Camera access is blocked/],
    NotFoundError: ['no-camera', 'no-camera', /No camera found/],
    OverconstrainedError: ['no-camera', 'camera-unavailable', /chosen camera is not available/],
    NotReadableError: ['error', 'camera-busy', /another application may be using it/],
    AbortError: ['error', 'camera-busy', /another application may be using it/],
    TypeError: ['error', 'camera-error', /could not be started \(broken\)/],
  };
  for (const [name, [state, code, message]] of Object.entries(expected)) {
    browser.reset();
    browser.camera.error = Object.assign(new Error('broken'), {name});
    const controller = controllerWith();
    const error = await startFails(controller);
    assert.deepEqual([error.code, error.state, controller.state], [code, state, state], name);
    assert.match(controller.message, message, name);
    assert.match(controller.message, /The reaction buttons still work/, name);
    controller.close();
  }
});

test('a model that fails to load: error with its message; the next start() loads it again', TIMEOUT, async () => {
  browser.reset();
  browser.worker.error = 'The palm detector could not be loaded.';
  const controller = controllerWith();
  const error = await startFails(controller);
  assert.deepEqual([error.code, controller.state], ['model-load-failed', 'error']);
  assert.equal(controller.message, 'The palm detector could not be loaded.');
  assert.equal(browser.camera.opened[0].stopped, true);
  browser.worker.error = null;
  assert.equal(await controller.start(), 'running');
  assert.deepEqual(browser.worker.received.filter((type) => type === 'load'), ['load', 'load']);
  controller.close();
});

test('stop() while starting: start() rejects (aborted), the camera opened late is released, no frame is processed',
  TIMEOUT, async () => {
  browser.reset();
  const controller = controllerWith();
  const events = record(controller);
  const starting = startFails(controller);
  controller.stop();
  assert.equal((await starting).code, 'aborted');
  assert.equal(controller.state, 'off');
  await wait(30);
  assert.ok(browser.camera.opened.every((track) => track.stopped));
  assert.equal(events.filter((e) => e.type === 'gesture').length, 0);
  assert.deepEqual(states(events), ['loading', 'off']);
  controller.close();
});

test('a hidden page pauses recognition and drops the hold; shown again, it runs', TIMEOUT, async () => {
  browser.reset();
  browser.worker.answer = () => result('ok');
  const controller = controllerWith({hold: 10000});
  const events = record(controller);
  await controller.start();
  await next(controller, 'hold', (hold) => hold.phase === 'holding');
  browser.hide();
  assert.equal(controller.state, 'paused');
  assert.deepEqual(events.at(-1), {type: 'statechange',
    detail: {state: 'paused', message: 'Paused while this tab is hidden.', threads: 1}});
  assert.deepEqual(events.at(-2), {type: 'hold', detail: {phase: 'idle', gesture: null, progress: 0}});
  await wait(20); // a frame already in the worker may still answer
  const frames = events.filter((e) => e.type === 'gesture').length;
  await wait(30);
  assert.equal(events.filter((e) => e.type === 'gesture').length, frames, 'frames while hidden');
  browser.show();
  assert.equal(controller.state, 'running');
  await next(controller, 'gesture');
  controller.close();
});

test('a hold interrupted by a hidden page or a muted camera starts over when recognition runs again', TIMEOUT,
  async () => {
    const pauses = {
      'hidden page': [() => browser.hide(), () => browser.show()],
      'muted camera': [() => browser.camera.opened[0].mute(true), () => browser.camera.opened[0].mute(false)],
    };
    for (const [name, [pause, resume]] of Object.entries(pauses)) {
      browser.reset();
      browser.worker.answer = () => result('ok', 1);
      const controller = controllerWith({hold: 200, threshold: 0.5, cooldown: 0});
      const reaction = next(controller, 'reaction');
      await controller.start();
      await next(controller, 'hold', (hold) => hold.phase === 'holding' && hold.progress >= 0.5);
      pause();
      await wait(30);
      const resumed = performance.now();
      resume();
      const {timestamp} = await reaction;
      assert.ok(timestamp - resumed >= 180, `${name}: fired ${(timestamp - resumed).toFixed(0)} ms after resuming`);
      controller.close();
    }
  });

test('a reaction button: a manual reaction, and the camera does not send it again', TIMEOUT, async () => {
  browser.reset();
  browser.worker.answer = () => result('like');
  const controller = controllerWith();
  const events = record(controller);
  assert.throws(() => controller.react('wave'), RangeError);
  await controller.start();
  controller.react('like');
  await wait(REACTIONS.cooldown_ms + 100); // the camera shows the same gesture all along: it must be let go first
  assert.deepEqual(events.filter((e) => e.type === 'reaction').map((e) => [e.detail.gesture, e.detail.source]),
    [['like', 'manual']]);
  controller.close();
});

test('gestures: one not chosen never fires, nor has a button; one the classifier lacks is refused', TIMEOUT,
  async () => {
    browser.reset();
    let shown = 'dislike';
    browser.worker.answer = () => result(shown);
    const controller = controllerWith({gestures: ['like', 'ok', 'wave']});
    const events = record(controller);
    assert.deepEqual(controller.options.gestures, ['like', 'ok', 'wave']); // as given, until the metadata is read
    await controller.start();
    assert.deepEqual(controller.gestures, ['like', 'ok']); // the classifier's, in its order
    assert.deepEqual(controller.options.gestures, ['like', 'ok']);
    assert.throws(() => controller.setOptions({gestures: ['like', 'wave']}), RangeError);
    assert.deepEqual(controller.gestures, ['like', 'ok']); // kept
    assert.throws(() => controller.react('dislike'), RangeError);
    await wait(REACTIONS.hold_ms * 4);
    assert.ok(events.filter((e) => e.type === 'gesture').length > 5);
    assert.deepEqual(events.filter((e) => e.type === 'reaction'), []);
    assert.ok(events.filter((e) => e.type === 'hold').every((e) => e.detail.gesture === null));
    shown = 'like';
    assert.equal((await next(controller, 'reaction')).gesture, 'like');
    controller.setOptions({gestures: null});
    assert.deepEqual(controller.gestures, ['like', 'dislike', 'ok']);
    controller.close();
  });

test('gestures by default: the classifier\'s default ones; the others wait for a host to choose them', TIMEOUT,
  async () => {
    browser.reset();
    browser.metadata = {...METADATA, default_gestures: '["like", "ok"]'};
    let shown = 'dislike';
    browser.worker.answer = () => result(shown);
    const controller = controllerWith();
    const events = record(controller);
    await controller.start();
    assert.deepEqual(controller.gestures, ['like', 'ok']);
    assert.deepEqual(controller.options.gestures, ['like', 'ok']);
    await wait(REACTIONS.hold_ms * 4);
    assert.deepEqual(events.filter((e) => e.type === 'reaction'), []); // dislike is the classifier's, not a default
    controller.setOptions({gestures: ['dislike']});
    assert.equal((await next(controller, 'reaction')).gesture, 'dislike');
    controller.setOptions({gestures: null});
    assert.deepEqual(controller.gestures, ['like', 'ok']);
    controller.close();
  });

test('raise hand: raised after its hold, kept while shown, lowered once gone, by lowerHand() or by stop()', TIMEOUT,
  async () => {
    browser.reset();
    browser.metadata = RAISE_HAND_METADATA; // raise hold 90 ms, lowered 150 ms after the gesture was last seen
    let shown = 'raise_hand';
    browser.worker.answer = () => result(shown);
    const controller = controllerWith();
    const events = record(controller);
    const raised = next(controller, 'raise-hand');
    await controller.start();
    assert.deepEqual(controller.gestures, ['like', 'dislike', 'ok', 'raise_hand']);
    assert.deepEqual([controller.options.raiseHold, controller.options.lowerAfter], [90, 150]);
    assert.throws(() => controller.react('raise_hand'), RangeError); // a state, not a reaction
    const {timestamp, ...detail} = await raised;
    assert.deepEqual(detail, {gesture: 'raise_hand', emoji: '✋', source: 'camera'});
    assert.equal(controller.handRaised, true);
    await wait(200);
    assert.equal(controller.handRaised, true, 'lowered while still shown');
    assert.deepEqual(events.filter((e) => e.type === 'reaction'), []); // raising the hand is no reaction burst
    shown = 'none';
    const lowered = await next(controller, 'lower-hand');
    assert.equal(lowered.source, 'camera');
    assert.ok(lowered.timestamp - timestamp >= 150);
    shown = 'raise_hand';
    await next(controller, 'raise-hand');
    controller.lowerHand();
    assert.equal(controller.handRaised, false);
    assert.equal(events.filter((e) => e.type === 'lower-hand').at(-1).detail.source, 'manual');
    await wait(200);
    assert.equal(controller.handRaised, false, 'raised again without being let go');
    shown = 'none';
    await wait(50);
    shown = 'raise_hand';
    await next(controller, 'raise-hand');
    controller.stop();
    assert.equal(events.filter((e) => e.type.endsWith('-hand')).at(-1).detail.source, 'camera');
    assert.equal(events.filter((e) => e.type.endsWith('-hand')).at(-1).type, 'lower-hand');
    assert.equal(controller.handRaised, false);
    controller.close();
  });

test('raise hand not chosen: the gesture raises nothing and fires nothing', TIMEOUT, async () => {
  browser.reset();
  browser.metadata = RAISE_HAND_METADATA;
  browser.worker.answer = () => result('raise_hand');
  const controller = controllerWith({gestures: ['like']});
  const events = record(controller);
  await controller.start();
  await wait(300);
  assert.ok(events.filter((e) => e.type === 'gesture').length > 5);
  assert.deepEqual(events.filter((e) => ['raise-hand', 'reaction'].includes(e.type)), []);
  controller.setOptions({gestures: null}); // chosen while shown: it rises
  await next(controller, 'raise-hand');
  controller.setOptions({gestures: ['like']}); // unchosen while raised: lowered
  assert.equal(events.filter((e) => e.type.endsWith('-hand')).at(-1).type, 'lower-hand');
  assert.equal(controller.handRaised, false);
  controller.close();
});

test('a new deviceId while running opens that camera and releases the other', TIMEOUT, async () => {
  browser.reset();
  const controller = controllerWith();
  await controller.start();
  controller.setOptions({deviceId: 'second'});
  assert.equal(controller.state, 'loading');
  assert.equal(await controller.start(), 'running');
  const [first, second] = browser.camera.opened;
  assert.equal(first.stopped, true);
  assert.deepEqual(second.constraints.video.deviceId, {exact: 'second'});
  controller.close();
});

test('the camera plays in the video given, else in a detached muted one', TIMEOUT, async () => {
  browser.reset();
  const video = document.createElement('video');
  const shown = controllerWith({video});
  await shown.start();
  assert.equal(video.srcObject.getTracks()[0], browser.camera.opened[0]);
  assert.equal(browser.videos.length, 1);
  shown.close();
  assert.equal(video.srcObject, null);
  const hidden = controllerWith();
  const [own] = browser.videos.slice(1);
  assert.ok(own.muted && own.playsInline);
  await hidden.start();
  assert.equal(own.srcObject.getTracks()[0], browser.camera.opened[1]);
  hidden.close();
});

test('the host\'s stream: no getUserMedia, frames from it, and stop() and close() leave its track running', TIMEOUT,
  async () => {
    browser.reset();
    browser.worker.answer = () => result('like');
    const track = new FakeTrack();
    const video = document.createElement('video');
    const controller = controllerWith({srcObject: fakeStream(track), video});
    const reaction = next(controller, 'reaction');
    assert.equal(await controller.start(), 'running');
    assert.equal(video.srcObject.getVideoTracks()[0], track);
    assert.equal((await reaction).gesture, 'like');
    controller.stop();
    assert.equal(track.stopped, false);
    assert.equal(await controller.start(), 'running');
    controller.close();
    assert.equal(track.stopped, false);
    assert.equal(browser.camera.calls, 0);
  });

test('a new srcObject while running switches to it; null opens the widget\'s own camera', TIMEOUT, async () => {
  browser.reset();
  const first = new FakeTrack();
  const second = new FakeTrack();
  const video = document.createElement('video');
  const controller = controllerWith({srcObject: fakeStream(first), video});
  await controller.start();
  controller.setOptions({srcObject: fakeStream(second)});
  assert.equal(await controller.start(), 'running');
  assert.equal(video.srcObject.getVideoTracks()[0], second);
  assert.equal(first.stopped, false);
  controller.setOptions({srcObject: null});
  assert.equal(await controller.start(), 'running');
  assert.equal(browser.camera.calls, 1);
  assert.equal(video.srcObject.getVideoTracks()[0], browser.camera.opened[0]);
  controller.close();
});

test('a camera that ends: no-camera with a message and code camera-ended, frames stop; start() recovers', TIMEOUT,
  async () => {
    browser.reset();
    const controller = controllerWith();
    const events = record(controller);
    await controller.start();
    await next(controller, 'gesture');
    browser.camera.opened[0].end();
    assert.equal(controller.state, 'no-camera');
    assert.match(controller.message, /The camera stopped/);
    assert.deepEqual(events.find((e) => e.type === 'error').detail,
      {code: 'camera-ended', state: 'no-camera', message: controller.message});
    await wait(20);
    const frames = events.filter((e) => e.type === 'gesture').length;
    await wait(30);
    assert.equal(events.filter((e) => e.type === 'gesture').length, frames, 'frames of an ended camera');
    assert.equal(await controller.start(), 'running');
    assert.equal(browser.camera.opened.length, 2);
    await next(controller, 'gesture');
    controller.close();
  });

test('a host track stopped by its owner (no ended event) is noticed at the next frame', TIMEOUT, async () => {
  browser.reset();
  const track = new FakeTrack();
  const controller = controllerWith({srcObject: fakeStream(track)});
  await controller.start();
  const failed = next(controller, 'error');
  track.stop();
  assert.equal((await failed).code, 'camera-ended');
  assert.equal(controller.state, 'no-camera');
  assert.equal((await startFails(controller)).code, 'camera-ended'); // the same ended stream cannot run
  controller.setOptions({srcObject: fakeStream(new FakeTrack())}); // the host gives a new one
  assert.equal(await controller.start(), 'running');
  controller.close();
});

test('a muted camera pauses recognition with a message; unmuted, it runs again', TIMEOUT, async () => {
  browser.reset();
  const controller = controllerWith();
  const events = record(controller);
  await controller.start();
  browser.camera.opened[0].mute(true);
  assert.equal(controller.state, 'paused');
  assert.match(controller.message, /camera sends no picture/);
  await wait(20);
  const frames = events.filter((e) => e.type === 'gesture').length;
  await wait(30);
  assert.equal(events.filter((e) => e.type === 'gesture').length, frames, 'frames while muted');
  browser.camera.opened[0].mute(false);
  assert.equal(controller.state, 'running');
  await next(controller, 'gesture');
  controller.close();
});

test('maxFps caps the frames processed a second', TIMEOUT, async () => {
  browser.reset();
  const count = async (options) => {
    const controller = controllerWith(options);
    const events = record(controller);
    await controller.start();
    await wait(400);
    controller.close();
    return events.filter((e) => e.type === 'gesture').length;
  };
  const capped = await count({maxFps: 10});
  const uncapped = await count({});
  assert.ok(capped >= 2 && capped <= 6, `${capped} frames in 0.4 s at 10 fps`);
  assert.ok(uncapped > 2 * capped, `${uncapped} frames uncapped against ${capped} capped`);
});

test('while the worker says a frame is idle, frames are taken at the classifier\'s idleFps', TIMEOUT, async () => {
  browser.reset();
  const count = async (idle) => {
    browser.worker.answer = () => result('none', 0.9, idle);
    const controller = controllerWith();
    const events = record(controller);
    await controller.start();
    await wait(400);
    controller.close();
    return events.filter((e) => e.type === 'gesture').length;
  };
  const idle = await count(true);
  const busy = await count(false);
  const {idle_fps: idleFps} = JSON.parse(METADATA.pipeline);
  assert.ok(idle >= 2 && idle <= 0.4 * idleFps + 2, `${idle} idle frames in 0.4 s at ${idleFps} fps`);
  assert.ok(busy > 2 * idle, `${busy} frames with something in view against ${idle} idle`);
});

test('numHands and the score thresholds go to the worker\'s pipeline; null gives the classifier\'s back', TIMEOUT,
  async () => {
    browser.reset();
    const controller = controllerWith({numHands: 1, minPalmScore: 0.7});
    await controller.start();
    assert.deepEqual(browser.worker.configured.at(-1), {maxHands: 1, minPalmScore: 0.7});
    controller.setOptions({minGestureScore: 0.9, numHands: null});
    assert.deepEqual(browser.worker.configured.at(-1), {minPalmScore: 0.7, minGestureScore: 0.9});
    assert.equal(controller.options.numHands, JSON.parse(METADATA.pipeline).max_hands);
    controller.close();
  });

test('close() is final: start() rejects with code closed; unload() is not', TIMEOUT, async () => {
  browser.reset();
  const unloaded = controllerWith();
  await unloaded.start();
  unloaded.unload();
  assert.equal(unloaded.state, 'off');
  assert.equal(await unloaded.start(), 'running');
  unloaded.close();
  const error = await startFails(unloaded);
  assert.equal(error.code, 'closed');
  assert.match(error.message, /closed/);
  assert.equal(unloaded.state, 'off');
});

test('start() from a listener of the first statechange waits for the same start', TIMEOUT, async () => {
  browser.reset();
  const controller = controllerWith();
  let inner = null;
  controller.addEventListener('statechange', () => { inner ??= controller.start(); });
  const outer = controller.start();
  assert.equal(inner, outer);
  assert.equal(await inner, 'running');
  controller.close();
});

test('a camera that ends while the models load: start() rejects with camera-ended, and the next start() runs',
  TIMEOUT, async () => {
    browser.reset();
    browser.worker.loadDelay = 50;
    const controller = controllerWith();
    const starting = startFails(controller);
    await wait(10); // the camera is open, the models still loading
    browser.camera.opened[0].end();
    const error = await starting;
    assert.deepEqual([error.code, controller.state], ['camera-ended', 'no-camera']);
    assert.equal(await controller.start(), 'running');
    controller.close();
  });

/** learnGesture()'s refusal: a TeachingError with a code from TEACHING_CODES. */
async function refused(promise) {
  const error = await promise.then(() => assert.fail('learnGesture() resolved'), (e) => e);
  assert.ok(error instanceof TeachingError, String(error));
  assert.ok(TEACHING_CODES.includes(error.code), error.code);
  return error;
}

test('a taught gesture: learned from the frames it was shown in, it fires its reaction and emoji, kept in the '
  + 'origin\'s storage until forgotten; exported and imported', TIMEOUT, async () => {
  browser.reset();
  const fist = hand([1, 1, 1, 1, 1]);
  const open = hand();
  let shown = handResult(fist);
  browser.worker.answer = () => shown;
  const controller = controllerWith();
  await refused(controller.learnGesture('fist', {emoji: '✊'})).then((e) => assert.equal(e.code, 'not-running'));
  await controller.start();
  const learning = [];
  controller.addEventListener('learning', ({detail}) => learning.push(detail));
  const taught = controller.learnGesture('fist', {emoji: '✊', seconds: 0.05});
  assert.equal((await refused(controller.learnGesture('other'))).code, 'busy');
  assert.deepEqual(await taught, {name: 'fist', emoji: '✊'});
  assert.equal(learning[0].progress, 0);
  assert.equal(learning.at(-1).progress, 1);
  assert.deepEqual(controller.customGestures, [{name: 'fist', emoji: '✊'}]);
  assert.equal(controller.emoji.fist, '✊');
  const reaction = await next(controller, 'reaction');
  assert.deepEqual([reaction.gesture, reaction.emoji, reaction.source], ['fist', '✊', 'camera']);
  const stored = JSON.parse(browser.storage.getItem('gesture-reactions:taught-gestures'));
  assert.deepEqual(stored.map(({name}) => name), ['fist']);

  shown = handResult(open); // an open hand is not the fist
  const frame = await next(controller, 'gesture');
  assert.equal(frame.gesture, 'none');
  shown = handResult(fist);
  assert.equal((await refused(controller.learnGesture('fist', {seconds: 0.05}))).code, 'name-taken');
  assert.equal((await refused(controller.learnGesture('like', {seconds: 0.05}))).code, 'name-taken');
  assert.equal((await refused(controller.learnGesture('fist2', {seconds: 0.05}))).code, 'too-close');
  shown = handResult(open, {like: 0.9, none: 0.1});
  const builtin = await refused(controller.learnGesture('palm', {seconds: 0.05}));
  assert.equal(builtin.code, 'built-in');
  assert.match(builtin.message, /thumbs up/);
  shown = result('none');
  assert.equal((await refused(controller.learnGesture('palm', {seconds: 0.05}))).code, 'no-hand');
  let turn = 0;
  browser.worker.answer = () => handResult(hand([0, 0, 0, 0, 0], (turn += 0.7)));
  assert.equal((await refused(controller.learnGesture('wave', {seconds: 0.1}))).code, 'unsteady');

  const exported = controller.exportGestures();
  const again = controllerWith();
  assert.deepEqual(again.customGestures, [{name: 'fist', emoji: '✊'}], 'read back from the origin\'s storage');
  assert.equal(controller.forgetGesture('fist'), true);
  assert.equal(controller.forgetGesture('fist'), false);
  assert.equal(browser.storage.getItem('gesture-reactions:taught-gestures'), null);
  assert.deepEqual(controller.importGestures(exported), ['fist']);
  assert.throws(() => controller.importGestures('{"name": "x"}'), TypeError);
  assert.throws(() => controller.importGestures('[{"name": "like", "emoji": "", "examples": [[1]]}]'), TypeError);
  const teaching = controller.learnGesture('palm', {seconds: 5});
  controller.stop();
  assert.equal((await refused(teaching)).code, 'interrupted');
});

test('gestureStorage none: taught gestures are neither read from nor written to the origin\'s storage', TIMEOUT,
  async () => {
    browser.reset();
    browser.storage.setItem('gesture-reactions:taught-gestures', 'not json');
    assert.deepEqual(controllerWith().customGestures, [], 'unreadable: left out');
    const fist = hand([1, 1, 1, 1, 1]);
    browser.worker.answer = () => handResult(fist);
    const controller = controllerWith({gestureStorage: 'none'});
    await controller.start();
    await controller.learnGesture('fist', {seconds: 0.05});
    assert.equal(browser.storage.getItem('gesture-reactions:taught-gestures'), 'not json');
    assert.deepEqual(controller.customGestures.map(({name}) => name), ['fist']);
  });

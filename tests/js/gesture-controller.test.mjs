// The widget's lifecycle without its element or a browser (static/gesture-controller.js in tests/js/fake-browser.mjs):
// states, events and their details, the options and the classifier's defaults, failures and trying again, the pause
// while the page is hidden, reaction buttons, a new camera, and the video it plays the camera in.
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {ASSETS, METADATA, installFakeBrowser, result} from './fake-browser.mjs';
import {GestureController} from '../../static/gesture-controller.js';

const browser = installFakeBrowser();
const REACTIONS = JSON.parse(METADATA.reactions); // the fake classifier's defaults
const TIMEOUT = {timeout: 5000};

/** Every event the controller dispatches, as {type, detail}. */
function record(controller) {
  const events = [];
  for (const type of ['statechange', 'gesture', 'hold', 'reaction', 'settings', 'failure']) {
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

test('start: loading, then running; a gesture event per frame; a gesture held long enough fires once', TIMEOUT,
  async () => {
    browser.reset();
    browser.worker.answer = () => result('like');
    const controller = new GestureController({assets: ASSETS});
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
      ['gesture', 'confidence', 'box', 'hands', 'detected', 'regions', 'still', 'timings', 'timestamp']);
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
    const controller = new GestureController({assets: ASSETS, hold: 123, emoji: {ok: '🙆'}});
    assert.deepEqual(controller.options, {deviceId: '', threshold: null, hold: 123, cooldown: null,
      emoji: {ok: '🙆'}});
    const settings = next(controller, 'settings');
    assert.deepEqual((await controller.loadSettings()).gestures, ['like', 'dislike', 'ok']);
    assert.deepEqual((await settings).reactions, {threshold: 0.8, hold: 60, cooldown: 300});
    assert.deepEqual(controller.options, {deviceId: '', threshold: REACTIONS.threshold, hold: 123,
      cooldown: REACTIONS.cooldown_ms, emoji: {like: '👍', dislike: '👎', ok: '🙆'}});
    controller.setOptions({hold: null, threshold: 0.5});
    assert.equal(controller.options.hold, REACTIONS.hold_ms);
    assert.equal(controller.options.threshold, 0.5);
    assert.throws(() => controller.setOptions({colour: 'red'}), TypeError);
    assert.equal(browser.worker.received.length, 0, 'reading the settings started the worker');
  });

test('a classifier that cannot be read: no settings, and the next call reads it again', TIMEOUT, async () => {
  browser.reset();
  const {reactions, ...withoutReactions} = METADATA;
  browser.metadata = withoutReactions;
  const controller = new GestureController({assets: ASSETS});
  assert.equal(await controller.loadSettings(), null);
  assert.equal(controller.settings, null);
  browser.metadata = {...withoutReactions, reactions};
  assert.deepEqual((await controller.loadSettings()).reactions, {threshold: 0.8, hold: 60, cooldown: 300});
  const missing = new GestureController({assets: {...ASSETS, classifier: new URL('http://page.test/none.onnx')}});
  assert.equal(await missing.loadSettings(), null);
});

test('a refused camera: failure, then its state, camera released; start() tries again', TIMEOUT, async () => {
  browser.reset();
  browser.camera.error = Object.assign(new Error('denied'), {name: 'NotAllowedError'});
  const controller = new GestureController({assets: ASSETS});
  const events = record(controller);
  assert.equal(await controller.start(), 'permission-denied');
  const failure = events.findIndex((e) => e.type === 'failure');
  assert.equal(events[failure].detail.state, 'permission-denied');
  assert.deepEqual(events[failure + 1].detail, {state: 'permission-denied', message: controller.message,
    threads: 1});
  assert.match(controller.message, /Camera access is blocked/);
  browser.camera.error = null;
  assert.equal(await controller.start(), 'running');
  assert.deepEqual(states(events), ['loading', 'permission-denied', 'loading', 'running']);
  controller.close();
});

test('a model that fails to load: error with its message; the next start() loads it again', TIMEOUT, async () => {
  browser.reset();
  browser.worker.error = 'The palm detector could not be loaded.';
  const controller = new GestureController({assets: ASSETS});
  assert.equal(await controller.start(), 'error');
  assert.equal(controller.message, 'The palm detector could not be loaded.');
  assert.equal(browser.camera.opened[0].stopped, true);
  browser.worker.error = null;
  assert.equal(await controller.start(), 'running');
  assert.deepEqual(browser.worker.received.filter((type) => type === 'load'), ['load', 'load']);
  controller.close();
});

test('stop() while starting: the camera opened late is released, and no frame is processed', TIMEOUT, async () => {
  browser.reset();
  const controller = new GestureController({assets: ASSETS});
  const events = record(controller);
  const starting = controller.start();
  controller.stop();
  assert.equal(await starting, 'off');
  await wait(30);
  assert.ok(browser.camera.opened.every((track) => track.stopped));
  assert.equal(events.filter((e) => e.type === 'gesture').length, 0);
  assert.deepEqual(states(events), ['loading', 'off']);
  controller.close();
});

test('a hidden page pauses recognition and drops the hold; shown again, it runs', TIMEOUT, async () => {
  browser.reset();
  browser.worker.answer = () => result('ok');
  const controller = new GestureController({assets: ASSETS, hold: 10000});
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

test('a reaction button: a manual reaction, and the camera does not send it again', TIMEOUT, async () => {
  browser.reset();
  browser.worker.answer = () => result('like');
  const controller = new GestureController({assets: ASSETS});
  const events = record(controller);
  assert.throws(() => controller.react('wave'), RangeError);
  await controller.start();
  controller.react('like');
  await wait(REACTIONS.cooldown_ms + 100); // the camera shows the same gesture all along: it must be let go first
  assert.deepEqual(events.filter((e) => e.type === 'reaction').map((e) => [e.detail.gesture, e.detail.source]),
    [['like', 'manual']]);
  controller.close();
});

test('a new deviceId while running opens that camera and releases the other', TIMEOUT, async () => {
  browser.reset();
  const controller = new GestureController({assets: ASSETS});
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
  const shown = new GestureController({assets: ASSETS, video});
  await shown.start();
  assert.equal(video.srcObject.getTracks()[0], browser.camera.opened[0]);
  assert.equal(browser.videos.length, 1);
  shown.close();
  assert.equal(video.srcObject, null);
  const hidden = new GestureController({assets: ASSETS});
  const [own] = browser.videos.slice(1);
  assert.ok(own.muted && own.playsInline);
  await hidden.start();
  assert.equal(own.srcObject.getTracks()[0], browser.camera.opened[1]);
  hidden.close();
});

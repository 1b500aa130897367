// A browser just big enough for static/widget/gesture-controller.js under Node, as globals: a camera that opens
// or fails as the test says, a recognition worker that loads the test's classifier settings and answers each frame
// with the test's result, animation frames on a timer, and a page that can be hidden.
import {readFileSync} from 'node:fs';

import {EMBEDDING_SIZE} from '../../static/widget/landmarks.js';
import {classifierSettings, poseEncoder} from '../../static/widget/onnx-metadata.js';
import {onnxModel} from './onnx-model.mjs';

/** A classifier's metadata_props with the test's own numbers (not the shipped classifier's). */
export const METADATA = {
  labels: '["like", "dislike", "ok", "none"]', emoji: '{"like": "👍", "dislike": "👎", "ok": "👌"}',
  names: '{"like": "thumbs up", "dislike": "thumbs down", "ok": "OK sign"}',
  input_size: '8', mean: '[0.5, 0.5, 0.5]', std: '[0.5, 0.5, 0.5]', output: 'probabilities',
  pipeline: JSON.stringify({min_palm_score: 0.5, min_presence: 0.5, min_gesture_score: 0.6, max_hands: 2,
    hand_box_margin: 0.1, still_change: 16, signature_size: 16, redetect_ms: 100, search_motion: 30,
    motion_shift_share: 0.2, motion_search_ms: 500, idle_search_ms: 1000, idle_fps: 10, bright_crop_luma: 190,
    bright_crop_target: 160, bright_crop_none_logit: 1}),
  reactions: JSON.stringify({threshold: 0.8, hold_ms: 60, cooldown_ms: 300}), raise_hand: 'null',
  default_gestures: '["like", "dislike", "ok"]',
};

/** A classifier's metadata with a raise-hand gesture besides the others. */
export const RAISE_HAND_METADATA = {...METADATA, labels: '["like", "dislike", "ok", "raise_hand", "none"]',
  emoji: '{"like": "👍", "dislike": "👎", "ok": "👌", "raise_hand": "✋"}',
  names: '{"like": "thumbs up", "dislike": "thumbs down", "ok": "OK sign", "raise_hand": "raised hand"}',
  raise_hand: JSON.stringify({label: 'raise_hand', hold_ms: 90, lower_after_ms: 150}),
  default_gestures: '["like", "dislike", "ok", "raise_hand"]'};

/** The asset base the tests give the controller: its classifier is the one file this fake server has. */
export const ASSET_BASE = 'http://page.test/static/';

/** How the fake landmark model says taught gestures are matched (its metadata "custom_gestures"), with the shipped
 * pose encoder (its "pose_encoder"). */
export const CUSTOM_GESTURES = {matchDistance: 0.8, directionWeight: 1, teachMs: 200, minHandShare: 0.5,
  maxBuiltinShare: 0.5, maxSpread: 0.25, minSeparation: 0.4, maxExamples: 24, encoder: poseEncoder({pose_encoder: readFileSync(
    new URL('../../training/weights/pose_encoder.json', import.meta.url), 'utf8')}, EMBEDDING_SIZE)};
/** The classifier the widget downloads, here in ONNX (its metadata reader takes either format). */
const CLASSIFIER_URL = `${ASSET_BASE}models/classifier.int8.ort`;

/** A frame's result from the worker, showing `gesture` (or nothing, with 'none'); `idle` as the pipeline says it. */
export function result(gesture, confidence = 0.9, idle = false) {
  const box = gesture === 'none' ? null : [8, 8, 24, 24];
  return {gesture, confidence, box, hands: box ? [{box, probabilities: {[gesture]: confidence}, landmarks: hand()}] : [],
    detected: true, regions: [], still: 0, idle, timings: {palm: 1, landmarks: 1, classifier: 1, total: 3}};
}

/**
 * A hand's 21 landmarks [x, y, z] in frame pixels: fingers spread from the wrist, each `curl` (0..1) folded back, the
 * hand pointing up (turned by `turn` radians).
 */
export function hand(curl = [0, 0, 0, 0, 0], turn = 0) {
  const points = [[0, 0, 0]];
  for (let finger = 0; finger < 5; finger++) {
    const spread = (finger - 2) * 0.3;
    for (let joint = 1; joint <= 4; joint++) {
      const reach = joint * 10 * (1 - curl[finger] * (joint > 1 ? 0.8 : 0));
      points.push([reach * Math.sin(spread), -reach * Math.cos(spread), joint]);
    }
  }
  const [cos, sin] = [Math.cos(turn), Math.sin(turn)];
  return points.map(([x, y, z]) => [100 + cos * x - sin * y, 100 + sin * x + cos * y, z]);
}

/** A frame's result with one hand of `points` that the classifier reads with `probabilities`. */
export function handResult(points, probabilities = {none: 0.9}) {
  const box = [80, 40, 140, 110];
  return {gesture: 'none', confidence: 0.9, box: null, hands: [{box, probabilities, landmarks: points}],
    detected: true, regions: [], still: 0, idle: false, timings: {palm: 1, landmarks: 1, classifier: 1, total: 3}};
}

/** The page origin's localStorage: strings by key. */
class FakeStorage {
  #items = new Map();
  getItem(key) { return this.#items.get(key) ?? null; }
  setItem(key, value) { this.#items.set(key, String(value)); }
  removeItem(key) { this.#items.delete(key); }
  clear() { this.#items.clear(); }
}

/** A camera track: `end()` and `mute(muted)` act as the browser does when the camera goes away or pauses. */
export class FakeTrack extends EventTarget {
  readyState = 'live';
  muted = false;

  constructor(constraints = {}) {
    super();
    this.constraints = constraints;
    this.stopped = false;
  }

  stop() {
    this.stopped = true;
    this.readyState = 'ended'; // and no 'ended' event, as in browsers
  }

  end() {
    this.readyState = 'ended';
    this.dispatchEvent(new Event('ended'));
  }

  mute(muted) {
    this.muted = muted;
    this.dispatchEvent(new Event(muted ? 'mute' : 'unmute'));
  }

  getSettings() { return {width: 64, height: 48, frameRate: 100}; }
}

/** A stream of one video track, as getUserMedia or a host page gives it. */
export function fakeStream(track = new FakeTrack()) {
  return {getVideoTracks: () => [track], getTracks: () => [track]};
}

class FakeVideo {
  muted = false;
  playsInline = false;
  srcObject = null;
  readyState = 4; // HAVE_ENOUGH_DATA
  videoWidth = 64;
  videoHeight = 48;

  async play() {}
}

/**
 * Install the fake browser as globals.
 * @returns the test's handle: `camera` (`opened`: each stream's track, `error`: what the next opening throws,
 *   `calls`: getUserMedia's),
 *   `worker` (`answer()`: the next frame's result, `error`: what the next load answers, `received`: the messages'
 *   types, `configured`: the pipeline settings of each configure message, `loadDelay`: ms before a load is answered),
 *   `metadata` (of the classifier file the page downloads), `videos` (the video elements created), `hide()` and
 *   `show()` the page, and `reset()`
 */
export function installFakeBrowser() {
  const fake = {
    camera: {opened: [], error: null, calls: 0},
    worker: {answer: () => result('none'), error: null, received: [], configured: [], loadDelay: 1},
    metadata: METADATA,
    videos: [],
    storage: new FakeStorage(),
    reset() {
      this.storage.clear();
      this.camera = {opened: [], error: null, calls: 0};
      this.worker = {answer: () => result('none'), error: null, received: [], configured: [], loadDelay: 1};
      this.metadata = METADATA;
      this.videos = [];
      document.hidden = false;
    },
    hide() { setHidden(true); },
    show() { setHidden(false); },
  };

  const document = Object.assign(new EventTarget(), {
    hidden: false,
    createElement(tag) {
      if (tag !== 'video') throw new Error(`the fake document makes only videos, not ${tag}`);
      const video = new FakeVideo();
      fake.videos.push(video);
      return video;
    },
  });
  function setHidden(hidden) {
    document.hidden = hidden;
    document.dispatchEvent(new Event('visibilitychange'));
  }

  class FakeWorker extends EventTarget {
    postMessage(message) {
      fake.worker.received.push(message.type);
      if (message.type === 'configure') fake.worker.configured.push(message.pipeline);
      let answer = null;
      if (message.type === 'load') {
        answer = fake.worker.error ? {type: 'error', message: fake.worker.error}
          : {type: 'loaded', threads: 1, settings: classifierSettings(fake.metadata), customGestures: CUSTOM_GESTURES};
      } else if (message.type === 'frame') {
        answer = {type: 'result', ...fake.worker.answer()};
      }
      const delay = message.type === 'load' ? fake.worker.loadDelay : 1;
      if (answer) setTimeout(() => this.dispatchEvent(Object.assign(new Event('message'), {data: answer})), delay);
    }

    terminate() {}
  }

  const globals = {
    self: globalThis,
    window: globalThis,
    isSecureContext: true,
    crossOriginIsolated: false,
    location: {origin: new URL(ASSET_BASE).origin, href: 'http://page.test/'},
    navigator: {
      hardwareConcurrency: 2,
      mediaDevices: {
        async getUserMedia(constraints) {
          fake.camera.calls += 1;
          if (fake.camera.error) throw fake.camera.error;
          const track = new FakeTrack(constraints);
          fake.camera.opened.push(track);
          return fakeStream(track);
        },
      },
    },
    document,
    Worker: FakeWorker,
    OffscreenCanvas: class {},
    HTMLMediaElement: {HAVE_CURRENT_DATA: 2},
    createImageBitmap: async (video) => ({width: video.videoWidth, height: video.videoHeight, close() {}}),
    requestAnimationFrame: (callback) => setTimeout(() => callback(performance.now()), 4),
    cancelAnimationFrame: (id) => clearTimeout(id),
    localStorage: fake.storage,
    fetch: async (url) => (String(url) === CLASSIFIER_URL ? new Response(onnxModel(fake.metadata))
      : new Response('', {status: 404})),
  };
  for (const [name, value] of Object.entries(globals)) {
    Object.defineProperty(globalThis, name, {value, configurable: true, writable: true});
  }
  return fake;
}

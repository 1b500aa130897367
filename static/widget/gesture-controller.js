/**
 * Gesture reactions without an element: the camera (its own, or the host's stream), the recognition worker, frame
 * pacing, the pause while the tab is hidden or the camera muted, and hold-to-confirm. <gesture-reactions> renders
 * one of these; a page may also use it directly:
 *
 *   const controller = new GestureController({srcObject: callStream});   // or {video} to show its own camera
 *   controller.addEventListener('reaction', ({detail}) => ...);
 *   await controller.start();                                           // rejects with a GestureReactionsError
 *
 * Events: `reaction` {gesture, emoji, confidence, timestamp, source}; `gesture`, one per processed frame
 * {gesture, confidence, box, hands, detected, regions, still, idle, timings, timestamp} (hands: box, probabilities,
 * presence and 21 landmarks each; regions: where the landmark model looked; still: how many of the hands, first in
 * `hands`, had not moved and were kept without running a model; idle: no hand and no motion, so frames are taken
 * at the classifier's idleFps until something moves); `statechange` {state, message, threads} (message:
 * what the participant must know, empty when running or off), as the element's; `error` {code, state, message}
 * when the controller stops by itself (ERROR_CODES), before its statechange; `raise-hand` and `lower-hand`
 * {gesture, emoji, timestamp, source} when the classifier has a raise-hand gesture and it is chosen: raised, it stays
 * raised until the gesture has not been seen for `lowerAfter` ms, lowerHand() is called or recognition stops
 * (reactions.js RaisedHand); `learning` {name, progress} frame by frame while learnGesture() teaches a gesture.
 * Besides: `hold` {phase, gesture,
 * progress} per frame and when a hold is dropped (hold-to-confirm's progress, reactions.js); `settings` (detail:
 * the classifier's settings) once its metadata is read.
 */

import {cameraEnded, cameraFailure, missingFeatures, openCamera, releaseCamera} from './camera.js';
import {TeachingError, decideWithCustom, learnGesture, parseGestures} from './custom-gestures.js';
import {GestureEngine, WorkerLostError} from './gesture-engine.js';
import {classifierSettings, readModelMetadata} from './onnx-metadata.js';
import {HoldToConfirm, RaisedHand} from './reactions.js';

/** More wasm threads stop paying off for two small models, and leave cores to the meeting itself. */
const MAX_THREADS = 4;

/** States in which the controller holds (or is opening) the camera. */
export const ACTIVE_STATES = new Set(['loading', 'running', 'paused']);

/**
 * Why the controller stopped by itself (the `error` event's and GestureReactionsError's `code`), or why start()
 * did not get it running ('aborted': stop() or close() came first; 'closed': close() was called before).
 */
export const ERROR_CODES = Object.freeze(['unsupported', 'permission-denied', 'no-camera', 'camera-unavailable',
  'camera-busy', 'camera-error', 'camera-ended', 'model-load-failed', 'recognition-failed', 'worker-lost', 'aborted',
  'closed']);

/**
 * Why learnGesture() refused (its TeachingError's `code`): no hand was shown, the pose changed, it is one of the
 * classifier's gestures or too close to a taught one, the name is taken; or the camera was not running, another
 * gesture was being taught, or recognition stopped meanwhile.
 */
export const TEACHING_CODES = Object.freeze(['no-hand', 'unsteady', 'built-in', 'too-close', 'name-taken',
  'not-running', 'busy', 'interrupted']);

/** Where taught gestures are kept in the host origin's localStorage (gestureStorage 'local'). */
const STORAGE_KEY = 'gesture-reactions:taught-gestures';

/**
 * How long a frame may stay in the worker before the worker counts as lost (hung, or closed without a word): a frame
 * takes well under a second, the first after a load longer while the browser compiles the runtime's code.
 */
const FRAME_TIMEOUT_MS = 5000;
const FIRST_FRAME_TIMEOUT_MS = 15000;

/** What a participant can do once recognition failed: the next start makes a new worker. */
const TRY_AGAIN = 'Turn gesture reactions on again to restart it. The reaction buttons still work.';

/** The folder the models (models/) and onnxruntime-web (ort/) come from unless `assetBase` says otherwise. */
const DEFAULT_ASSET_BASE = new URL('./', import.meta.url).href;

/** The recognition worker, always next to this module: it must be the same version as the code that talks to it. */
const WORKER_URL = new URL('./gesture-worker.js', import.meta.url);

/**
 * The files under an asset base: the three models, in onnxruntime's ORT format (optimised when they were built, not
 * in the browser), and the folder of onnxruntime-web's files.
 */
export function assetsAt(base) {
  const url = (path) => new URL(path, base);
  return {palm: url('models/palm_detection_lite.ort'), landmarks: url('models/hand_landmark_lite.ort'),
    classifier: url('models/classifier.int8.ort'), ort: url('ort/')};
}

const IDLE_HOLD = Object.freeze({phase: 'idle', gesture: null, progress: 0});

const DEFAULT_OPTIONS = Object.freeze({deviceId: '', srcObject: null, assetBase: DEFAULT_ASSET_BASE, threshold: null,
  hold: null, cooldown: null, gestures: null, emoji: {}, raiseHold: null, lowerAfter: null, numHands: null,
  minPalmScore: null, minGestureScore: null, maxFps: null, gestureStorage: 'local'});

/** The options the worker's pipeline takes, each over its classifier-metadata name (PipelineSettings). */
const PIPELINE_OPTIONS = {numHands: 'maxHands', minPalmScore: 'minPalmScore', minGestureScore: 'minGestureScore'};

/**
 * The numeric options' bounds: [least, most, unit], whole numbers only for 'whole'. The controller refuses a value
 * outside them; the element clamps its attributes to them.
 */
export const OPTION_RANGES = Object.freeze({
  threshold: [0, 1, ''], hold: [0, 60000, 'ms'], cooldown: [0, 600000, 'ms'], raiseHold: [0, 60000, 'ms'],
  lowerAfter: [0, 600000, 'ms'], numHands: [1, 4, 'whole'],
  minPalmScore: [0, 1, ''], minGestureScore: [0, 1, ''], maxFps: [1, 60, 'frames per second'],
});

function inRange(option) {
  const [least, most, unit] = OPTION_RANGES[option];
  const words = unit === 'whole' ? `a whole number from ${least} to ${most}`
    : `a number from ${least} to ${most}${unit ? ` (${unit})` : ''}`;
  return (v) => (Number.isFinite(v) && v >= least && v <= most && (unit !== 'whole' || Number.isInteger(v))) || words;
}

/** Whether `value` can be an asset base: an http(s) URL, or a path on the page's own server. */
function isAssetBase(value) {
  if (typeof value !== 'string' && !(value instanceof URL)) return false;
  const url = URL.canParse(String(value), location.href) ? new URL(String(value), location.href) : null;
  return url?.protocol === 'https:' || url?.protocol === 'http:';
}

/** Each option's check: a message when the value is wrong. null always means "the default". */
const OPTION_CHECKS = {
  deviceId: (v) => typeof v === 'string' || 'a camera id string',
  srcObject: (v) => (typeof v?.getVideoTracks === 'function') || 'a MediaStream',
  assetBase: (v) => isAssetBase(v) || 'an http(s) URL or a path',
  threshold: inRange('threshold'),
  hold: inRange('hold'),
  cooldown: inRange('cooldown'),
  gestures: (v) => (Array.isArray(v) && v.length > 0 && new Set(v).size === v.length
    && v.every((g) => typeof g === 'string' && g !== '' && g !== 'none')) || 'a list of distinct gesture names',
  emoji: (v) => (typeof v === 'object' && !Array.isArray(v)) || 'an object of gesture -> emoji',
  raiseHold: inRange('raiseHold'),
  lowerAfter: inRange('lowerAfter'),
  numHands: inRange('numHands'),
  minPalmScore: inRange('minPalmScore'),
  minGestureScore: inRange('minGestureScore'),
  maxFps: inRange('maxFps'),
  gestureStorage: (v) => ['local', 'none'].includes(v) || "'local' or 'none'",
};

/**
 * The TypeError for a wrong option value (one the controller has no check for is no option at all), or null when it
 * is right: the element checks its options by the same rule.
 */
export function optionError(key, value) {
  if (!(key in OPTION_CHECKS)) {
    return new TypeError(`GestureController has no option "${key}" (options: ${Object.keys(OPTION_CHECKS)})`);
  }
  const check = value === null || value === undefined ? true : OPTION_CHECKS[key](value);
  return check === true ? null : new TypeError(`option ${key}: expected ${check} or null, got ${String(value)}`);
}

/** Why start() did not get recognition running, or why it stopped by itself: `code` is one of ERROR_CODES. */
export class GestureReactionsError extends Error {
  constructor(code, state, message) {
    super(message);
    this.name = 'GestureReactionsError';
    this.code = code;
    this.state = state;
  }
}

function plannedThreads() {
  return self.crossOriginIsolated ? Math.max(1, Math.min(MAX_THREADS, navigator.hardwareConcurrency || 1)) : 1;
}

/** Where the camera plays when the caller shows it nowhere: frames are grabbed from a playing video. */
function detachedVideo() {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  return video;
}

/**
 * @typedef {{video?: HTMLVideoElement, srcObject?: MediaStream | null, deviceId?: string,
 *   assetBase?: string | URL, threshold?: number | null, hold?: number | null, cooldown?: number | null,
 *   gestures?: string[] | null, emoji?: Record<string, string>, raiseHold?: number | null,
 *   lowerAfter?: number | null, numHands?: number | null, minPalmScore?: number | null,
 *   minGestureScore?: number | null, maxFps?: number | null, gestureStorage?: 'local' | 'none' | null}}
 *   ControllerOptions
 *   video: where the camera plays (a detached muted one when not given); srcObject: the host's camera stream, used
 *   instead of opening one (its tracks are never stopped here); deviceId: a camera from enumerateDevices(), the
 *   browser's choice when empty (without srcObject); assetBase: the folder holding models/ and ort/ (default: this
 *   module's); threshold (0..1), hold and cooldown (ms): hold-to-confirm's; gestures: those that fire reactions
 *   (the classifier's labels; the others count as none), the classifier's default ones when null; raiseHold and lowerAfter (ms): the
 *   evidence raising the hand needs and the time without the gesture that lowers it; numHands, minPalmScore and
 *   minGestureScore: the pipeline's hands per frame, palm detection score and per-frame gesture score; maxFps: the
 *   most frames processed a second (the camera's rate when null); gestureStorage: where taught gestures are kept,
 *   this origin's localStorage ('local') or nowhere ('none'). Every null means the default.
 */

export class GestureController extends EventTarget {
  #video;
  #options = {...DEFAULT_OPTIONS};
  #state = 'off';
  #message = '';
  #threads = plannedThreads();
  #settings = null; // the classifier's labels, emoji, ...: from its metadata
  #settingsLoad = null;
  #engine = null;
  #engineLoad = null;
  #stream = null; // the stream frames come from: ours (opened here) or the host's
  #ownStream = false; // whether #stream was opened here, and so is stopped here
  #unwatchTrack = () => {};
  #muted = false; // the camera's track is muted: no pictures until it is unmuted
  #session = 0; // bumped by every start and stop: late answers from an older session are dropped
  #starting = null;
  #closed = false;
  #busy = false; // a frame is in the worker: the next ones are dropped until it answers
  #frameRequest = 0;
  #lastGrab = -Infinity;
  #cameraInterval = 0; // ms between the camera's frames
  #idle = false; // the last frame was idle: the next waits for the classifier's idleFps
  #gate; // hold-to-confirm: its numbers are null until given or read from the classifier
  #raised = null; // the raise-hand state, while the classifier has a raise-hand gesture and it is chosen
  #taught = []; // the gestures taught (custom-gestures.js), each {name, emoji, examples}
  #matching = null; // how taught gestures are matched: the landmark model's metadata, once the worker has read it
  #teaching = null; // the gesture being taught: {name, emoji, seconds, frames, start, resolve, reject}

  /** @param {ControllerOptions} [options] */
  constructor({video = detachedVideo(), ...options} = {}) {
    super();
    this.#video = video;
    this.#gate = new HoldToConfirm({...this.#reactionNumbers(), gestures: null});
    this.setOptions(options);
    this.#taught = this.#storedGestures();
    this.#configureGates();
  }

  /**
   * 'off' | 'loading' | 'running' | 'paused' | 'no-camera' | 'permission-denied' | 'unsupported' | 'error'
   * @returns {string}
   */
  get state() { return this.#state; }

  /** What the participant must know about the state; empty when running or off. */
  get message() { return this.#message; }

  /** Wasm threads recognition runs on (1 where the page is not cross-origin isolated). */
  get threads() { return this.#threads; }

  /**
   * The classifier's settings once its metadata is read, else null.
   * @returns {import('./onnx-metadata.js').ClassifierSettings | null}
   */
  get settings() { return this.#settings; }

  /**
   * The gestures that fire reactions: those the `gestures` option chose, else the classifier's defaults, in the
   * classifier's order; empty until its metadata is read.
   * @returns {string[]}
   */
  get gestures() {
    const chosen = this.#options.gestures ?? this.#settings?.defaultGestures ?? [];
    return (this.#settings?.gestures ?? []).filter((gesture) => chosen.includes(gesture));
  }

  /** Emoji per gesture: the classifier's, overridden by the `emoji` option. */
  get emoji() {
    const taught = Object.fromEntries(this.#taught.map(({name, emoji}) => [name, emoji]));
    return {...this.#settings?.emoji, ...taught, ...this.#options.emoji};
  }

  /**
   * The options in effect: each as given, else the classifier's default (null before its metadata is read); emoji
   * with the classifier's; gestures as given until the metadata is read, then those of them the classifier has;
   * maxFps null when frames come at the camera's rate.
   */
  get options() {
    const {deviceId, srcObject, assetBase, maxFps, gestureStorage} = this.#options;
    const gestures = this.#settings ? this.gestures : this.#options.gestures && [...this.#options.gestures];
    return {deviceId, srcObject, assetBase, ...this.#reactionNumbers(), gestures, emoji: this.emoji,
      ...this.#raiseNumbers(), ...this.#pipelineNumbers(), maxFps, gestureStorage};
  }

  /**
   * Change some options (null puts an option back to its default). A new srcObject or deviceId reopens the camera
   * and a new assetBase reloads the models, if it is on; the pipeline's numbers apply from the next frame. Gestures
   * the classifier does not have are refused once its metadata is read (and dropped, with a warning, when it is
   * read after them).
   * @param {Partial<Omit<ControllerOptions, 'video'>>} options
   */
  setOptions(options) {
    for (const [key, value] of Object.entries(options)) {
      const error = optionError(key, value);
      if (error) throw error;
    }
    const unknown = this.#settings && options.gestures?.find((gesture) => !this.#settings.gestures.includes(gesture));
    if (unknown) {
      throw new RangeError(`option gestures: the classifier has no gesture "${unknown}" `
        + `(it has: ${this.#settings.gestures.join(', ')})`);
    }
    const before = this.#options;
    this.#options = {...before, ...options};
    for (const [key, value] of Object.entries(this.#options)) this.#options[key] = value ?? DEFAULT_OPTIONS[key];
    this.#options.assetBase = new URL(this.#options.assetBase, location.href).href;
    if (this.#options.assetBase !== before.assetBase) { // another classifier may be there: read it anew
      this.#unloadAssets();
      this.#settings = null;
    }
    if (this.#options.gestureStorage !== before.gestureStorage) this.#taught = this.#storedGestures();
    this.#configureGates();
    this.#engine?.configure(this.#pipelineOverrides(), this.#options.gestures);
    const camera = ['srcObject', 'deviceId', 'assetBase'].some((key) => this.#options[key] !== before[key]);
    if (camera && ACTIVE_STATES.has(this.#state)) this.#restart();
  }

  /**
   * Read the classifier's settings (labels, emoji, defaults) without starting the worker, e.g. to offer reaction
   * buttons before start(). Resolves with them, or with null when the model cannot be read (start() says why).
   * @returns {Promise<import('./onnx-metadata.js').ClassifierSettings | null>}
   */
  loadSettings() {
    if (this.#settings) return Promise.resolve(this.#settings);
    const {classifier} = assetsAt(this.#options.assetBase);
    const load = fetch(classifier)
      .then((response) => {
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return response.arrayBuffer();
      })
      .then((bytes) => (this.#settingsLoad === load ? this.#useSettings(classifierSettings(readModelMetadata(bytes)))
        : this.loadSettings())) // the asset base changed meanwhile: read the new one's
      .catch(() => {
        if (this.#settingsLoad === load) this.#settingsLoad = null; // the next call tries again
        return null;
      });
    this.#settingsLoad ??= load;
    return this.#settingsLoad;
  }

  /**
   * Turn the camera and recognition on (a call while starting or on changes nothing).
   * @returns {Promise<string>} the state reached, 'running' (or 'paused' while the tab is hidden); rejects with a
   *   GestureReactionsError (its code and the state it left) when it fails, is stopped first, or after close()
   */
  start() {
    if (this.#closed) {
      return Promise.reject(new GestureReactionsError('closed', this.#state,
        'This gesture-reactions controller was closed: make a new one to start again.'));
    }
    if (this.#starting) return this.#starting;
    if (ACTIVE_STATES.has(this.#state)) return Promise.resolve(this.#state);
    return this.#begin();
  }

  /** Stop recognition and release the camera (not the host's stream); the models stay loaded for the next start(). */
  stop() {
    this.#release();
    this.#starting = null;
    this.#setState('off', '');
  }

  /** Stop, and free the worker and the models; a later start() loads them again (the element, when removed). */
  unload() {
    this.stop();
    this.#unloadAssets();
  }

  /** Stop and free everything, for good: a later start() rejects with code 'closed'. */
  close() {
    this.unload();
    this.#closed = true;
  }

  /**
   * Whether the participant's hand is raised: the classifier's raise-hand gesture (when it has one and it is chosen)
   * held for `raiseHold` ms of evidence, not yet lowered.
   */
  get handRaised() { return this.#raised?.raised ?? false; }

  /** Lower the raised hand (a "lower hand" button): `lower-hand`, source 'manual'; it rises again once shown anew. */
  lowerHand() {
    if (this.#raised?.lower()) this.#emitRaised('lower-hand', performance.now(), 'manual');
  }

  /**
   * Send a reaction without the camera (a reaction button): source 'manual'; a gesture not chosen, or the
   * raise-hand gesture, is refused.
   */
  react(gesture) {
    const known = this.#reactionGestures() ?? Object.keys(this.emoji);
    if (!known.includes(gesture)) throw new RangeError(`unknown gesture "${gesture}" (known: ${known.join(', ')})`);
    const timestamp = performance.now();
    this.#gate.fired(gesture, timestamp); // the camera must not send the same reaction again right after
    this.#fire(gesture, 1, timestamp, 'manual');
  }

  // Taught gestures -----------------------------------------------------------------------------------------------

  /**
   * The gestures taught with learnGesture() or importGestures(), each {name, emoji}: they fire reactions like the
   * classifier's own, whatever the `gestures` option.
   * @returns {{name: string, emoji: string}[]}
   */
  get customGestures() { return this.#taught.map(({name, emoji}) => ({name, emoji})); }

  /**
   * Teach a gesture: while recognition runs, the participant holds the pose for `seconds` (the landmark model's
   * default when null); its hands become the gesture's examples, and its reactions carry `emoji` (✨ by default).
   * Resolves with {name, emoji} once learned; rejects with a TeachingError whose code (TEACHING_CODES) and message
   * say why not. `learning` events {name, progress} follow it frame by frame; no reaction fires meanwhile.
   * @param {string} name @param {{emoji?: string, seconds?: number | null}} [options]
   * @returns {Promise<{name: string, emoji: string}>}
   */
  learnGesture(name, {emoji = '✨', seconds = null} = {}) {
    if (typeof name !== 'string' || name.trim() === '' || name === 'none') {
      return Promise.reject(new TypeError(`learnGesture: expected a gesture name, got ${String(name)}`));
    }
    if (typeof emoji !== 'string' || !(seconds === null || (Number.isFinite(seconds) && seconds > 0))) {
      return Promise.reject(new TypeError('learnGesture: emoji must be a string and seconds a positive number'));
    }
    if (this.#teaching) return Promise.reject(new TeachingError('busy', `"${this.#teaching.name}" is being taught.`));
    if (this.#state !== 'running') {
      return Promise.reject(new TeachingError('not-running', 'Start gesture recognition before teaching a gesture.'));
    }
    return new Promise((resolve, reject) => {
      this.#teaching = {name, emoji, seconds, frames: [], start: null, resolve, reject};
      this.#gate.reset();
      this.#emit('hold', IDLE_HOLD);
      this.#emit('learning', {name, progress: 0});
    });
  }

  /** Forget a taught gesture; whether there was one by that name. */
  forgetGesture(name) {
    const kept = this.#taught.filter((gesture) => gesture.name !== name);
    if (kept.length === this.#taught.length) return false;
    this.#setTaught(kept);
    return true;
  }

  /** The taught gestures as JSON, for the host to keep where it likes (importGestures() takes it back). */
  exportGestures() { return JSON.stringify(this.#taught); }

  /**
   * Replace the taught gestures with those of exportGestures()'s JSON; a TypeError when it is not that, or a name is
   * one of the classifier's gestures. Returns their names.
   * @param {string} json @returns {string[]}
   */
  importGestures(json) {
    const gestures = parseGestures(json);
    const builtin = gestures.find(({name}) => this.#settings?.labels.includes(name));
    if (builtin) throw new TypeError(`taught gestures: "${builtin.name}" is one of the classifier's gestures`);
    this.#setTaught(gestures);
    return gestures.map(({name}) => name);
  }

  #setTaught(gestures) {
    this.#taught = gestures;
    this.#configureGates();
    if (this.#options.gestureStorage !== 'local') return;
    try {
      if (gestures.length) localStorage.setItem(STORAGE_KEY, JSON.stringify(gestures));
      else localStorage.removeItem(STORAGE_KEY);
    } catch (error) { // storage full, or refused to this page
      console.warn(`gesture-reactions: could not keep the taught gestures in localStorage (${error.message})`);
    }
  }

  /** The gestures kept in localStorage (gestureStorage 'local'), none when there are none or they are unreadable. */
  #storedGestures() {
    if (this.#options.gestureStorage !== 'local') return [];
    try {
      const stored = localStorage.getItem(STORAGE_KEY);
      return stored === null ? [] : parseGestures(stored);
    } catch (error) {
      console.warn(`gesture-reactions: the taught gestures in localStorage were left out (${error.message})`);
      return [];
    }
  }

  /** One more frame of the gesture being taught; once it was shown long enough, learn it or say why not. */
  #teach(hands, timestamp) {
    const teaching = this.#teaching;
    teaching.start ??= timestamp;
    teaching.frames.push(hands);
    const duration = teaching.seconds === null ? this.#matching.teachMs : 1000 * teaching.seconds;
    const progress = Math.min(1, (timestamp - teaching.start) / duration);
    this.#emit('learning', {name: teaching.name, progress});
    if (progress < 1) return;
    this.#teaching = null;
    const {name, emoji, frames} = teaching;
    try {
      const gesture = learnGesture(name, emoji, frames, this.#settings.gestures, this.#settings.names, this.#taught,
        this.#pipelineNumbers().minGestureScore, this.#matching);
      this.#setTaught([...this.#taught, gesture]);
      teaching.resolve({name, emoji});
    } catch (error) { // a TeachingError: why not
      teaching.reject(error);
    }
  }

  /** Teaching stopped with recognition: it is refused. */
  #interruptTeaching() {
    const teaching = this.#teaching;
    if (!teaching) return;
    this.#teaching = null;
    teaching.reject(new TeachingError('interrupted', `Recognition stopped while "${teaching.name}" was taught.`));
  }

  // Lifecycle -----------------------------------------------------------------------------------------------------

  #reactionNumbers() {
    const defaults = this.#settings?.reactions;
    const {threshold, hold, cooldown} = this.#options;
    return {threshold: threshold ?? defaults?.threshold ?? null, hold: hold ?? defaults?.hold ?? null,
      cooldown: cooldown ?? defaults?.cooldown ?? null};
  }

  #raiseNumbers() {
    const defaults = this.#settings?.raiseHand;
    const {raiseHold, lowerAfter} = this.#options;
    return {raiseHold: raiseHold ?? defaults?.hold ?? null, lowerAfter: lowerAfter ?? defaults?.lowerAfter ?? null};
  }

  /**
   * The gestures that fire reactions: those chosen but the raise-hand one, and the taught ones (null: every one,
   * metadata unread).
   */
  #reactionGestures() {
    const raise = this.#settings?.raiseHand?.gesture;
    const taught = this.#taught.map(({name}) => name);
    if (this.#settings) return [...this.gestures.filter((gesture) => gesture !== raise), ...taught];
    return this.#options.gestures && [...this.#options.gestures, ...taught];
  }

  /** Hold-to-confirm's and the raise-hand state's numbers from the options and the classifier's defaults. */
  #configureGates() {
    this.#gate.configure({...this.#reactionNumbers(), gestures: this.#reactionGestures()});
    const raise = this.#settings?.raiseHand?.gesture;
    if (!raise || !this.gestures.includes(raise)) {
      this.#dropRaisedHand(performance.now());
      return;
    }
    const {raiseHold, lowerAfter} = this.#raiseNumbers();
    const numbers = {gesture: raise, threshold: this.#reactionNumbers().threshold, hold: raiseHold, lowerAfter};
    if (this.#raised) Object.assign(this.#raised, numbers);
    else this.#raised = new RaisedHand(numbers);
  }

  /** Forget the raise-hand state, lowering the hand if it was raised (recognition stopped, raise hand unchosen). */
  #dropRaisedHand(timestamp) {
    this.#lowerRaisedHand(timestamp);
    this.#raised = null;
  }

  /** Recognition stopped: a raised hand is lowered, and raising it again starts from nothing. */
  #lowerRaisedHand(timestamp) {
    if (this.#raised?.raised) this.#emitRaised('lower-hand', timestamp, 'camera');
    this.#raised?.reset();
  }

  #emitRaised(type, timestamp, source) {
    const {gesture} = this.#raised;
    this.#emit(type, {gesture, emoji: this.emoji[gesture] ?? '', timestamp, source});
  }

  #pipelineNumbers() {
    const defaults = this.#settings?.pipeline;
    return Object.fromEntries(Object.entries(PIPELINE_OPTIONS).map(([option, name]) =>
      [option, this.#options[option] ?? defaults?.[name] ?? null]));
  }

  /** The pipeline settings the options change, by their metadata names: the worker applies them over its own. */
  #pipelineOverrides() {
    return Object.fromEntries(Object.entries(PIPELINE_OPTIONS).filter(([option]) => this.#options[option] !== null)
      .map(([option, name]) => [name, this.#options[option]]));
  }

  #useSettings(settings) {
    this.#settings = settings;
    const unknown = this.#options.gestures?.filter((gesture) => !settings.gestures.includes(gesture)) ?? [];
    if (unknown.length) {
      console.warn(`gesture-reactions: the classifier has no gesture ${unknown.join(', ')} `
        + `(it has: ${settings.gestures.join(', ')}); only the others fire`);
    }
    this.#configureGates();
    this.#emit('settings', settings);
    return settings;
  }

  /** Forget the worker, the models and their settings (a new asset base, or unload()). */
  #unloadAssets() {
    this.#dropEngine();
    this.#settingsLoad = null;
  }

  /** Stop the worker and forget it: the next start() makes a new one and loads the models into it. */
  #dropEngine() {
    this.#engine?.close();
    this.#engine = null;
    this.#engineLoad = null;
  }

  #begin() {
    const session = ++this.#session;
    let settle;
    const run = new Promise((resolve, reject) => { settle = {resolve, reject}; });
    const starting = run.finally(() => {
      if (this.#starting === starting) this.#starting = null; // not already replaced by a newer start
    });
    // set before #run emits its first statechange, so that a start() from a listener finds it starting
    this.#starting = starting;
    this.#run(session).then(settle.resolve, settle.reject);
    return starting;
  }

  async #run(session) {
    const missing = missingFeatures({hostStream: Boolean(this.#options.srcObject)});
    if (missing.length) {
      throw this.#fail('unsupported', 'unsupported', 'This browser cannot run gesture reactions: it lacks '
        + `${missing.join(', ')}. The reaction buttons still work.`);
    }
    this.#setState('loading', 'Starting the camera and loading the gesture models…');
    const [camera, engine] = await Promise.allSettled([this.#playCamera(session), this.#loadEngine()]);
    if (session !== this.#session) { // stopped, or restarted with a new camera or asset base
      if (this.#starting) return this.#starting;
      throw new GestureReactionsError('aborted', this.#state, 'stop() or close() was called before start() ended.');
    }
    if (camera.status === 'rejected') {
      const {state, code, message} = cameraFailure(camera.reason);
      throw this.#fail(state, code, message);
    }
    if (camera.value.ended || this.#stream?.getVideoTracks()[0]?.readyState === 'ended') { // before or while loading
      const {state, code, message} = cameraEnded();
      throw this.#fail(state, code, message);
    }
    if (camera.value.playError) {
      throw this.#fail('error', 'camera-error', 'The camera picture could not be played '
        + `(${camera.value.playError.message}).`);
    }
    if (engine.status === 'rejected') throw this.#fail('error', 'model-load-failed', engine.reason.message);
    this.#threads = engine.value.threads;
    this.#engine.configure(this.#pipelineOverrides(), this.#options.gestures);
    this.#engine.reset();
    this.#idle = false;
    this.#gate.reset();
    document.addEventListener('visibilitychange', this.#onPause);
    this.#onPause();
    return this.#state;
  }

  /**
   * Opens the camera (or takes the host's stream) and plays it in the video while the models load, so that its first
   * frame is there when they are; resolves to {ended} when the stream has no live video track, to {playError} when
   * the picture cannot be played, and rejects as getUserMedia does.
   */
  async #playCamera(session) {
    const host = this.#options.srcObject;
    const stream = host ?? await openCamera(this.#options.deviceId);
    if (session !== this.#session) { // stopped or restarted meanwhile
      if (!host) releaseCamera(stream);
      return {};
    }
    this.#stream = stream;
    this.#ownStream = !host;
    const track = stream.getVideoTracks()[0];
    if (!track || track.readyState === 'ended') return {ended: true};
    this.#watch(track, session);
    const frameRate = track.getSettings().frameRate;
    this.#cameraInterval = frameRate ? 1000 / frameRate : 0;
    this.#video.srcObject = stream;
    try {
      await this.#video.play();
      return {};
    } catch (playError) {
      return {playError};
    }
  }

  /** A camera that ends (unplugged, taken by another app) fails; one that is muted pauses until it is unmuted. */
  #watch(track, session) {
    const current = () => session === this.#session && !this.#starting;
    const ended = () => {
      // while loading, #run sees the ended track itself once the models are in, and fails start() with it
      if (session !== this.#session || this.#state === 'loading') return;
      const {state, code, message} = cameraEnded();
      this.#fail(state, code, message);
    };
    const muted = () => {
      this.#muted = track.muted;
      if (current()) this.#onPause();
    };
    this.#muted = track.muted;
    track.addEventListener('ended', ended);
    track.addEventListener('mute', muted);
    track.addEventListener('unmute', muted);
    this.#unwatchTrack = () => {
      track.removeEventListener('ended', ended);
      track.removeEventListener('mute', muted);
      track.removeEventListener('unmute', muted);
    };
  }

  #restart() {
    this.#release();
    this.#starting = null;
    this.#begin().catch(() => {}); // its failure reaches the page as an `error` event and a state
  }

  /** Release the camera (unless it is the host's) and forget the session; the state is the caller's to set. */
  #release() {
    this.#session += 1;
    document.removeEventListener('visibilitychange', this.#onPause);
    cancelAnimationFrame(this.#frameRequest);
    this.#frameRequest = 0;
    this.#unwatchTrack();
    this.#unwatchTrack = () => {};
    this.#muted = false;
    if (this.#ownStream) releaseCamera(this.#stream);
    this.#stream = null;
    this.#ownStream = false;
    this.#video.srcObject = null;
    this.#gate.reset();
    this.#lowerRaisedHand(performance.now());
    this.#interruptTeaching();
    this.#engine?.reset();
    this.#idle = false;
    this.#emit('hold', IDLE_HOLD);
  }

  /**
   * A state the participant must act on: the camera is released, an `error` event says why, and start() tries
   * again. Returns the error, for start()'s caller.
   */
  #fail(state, code, message) {
    this.#release();
    this.#emit('error', {code, state, message});
    this.#setState(state, message);
    return new GestureReactionsError(code, state, message);
  }

  /** Pause while the tab is hidden or the camera muted (a hold in progress is dropped); run again after. */
  #onPause = () => {
    if (document.hidden || this.#muted) {
      cancelAnimationFrame(this.#frameRequest);
      this.#frameRequest = 0;
      this.#gate.reset();
      this.#interruptTeaching();
      this.#engine?.reset();
      this.#idle = false;
      this.#emit('hold', IDLE_HOLD);
      this.#setState('paused', document.hidden ? 'Paused while this tab is hidden.'
        : 'Paused: the camera sends no picture (another application or the system may have paused it).');
    } else {
      this.#setState('running', '');
      this.#schedule();
    }
  };

  #loadEngine() {
    if (!this.#engineLoad) {
      const engine = new GestureEngine(WORKER_URL);
      const assets = assetsAt(this.#options.assetBase);
      this.#engine = engine;
      this.#engineLoad = engine.load({
        ortUrl: assets.ort, palmUrl: assets.palm, landmarksUrl: assets.landmarks, classifierUrl: assets.classifier,
        threads: plannedThreads(),
      }).then((loaded) => {
        if (this.#engine === engine) {
          this.#matching = loaded.customGestures;
          this.#useSettings(loaded.settings);
        }
        return loaded;
      }, (error) => {
        if (this.#engine === engine) { // not already closed and replaced
          engine.close();
          this.#engine = null;
          this.#engineLoad = null; // the next start() tries again
        }
        throw error;
      });
    }
    return this.#engineLoad;
  }

  // Frames --------------------------------------------------------------------------------------------------------

  #schedule() {
    if (this.#frameRequest || this.#state !== 'running') return;
    this.#frameRequest = requestAnimationFrame((now) => {
      this.#frameRequest = 0;
      this.#grab(now);
    });
  }

  async #grab(now) {
    if (this.#stream?.getVideoTracks()[0]?.readyState === 'ended') { // stopped by its owner: no 'ended' event then
      const {state, code, message} = cameraEnded();
      this.#fail(state, code, message);
      return;
    }
    const video = this.#video;
    const ready = video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA && video.videoWidth > 0;
    const {maxFps} = this.#options;
    const idleFps = this.#idle ? this.#settings?.pipeline.idleFps : 0;
    const interval = Math.max(this.#cameraInterval, maxFps ? 1000 / maxFps : 0, idleFps ? 1000 / idleFps : 0);
    // one frame in the worker at a time, no faster than the camera delivers new ones, than maxFps allows, nor, while
    // nothing moves in front of the camera, than idleFps
    if (this.#busy || !ready || now - this.#lastGrab < interval * 0.9) {
      this.#schedule();
      return;
    }
    const session = this.#session;
    this.#busy = true;
    this.#lastGrab = now;
    const timestamp = performance.now();
    try {
      const frame = await createImageBitmap(video);
      if (session !== this.#session || !this.#engine) {
        frame.close();
        return;
      }
      const engine = this.#engine;
      const result = await engine.recognise(frame, engine.answered ? FRAME_TIMEOUT_MS : FIRST_FRAME_TIMEOUT_MS);
      if (session === this.#session && this.#state === 'running') this.#recognised(result, timestamp);
    } catch (error) {
      if (session === this.#session) {
        this.#dropEngine(); // a worker that failed once may fail again: start() makes a new one
        if (error instanceof WorkerLostError) this.#fail('error', 'worker-lost', `${error.message} ${TRY_AGAIN}`);
        else this.#fail('error', 'recognition-failed', `${error.message} ${TRY_AGAIN}`);
      }
    } finally {
      this.#busy = false;
      if (session === this.#session) this.#schedule();
    }
  }

  #recognised(result, timestamp) {
    const {hands, detected, regions, still, idle, timings} = result;
    this.#idle = idle;
    const {gesture, confidence, box} = this.#taught.length
      ? decideWithCustom(result, this.#taught, this.#settings.gestures, this.#pipelineNumbers().minGestureScore,
        this.#matching)
      : result;
    this.#emit('gesture', {gesture, confidence, box, hands, detected, regions, still, idle, timings, timestamp});
    if (this.#teaching) {
      this.#teach(hands, timestamp);
      return;
    }
    const {phase, gesture: held, progress, reaction} = this.#gate.update(gesture, confidence, timestamp);
    this.#emit('hold', {phase, gesture: held, progress});
    if (reaction) this.#fire(reaction.gesture, reaction.confidence, timestamp, 'camera');
    if (!this.#raised) return;
    const {change} = this.#raised.update(gesture, confidence, timestamp);
    if (change) this.#emitRaised(change === 'raise' ? 'raise-hand' : 'lower-hand', timestamp, 'camera');
  }

  #fire(gesture, confidence, timestamp, source) {
    this.#emit('reaction', {gesture, emoji: this.emoji[gesture] ?? '', confidence, timestamp, source});
  }

  #setState(state, message) {
    if (state === this.#state && message === this.#message) return;
    this.#state = state;
    this.#message = message;
    this.#emit('statechange', {state, message, threads: this.#threads});
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, {detail}));
  }
}

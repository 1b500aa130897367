/**
 * Gesture reactions without an element: the camera, the recognition worker, frame pacing, the pause while the tab
 * is hidden, and hold-to-confirm. <gesture-reactions> renders one of these; a page may also use it directly:
 *
 *   const controller = new GestureController({assets, video});   // video: optional, to show the camera
 *   controller.addEventListener('reaction', ({detail}) => ...);
 *   await controller.start();
 *
 * Events: `reaction` {gesture, emoji, confidence, timestamp, source}; `gesture`, one per processed frame
 * {gesture, confidence, box, hands, detected, regions, still, timings, timestamp} (hands: box, probabilities,
 * presence and 21 landmarks each; regions: where the landmark model looked; still: how many of the hands, first in
 * `hands`, had not moved and were kept without running a model); `statechange` {state, message, threads} (message:
 * what the participant must know, empty when running or off), as the element's. Besides: `hold` {phase, gesture,
 * progress} per frame and when a hold is dropped (hold-to-confirm's progress, reactions.js); `settings` (detail:
 * the classifier's settings) once its metadata is read; `failure` {state, message} when the controller stops by
 * itself (camera refused or missing, browser unsupported, a model or frame that fails), before its statechange.
 */

import {cameraFailure, missingFeatures, openCamera, releaseCamera} from './camera.js';
import {GestureEngine} from './gesture-engine.js';
import {classifierSettings, readOnnxMetadata} from './onnx-metadata.js';
import {HoldToConfirm} from './reactions.js';

/** More wasm threads stop paying off for two small models, and leave cores to the meeting itself. */
const MAX_THREADS = 4;

/** States in which the controller holds (or is opening) the camera. */
export const ACTIVE_STATES = new Set(['loading', 'running', 'paused']);

const IDLE_HOLD = Object.freeze({phase: 'idle', gesture: null, progress: 0});

const OPTIONS = ['deviceId', 'threshold', 'hold', 'cooldown', 'emoji'];

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
 * @typedef {{worker: URL, palm: URL, landmarks: URL, classifier: URL, ort: URL}} Assets the worker module
 *   (gesture-worker.js), the three models, and the folder of onnxruntime-web's files
 * @typedef {{assets: Assets, video?: HTMLVideoElement, deviceId?: string, threshold?: number | null,
 *   hold?: number | null, cooldown?: number | null, emoji?: Record<string, string>}} ControllerOptions
 *   video: where the camera plays (a detached muted one when not given); deviceId: a camera from
 *   enumerateDevices(), the browser's choice when empty; threshold (0..1), hold and cooldown (ms): null for the
 *   classifier's defaults; emoji: per gesture, over the classifier's
 */

export class GestureController extends EventTarget {
  #assets;
  #video;
  #options = {deviceId: '', threshold: null, hold: null, cooldown: null, emoji: {}};
  #state = 'off';
  #message = '';
  #threads = plannedThreads();
  #settings = null; // the classifier's labels, emoji, ...: from its metadata
  #settingsLoad = null;
  #engine = null;
  #engineLoad = null;
  #stream = null;
  #session = 0; // bumped by every start and stop: late answers from an older session are dropped
  #starting = null;
  #busy = false; // a frame is in the worker: the next ones are dropped until it answers
  #frameRequest = 0;
  #lastGrab = -Infinity;
  #frameInterval = 0;
  #gate; // hold-to-confirm: its numbers are null until given or read from the classifier

  /** @param {ControllerOptions} options */
  constructor({assets, video = detachedVideo(), ...options}) {
    super();
    this.#assets = assets;
    this.#video = video;
    this.#gate = new HoldToConfirm(this.#reactionNumbers());
    this.setOptions(options);
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

  /** Emoji per gesture: the classifier's, overridden by the `emoji` option. */
  get emoji() { return {...this.#settings?.emoji, ...this.#options.emoji}; }

  /**
   * The options in effect: threshold, hold and cooldown as given, else the classifier's defaults, else null
   * before its metadata is read; emoji with the classifier's.
   */
  get options() {
    return {deviceId: this.#options.deviceId, ...this.#reactionNumbers(), emoji: this.emoji};
  }

  /**
   * Change some options; a new deviceId reopens the camera if it is on.
   * @param {Partial<Omit<ControllerOptions, 'assets' | 'video'>>} options
   */
  setOptions(options) {
    const unknown = Object.keys(options).filter((key) => !OPTIONS.includes(key));
    if (unknown.length) throw new TypeError(`GestureController has no option "${unknown[0]}" (options: ${OPTIONS})`);
    const camera = this.#options.deviceId;
    this.#options = {...this.#options, ...options};
    this.#options.deviceId ||= '';
    this.#options.emoji ??= {};
    this.#gate.configure(this.#reactionNumbers());
    if (this.#options.deviceId !== camera && ACTIVE_STATES.has(this.#state)) this.#restart();
  }

  /**
   * Read the classifier's settings (labels, emoji, defaults) without starting the worker, e.g. to offer reaction
   * buttons before start(). Resolves with them, or with null when the model cannot be read (start() says why).
   * @returns {Promise<import('./onnx-metadata.js').ClassifierSettings | null>}
   */
  loadSettings() {
    if (this.#settings) return Promise.resolve(this.#settings);
    this.#settingsLoad ??= fetch(this.#assets.classifier)
      .then((response) => {
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return response.arrayBuffer();
      })
      .then((bytes) => this.#useSettings(classifierSettings(readOnnxMetadata(bytes))))
      .catch(() => {
        this.#settingsLoad = null; // the next call tries again
        return null;
      });
    return this.#settingsLoad;
  }

  /**
   * Turn the camera and recognition on (a call while starting or on changes nothing).
   * @returns {Promise<string>} the state reached ('running', 'permission-denied', ...)
   */
  start() {
    if (this.#starting) return this.#starting;
    if (ACTIVE_STATES.has(this.#state)) return Promise.resolve(this.#state);
    return this.#begin();
  }

  /** Stop recognition and release the camera; the models stay loaded for the next start(). */
  stop() {
    this.#release();
    this.#starting = null;
    this.#setState('off', '');
  }

  /** Stop, and free the worker and the models (a later start() loads them again). */
  close() {
    this.stop();
    this.#engine?.close();
    this.#engine = null;
    this.#engineLoad = null;
  }

  /** Send a reaction without the camera (a reaction button): source 'manual'. */
  react(gesture) {
    const known = this.#settings?.gestures ?? Object.keys(this.emoji);
    if (!known.includes(gesture)) throw new RangeError(`unknown gesture "${gesture}" (known: ${known.join(', ')})`);
    const timestamp = performance.now();
    this.#gate.fired(gesture, timestamp); // the camera must not send the same reaction again right after
    this.#fire(gesture, 1, timestamp, 'manual');
  }

  // Lifecycle -----------------------------------------------------------------------------------------------------

  #reactionNumbers() {
    const defaults = this.#settings?.reactions;
    const {threshold, hold, cooldown} = this.#options;
    return {threshold: threshold ?? defaults?.threshold ?? null, hold: hold ?? defaults?.hold ?? null,
      cooldown: cooldown ?? defaults?.cooldown ?? null};
  }

  #useSettings(settings) {
    this.#settings = settings;
    this.#gate.configure(this.#reactionNumbers());
    this.#emit('settings', settings);
    return settings;
  }

  #begin() {
    const session = ++this.#session;
    const starting = this.#run(session).finally(() => {
      if (this.#starting === starting) this.#starting = null; // not already replaced by a newer start
    });
    this.#starting = starting;
    return starting;
  }

  async #run(session) {
    const missing = missingFeatures();
    if (missing.length) {
      return this.#fail('unsupported', `This browser cannot run gesture reactions: it lacks ${missing.join(', ')}. `
        + 'The reaction buttons still work.');
    }
    this.#setState('loading', 'Starting the camera and loading the gesture models…');
    const [camera, engine] = await Promise.allSettled([this.#playCamera(session), this.#loadEngine()]);
    if (session !== this.#session) return this.#state;
    if (camera.status === 'rejected') {
      const {state, message} = cameraFailure(camera.reason);
      return this.#fail(state, message);
    }
    if (camera.value.playError) {
      return this.#fail('error', `The camera picture could not be played (${camera.value.playError.message}).`);
    }
    if (engine.status === 'rejected') return this.#fail('error', engine.reason.message);
    this.#threads = engine.value.threads;
    this.#engine.reset();
    this.#gate.reset();
    document.addEventListener('visibilitychange', this.#onVisibilityChange);
    this.#onVisibilityChange();
    return this.#state;
  }

  /**
   * Opens the camera and plays it in the video while the models load, so that its first frame is there when they
   * are; resolves to {playError} when the picture cannot be played, and rejects as getUserMedia does.
   */
  async #playCamera(session) {
    const stream = await openCamera(this.#options.deviceId);
    if (session !== this.#session) { // stopped or restarted meanwhile
      releaseCamera(stream);
      return {};
    }
    this.#stream = stream;
    const frameRate = stream.getVideoTracks()[0]?.getSettings().frameRate;
    this.#frameInterval = frameRate ? 1000 / frameRate : 0;
    this.#video.srcObject = stream;
    try {
      await this.#video.play();
      return {};
    } catch (playError) {
      return {playError};
    }
  }

  #restart() {
    this.#release();
    this.#starting = null;
    this.#begin();
  }

  /** Release the camera and forget the session; the state is the caller's to set. */
  #release() {
    this.#session += 1;
    document.removeEventListener('visibilitychange', this.#onVisibilityChange);
    cancelAnimationFrame(this.#frameRequest);
    this.#frameRequest = 0;
    releaseCamera(this.#stream);
    this.#stream = null;
    this.#video.srcObject = null;
    this.#gate.reset();
    this.#engine?.reset();
    this.#emit('hold', IDLE_HOLD);
  }

  /** A state the participant must act on: the camera is released, and start() tries again. */
  #fail(state, message) {
    this.#release();
    this.#emit('failure', {state, message});
    this.#setState(state, message);
    return state;
  }

  #onVisibilityChange = () => {
    if (document.hidden) {
      cancelAnimationFrame(this.#frameRequest);
      this.#frameRequest = 0;
      this.#gate.reset();
      this.#engine?.reset();
      this.#emit('hold', IDLE_HOLD);
      this.#setState('paused', 'Paused while this tab is hidden.');
    } else {
      this.#setState('running', '');
      this.#schedule();
    }
  };

  #loadEngine() {
    if (!this.#engineLoad) {
      const engine = new GestureEngine(this.#assets.worker);
      this.#engine = engine;
      this.#engineLoad = engine.load({
        ortUrl: this.#assets.ort, palmUrl: this.#assets.palm, landmarksUrl: this.#assets.landmarks,
        classifierUrl: this.#assets.classifier,
        threads: plannedThreads(),
      }).then((loaded) => {
        this.#useSettings(loaded.settings);
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
    const video = this.#video;
    const ready = video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA && video.videoWidth > 0;
    // one frame in the worker at a time, and no faster than the camera delivers new ones
    if (this.#busy || !ready || now - this.#lastGrab < this.#frameInterval * 0.9) {
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
      const result = await this.#engine.recognise(frame);
      if (session === this.#session && this.#state === 'running') this.#recognised(result, timestamp);
    } catch (error) {
      if (session === this.#session) this.#fail('error', error.message);
    } finally {
      this.#busy = false;
      if (session === this.#session) this.#schedule();
    }
  }

  #recognised({gesture, confidence, box, hands, detected, regions, still, timings}, timestamp) {
    this.#emit('gesture', {gesture, confidence, box, hands, detected, regions, still, timings, timestamp});
    const {phase, gesture: held, progress, reaction} = this.#gate.update(gesture, confidence, timestamp);
    this.#emit('hold', {phase, gesture: held, progress});
    if (reaction) this.#fire(reaction.gesture, reaction.confidence, timestamp, 'camera');
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

/**
 * <gesture-reactions>: thumbs up, thumbs down and OK-sign reactions from the participant's camera, recognised in
 * this browser. A host page needs one script tag and one element:
 *
 *   <script type="module" src="https://HOST/static/gesture-reactions.js"></script>
 *   <gesture-reactions></gesture-reactions>
 *
 * and listens for `reaction` events. The camera stays off until the participant (or the host) turns the widget on;
 * frames go to a Web Worker on this page and nowhere else.
 *
 * Attributes (and the same-named properties): enabled, threshold (0..1), hold (ms), cooldown (ms), emoji (JSON
 * object, e.g. '{"ok": "👌"}'), device-id, self-view. Options object: `el.options`, `el.setOptions({...})`.
 * Methods: start() -> Promise of the state reached, stop(), close(), react(gesture).
 * Events (bubbling, composed): reaction, gesture, statechange.
 */

import {cameraFailure, missingFeatures, openCamera, releaseCamera} from './camera.js';
import {GestureEngine} from './gesture-engine.js';
import {classifierSettings, readOnnxMetadata} from './onnx-metadata.js';
import {DEFAULTS, HoldToConfirm} from './reactions.js';
import {widgetStyles} from './widget-style.js';

/** Everything the widget loads, next to this module on the server that serves it (no CDN). */
const ASSETS = {
  worker: new URL('./gesture-worker.js', import.meta.url),
  palm: new URL('./models/palm_detection_lite.onnx', import.meta.url),
  classifier: new URL('./models/classifier.int8.onnx', import.meta.url),
  ort: new URL('../ort/', import.meta.url),
};

/** More wasm threads stop paying off for two small models, and leave cores to the meeting itself. */
const MAX_THREADS = 4;

/** Words for the labels the classifier has today; an unknown label is shown as itself. */
const GESTURE_NAMES = {like: 'thumbs up', dislike: 'thumbs down', ok: 'OK sign'};

const OPTION_ATTRIBUTES = {
  enabled: 'enabled', threshold: 'threshold', hold: 'hold', cooldown: 'cooldown', emoji: 'emoji',
  deviceId: 'device-id', selfView: 'self-view',
};

const ACTIVE_STATES = new Set(['loading', 'running', 'paused']);

const TEMPLATE = `
<div class="widget" part="widget">
  <div class="view" part="view" hidden>
    <div class="mirror">
      <video muted playsinline disablepictureinpicture></video>
      <div class="hand" hidden></div>
    </div>
  </div>
  <div class="bar">
    <button class="toggle" type="button" part="toggle" aria-pressed="false">
      <span class="switch" aria-hidden="true"></span><span>Gesture reactions</span>
    </button>
    <div class="hold" part="hold" aria-hidden="true"><span class="hold-emoji"></span></div>
    <span class="badge" part="badge" title="Your camera is analysed in this browser; no video leaves this device"
      >Processed on this device</span>
  </div>
  <p class="status" part="status" role="status"></p>
  <p class="note" part="note" hidden></p>
  <div class="buttons" part="buttons" role="group" aria-label="Send a reaction" hidden>
    <span class="buttons-label">Or send:</span>
  </div>
  <div class="visually-hidden" aria-live="polite"></div>
</div>`;

function gestureName(gesture) {
  return GESTURE_NAMES[gesture] ?? gesture;
}

function plannedThreads() {
  return self.crossOriginIsolated ? Math.max(1, Math.min(MAX_THREADS, navigator.hardwareConcurrency || 1)) : 1;
}

/** The `emoji` attribute: a JSON object of gesture -> emoji; anything else is ignored, with a warning. */
function parseEmoji(text) {
  if (!text) return {};
  try {
    const value = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      return Object.fromEntries(Object.entries(value).filter(([, emoji]) => typeof emoji === 'string' && emoji));
    }
  } catch {
    // warned below
  }
  console.warn(`gesture-reactions: ignoring emoji='${text}': expected a JSON object such as {"ok": "👌"}`);
  return {};
}

function numberAttribute(element, name, fallback, min, max) {
  const value = Number.parseFloat(element.getAttribute(name) ?? '');
  return Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : fallback;
}

export class GestureReactionsElement extends HTMLElement {
  static observedAttributes = Object.values(OPTION_ATTRIBUTES);

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
  #quiet = false; // the widget itself is clearing `enabled`: not a request to stop
  #emojiOverrides = {};
  #gate = new HoldToConfirm();
  #parts;

  constructor() {
    super();
    const root = this.attachShadow({mode: 'open'});
    root.adoptedStyleSheets = [widgetStyles()];
    root.innerHTML = TEMPLATE;
    const part = (selector) => root.querySelector(selector);
    this.#parts = {
      view: part('.view'), video: part('video'), hand: part('.hand'), toggle: part('.toggle'), hold: part('.hold'),
      holdEmoji: part('.hold-emoji'), status: part('.status'), note: part('.note'), buttons: part('.buttons'),
      announcer: part('[aria-live]'), widget: part('.widget'),
    };
    this.#parts.toggle.addEventListener('click', () => (this.enabled ? this.stop() : this.start()));
    this.#parts.buttons.addEventListener('click', (event) => {
      const gesture = event.target.closest('button')?.dataset.gesture;
      if (gesture) this.react(gesture);
    });
    this.#parts.video.addEventListener('loadedmetadata', () => {
      const {videoWidth, videoHeight} = this.#parts.video;
      if (videoWidth && videoHeight) this.#parts.view.style.setProperty('aspect-ratio', `${videoWidth} / ${videoHeight}`);
    });
    this.#render();
  }

  connectedCallback() {
    this.#loadSettings();
    if (this.enabled) this.#begin();
  }

  /** Removed from the page: release everything, but keep `enabled` so that a page moving the element resumes. */
  disconnectedCallback() {
    this.#end();
    this.#closeEngine();
  }

  attributeChangedCallback(name, previous, value) {
    if (previous === value) return;
    if (name === 'enabled') {
      if (this.#quiet) return;
      if (value === null) this.#end();
      else if (this.isConnected) this.#begin();
    } else if (name === 'device-id') {
      if (ACTIVE_STATES.has(this.#state)) this.#restart();
    } else if (name === 'emoji') {
      this.#emojiOverrides = parseEmoji(value);
    } else if (name === 'threshold' || name === 'hold' || name === 'cooldown') {
      this.#gate.configure({threshold: this.threshold, hold: this.hold, cooldown: this.cooldown});
    }
    this.#render();
  }

  // Options -------------------------------------------------------------------------------------------------------

  get enabled() { return this.hasAttribute('enabled'); }
  set enabled(value) { this.toggleAttribute('enabled', Boolean(value)); }

  /** Confidence (0..1) a gesture needs in every frame of the hold. */
  get threshold() { return numberAttribute(this, 'threshold', DEFAULTS.threshold, 0, 1); }
  set threshold(value) { this.setAttribute('threshold', String(value)); }

  /** Milliseconds a gesture must be held before it fires. */
  get hold() { return numberAttribute(this, 'hold', DEFAULTS.hold, 0, 60000); }
  set hold(value) { this.setAttribute('hold', String(value)); }

  /** Milliseconds after a reaction during which no other fires. */
  get cooldown() { return numberAttribute(this, 'cooldown', DEFAULTS.cooldown, 0, 600000); }
  set cooldown(value) { this.setAttribute('cooldown', String(value)); }

  /** Emoji per gesture: the model's defaults, overridden by the `emoji` attribute or property. */
  get emoji() {
    return {...this.#settings?.emoji, ...this.#emojiOverrides};
  }
  set emoji(value) {
    if (value === null || value === undefined) this.removeAttribute('emoji');
    else this.setAttribute('emoji', typeof value === 'string' ? value : JSON.stringify(value));
  }

  get deviceId() { return this.getAttribute('device-id') ?? ''; }
  set deviceId(value) {
    if (value) this.setAttribute('device-id', value);
    else this.removeAttribute('device-id');
  }

  /** Show the camera picture (mirrored, with the hand's box) inside the widget. */
  get selfView() { return this.hasAttribute('self-view'); }
  set selfView(value) { this.toggleAttribute('self-view', Boolean(value)); }

  /** 'off' | 'loading' | 'running' | 'paused' | 'no-camera' | 'permission-denied' | 'unsupported' | 'error' */
  get state() { return this.#state; }

  /** Wasm threads recognition runs on (1 where the page is not cross-origin isolated). */
  get threads() { return this.#threads; }

  /** The labels that can fire a reaction, once the classifier's metadata is read (else empty). */
  get gestures() { return [...this.#settings?.gestures ?? []]; }

  get options() {
    return Object.fromEntries(Object.keys(OPTION_ATTRIBUTES).map((key) => [key, this[key]]));
  }

  /** Set several options at once, e.g. setOptions({threshold: 0.8, emoji: {ok: '👌'}}). */
  setOptions(options) {
    for (const [key, value] of Object.entries(options)) {
      if (!(key in OPTION_ATTRIBUTES)) {
        throw new TypeError(`gesture-reactions has no option "${key}" (options: ${Object.keys(OPTION_ATTRIBUTES)})`);
      }
      this[key] = value;
    }
  }

  // Methods -------------------------------------------------------------------------------------------------------

  /** Turn the camera and recognition on. Resolves with the state reached ('running', 'permission-denied', ...). */
  start() {
    if (!this.isConnected) return Promise.resolve(this.#state);
    if (!this.enabled) this.enabled = true; // attributeChangedCallback begins
    else if (!this.#starting && !ACTIVE_STATES.has(this.#state)) this.#begin();
    return this.#starting ?? Promise.resolve(this.#state);
  }

  /** Stop recognition and release the camera; the models stay loaded for the next start(). */
  stop() {
    if (this.enabled) this.enabled = false; // attributeChangedCallback ends
    else this.#end();
  }

  /** Stop, and free the worker and the models (a later start() loads them again). */
  close() {
    this.stop();
    this.#closeEngine();
  }

  /** Send a reaction without the camera (the reaction buttons do this): source 'manual'. */
  react(gesture) {
    const known = this.#settings?.gestures ?? Object.keys(this.emoji);
    if (!known.includes(gesture)) throw new RangeError(`unknown gesture "${gesture}" (known: ${known.join(', ')})`);
    const timestamp = performance.now();
    this.#gate.fired(gesture, timestamp); // the camera must not send the same reaction again right after
    this.#fire(gesture, 1, timestamp, 'manual');
  }

  // Lifecycle -----------------------------------------------------------------------------------------------------

  #begin() {
    if (this.#starting) return this.#starting;
    const session = ++this.#session;
    this.#starting = this.#run(session).finally(() => {
      if (this.#session === session) this.#starting = null;
    });
    return this.#starting;
  }

  async #run(session) {
    const missing = missingFeatures();
    if (missing.length) {
      return this.#fail('unsupported', `This browser cannot run gesture reactions: it lacks ${missing.join(', ')}. `
        + 'The reaction buttons still work.');
    }
    this.#setState('loading', 'Starting the camera and loading the gesture models…');
    const [camera, engine] = await Promise.allSettled([openCamera(this.deviceId), this.#loadEngine()]);
    if (session !== this.#session) {
      if (camera.status === 'fulfilled') releaseCamera(camera.value);
      return this.#state;
    }
    if (camera.status === 'rejected') {
      const {state, message} = cameraFailure(camera.reason);
      return this.#fail(state, message);
    }
    if (engine.status === 'rejected') {
      releaseCamera(camera.value);
      return this.#fail('error', engine.reason.message);
    }
    this.#stream = camera.value;
    this.#threads = engine.value.threads;
    const frameRate = this.#stream.getVideoTracks()[0]?.getSettings().frameRate;
    this.#frameInterval = frameRate ? 1000 / frameRate : 0;
    const video = this.#parts.video;
    video.srcObject = this.#stream;
    try {
      await video.play();
    } catch (error) {
      if (session !== this.#session) return this.#state;
      return this.#fail('error', `The camera picture could not be played (${error.message}).`);
    }
    if (session !== this.#session) return this.#state;
    this.#engine.reset();
    this.#gate.reset();
    document.addEventListener('visibilitychange', this.#onVisibilityChange);
    this.#onVisibilityChange();
    return this.#state;
  }

  #closeEngine() {
    this.#engine?.close();
    this.#engine = null;
    this.#engineLoad = null;
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
    this.#parts.video.srcObject = null;
    this.#gate.reset();
    this.#engine?.reset();
    this.#showHand(null);
    this.#showHold({phase: 'idle', gesture: null, progress: 0});
  }

  #end() {
    this.#release();
    this.#starting = null;
    this.#setState('off', '');
  }

  /** A state the participant must act on: camera released, `enabled` cleared so the toggle can try again. */
  #fail(state, message) {
    this.#release();
    this.#quiet = true;
    this.removeAttribute('enabled');
    this.#quiet = false;
    this.#setState(state, message);
    return state;
  }

  #onVisibilityChange = () => {
    if (document.hidden) {
      cancelAnimationFrame(this.#frameRequest);
      this.#frameRequest = 0;
      this.#gate.reset();
      this.#engine?.reset();
      this.#showHold({phase: 'idle', gesture: null, progress: 0});
      this.#setState('paused', 'Paused while this tab is hidden.');
    } else {
      this.#setState('running', '');
      this.#schedule();
    }
  };

  #loadSettings() {
    this.#settingsLoad ??= fetch(ASSETS.classifier)
      .then((response) => {
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return response.arrayBuffer();
      })
      .then((bytes) => {
        this.#settings = classifierSettings(readOnnxMetadata(bytes));
        this.#render();
      })
      .catch(() => {
        this.#settingsLoad = null; // start() reports the failing model in full
      });
  }

  #loadEngine() {
    if (!this.#engineLoad) {
      const engine = new GestureEngine(ASSETS.worker);
      this.#engine = engine;
      this.#engineLoad = engine.load({
        ortUrl: ASSETS.ort, palmUrl: ASSETS.palm, classifierUrl: ASSETS.classifier, threads: plannedThreads(),
      }).then((loaded) => {
        this.#settings = loaded.settings;
        this.#render();
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
    const video = this.#parts.video;
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

  #recognised({gesture, confidence, box, hands, detected, timings}, timestamp) {
    this.#showHand(box ?? hands[0]?.box ?? null, gesture);
    this.#emit('gesture', {gesture, confidence, box, hands, detected, timings, timestamp});
    const hold = this.#gate.update(gesture, confidence, timestamp);
    this.#showHold(hold);
    if (hold.reaction) this.#fire(hold.reaction.gesture, hold.reaction.confidence, timestamp, 'camera');
  }

  #fire(gesture, confidence, timestamp, source) {
    const emoji = this.emoji[gesture] ?? '';
    this.#emit('reaction', {gesture, emoji, confidence, timestamp, source});
    const burst = document.createElement('span');
    burst.className = 'burst';
    burst.setAttribute('aria-hidden', 'true');
    burst.textContent = emoji;
    burst.addEventListener('animationend', () => burst.remove());
    this.#parts.widget.append(burst);
    this.#parts.announcer.textContent = `Reaction sent: ${gestureName(gesture)} ${emoji}`;
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, {detail, bubbles: true, composed: true}));
  }

  // Rendering -----------------------------------------------------------------------------------------------------

  #setState(state, message) {
    const changed = state !== this.#state || message !== this.#message;
    this.#state = state;
    this.#message = message;
    this.#render();
    if (changed) this.#emit('statechange', {state, message: this.#statusText(), threads: this.#threads});
  }

  #statusText() {
    if (this.#message) return this.#message;
    if (this.#state === 'running') {
      const shown = (this.#settings?.gestures ?? []).map((g) => this.emoji[g]).join(' ');
      return `Show ${shown || 'a gesture'} and hold it for a moment to react.`;
    }
    return 'Gesture reactions are off: turn them on to react with your hand.';
  }

  #render() {
    const {view, toggle, status, note, buttons} = this.#parts;
    const active = ACTIVE_STATES.has(this.#state);
    view.hidden = !(this.selfView && active);
    toggle.setAttribute('aria-pressed', String(this.enabled));
    status.dataset.state = this.#state;
    status.textContent = this.#statusText();
    note.hidden = !(active && this.#threads === 1 && !self.crossOriginIsolated);
    note.textContent = note.hidden ? '' : 'Running on one thread: this page is not cross-origin isolated '
      + '(COOP/COEP headers), so recognition is slower.';
    this.#renderButtons(buttons);
  }

  #renderButtons(buttons) {
    const gestures = this.#settings?.gestures ?? [];
    buttons.hidden = gestures.length === 0;
    const emoji = this.emoji;
    for (const gesture of gestures) {
      let button = buttons.querySelector(`[data-gesture="${CSS.escape(gesture)}"]`);
      if (!button) {
        button = document.createElement('button');
        button.type = 'button';
        button.className = 'react';
        button.dataset.gesture = gesture;
        buttons.append(button);
      }
      button.textContent = emoji[gesture] ?? gesture;
      button.title = gestureName(gesture);
      button.setAttribute('aria-label', `Send a ${gestureName(gesture)} reaction`);
    }
  }

  #showHand(box, gesture = 'none') {
    const {hand, video} = this.#parts;
    const {videoWidth: width, videoHeight: height} = video;
    hand.hidden = !box || !width;
    if (hand.hidden) return;
    const [left, top, right, bottom] = box;
    hand.dataset.gesture = gesture;
    hand.style.setProperty('left', `${100 * left / width}%`);
    hand.style.setProperty('top', `${100 * top / height}%`);
    hand.style.setProperty('width', `${100 * (right - left) / width}%`);
    hand.style.setProperty('height', `${100 * (bottom - top) / height}%`);
  }

  #showHold({phase, gesture, progress}) {
    const {hold, holdEmoji} = this.#parts;
    // the ring shows a hold in progress, and stays full for a moment on the reaction it gave
    const shown = phase === 'holding' ? 'holding' : phase === 'cooldown' && gesture ? 'fired' : 'idle';
    if (shown === 'idle' && hold.dataset.phase === 'fired' && phase === 'cooldown') return;
    hold.dataset.phase = shown;
    hold.style.setProperty('--progress', String(shown === 'fired' ? 1 : progress));
    holdEmoji.textContent = gesture ? this.emoji[gesture] ?? '' : '';
  }
}

if (!customElements.get('gesture-reactions')) customElements.define('gesture-reactions', GestureReactionsElement);

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
 * In a meeting app that already holds the camera, give the widget the call's stream instead of letting it open its
 * own: `el.srcObject = stream` (it never calls getUserMedia then, and never stops the stream's tracks).
 *
 * Attributes (and the same-named camelCase properties): enabled, threshold (0..1), hold (ms), cooldown (ms), gestures
 * (those that fire reactions, e.g. "like ok"; default the model's default gestures), emoji (JSON object, e.g.
 * '{"ok": "👌"}'), raise-hold and lower-after (ms: raising the hand, and how long after the gesture is gone it is
 * lowered), device-id, self-view, num-hands, min-palm-score (0..1), min-gesture-score
 * (0..1), max-fps, asset-base (the URL of a folder holding models/ and ort/, e.g. on the app's own CDN; default:
 * this module's folder), gesture-storage ('local': taught gestures kept in this origin's localStorage, the default;
 * 'none'). Property only: srcObject. Options object: `el.options`, `el.setOptions({...})`. The
 * numbers read as the attribute when set, else the classifier's default (its metadata), else null until that
 * metadata is read: `el.ready` resolves once it is.
 * Methods: start() -> Promise of the state reached (rejects with a GestureReactionsError: code, state, message),
 * stop(), close() (final), react(gesture), lowerHand(); handRaised; taught gestures: learnGesture(name, {emoji,
 * seconds}) (the widget asks the participant to show it, with a progress ring), forgetGesture(name),
 * customGestures, exportGestures(), importGestures(json).
 * Events (bubbling, composed): reaction, gesture, statechange, error ({code, state, message}: ERROR_CODES), and
 * raise-hand / lower-hand ({gesture, emoji, timestamp, source}) when the model has a raise-hand gesture, learning
 * ({name, progress}) while a gesture is taught.
 * Types: gesture-reactions.d.ts.
 *
 * The camera, the worker and hold-to-confirm are a GestureController's (gesture-controller.js): this element
 * renders it and forwards its events.
 */

import {ACTIVE_STATES, GestureController, GestureReactionsError, OPTION_RANGES, optionError}
  from './gesture-controller.js';
import {widgetStyles} from './widget-style.js';

export {ERROR_CODES, GestureController, GestureReactionsError, TEACHING_CODES} from './gesture-controller.js';
export {TeachingError} from './custom-gestures.js';

const OPTION_ATTRIBUTES = {
  enabled: 'enabled', threshold: 'threshold', hold: 'hold', cooldown: 'cooldown', gestures: 'gestures', emoji: 'emoji',
  raiseHold: 'raise-hold', lowerAfter: 'lower-after',
  deviceId: 'device-id', selfView: 'self-view', numHands: 'num-hands', minPalmScore: 'min-palm-score',
  minGestureScore: 'min-gesture-score', maxFps: 'max-fps', assetBase: 'asset-base', gestureStorage: 'gesture-storage',
};

/** Options that are properties only: a stream is no attribute. */
const PROPERTY_OPTIONS = ['srcObject'];

/** The controller's events that this element dispatches too. */
const FORWARDED_EVENTS = ['reaction', 'gesture', 'statechange', 'error', 'raise-hand', 'lower-hand', 'learning'];

/** The property name of an attribute. */
const OPTION_OF_ATTRIBUTE = Object.fromEntries(Object.entries(OPTION_ATTRIBUTES).map(([key, name]) => [name, key]));

const ignore = () => {}; // start()'s failure is shown in the widget and sent as an `error` event already

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
  <p class="raised" part="raised" hidden><span class="raised-emoji" aria-hidden="true"></span> Your hand is raised
    <button class="lower-hand" type="button" part="lower-hand">Lower hand</button></p>
  <p class="learning" part="learning" hidden></p>
  <div class="buttons" part="buttons" role="group" aria-label="Send a reaction" hidden>
    <span class="buttons-label">Or send:</span>
  </div>
  <div class="visually-hidden" aria-live="polite"></div>
</div>`;

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

/** The `gestures` attribute: names apart by spaces or commas, each once; null (the model's defaults) when empty. */
function parseGestures(text) {
  const names = [...new Set((text ?? '').split(/[\s,]+/).filter(Boolean))];
  return names.length ? names : null;
}

/** A numeric option as its attribute says, clamped to the controller's range; null when not set or not a number. */
function numberAttribute(element, option) {
  const value = Number.parseFloat(element.getAttribute(OPTION_ATTRIBUTES[option]) ?? '');
  const [least, most, unit] = OPTION_RANGES[option];
  if (!Number.isFinite(value)) return null;
  const clamped = Math.min(most, Math.max(least, value));
  return unit === 'whole' ? Math.round(clamped) : clamped;
}

/** The `asset-base` attribute, or null (the default) when it is not one the controller takes, with a warning. */
function assetBaseAttribute(value) {
  if (!value) return null;
  const error = optionError('assetBase', value);
  if (!error) return value;
  console.warn(`gesture-reactions: ignoring asset-base="${value}": ${error.message}`);
  return null;
}

export class GestureReactionsElement extends HTMLElement {
  static observedAttributes = Object.values(OPTION_ATTRIBUTES);

  #quiet = false; // the widget itself is clearing `enabled`: not a request to stop
  #closed = false;
  #parts;
  #controller;
  #ready;

  constructor() {
    super();
    const root = this.attachShadow({mode: 'open'});
    root.adoptedStyleSheets = [widgetStyles()];
    root.innerHTML = TEMPLATE;
    const part = (selector) => root.querySelector(selector);
    this.#parts = {
      view: part('.view'), video: part('video'), hand: part('.hand'), toggle: part('.toggle'), hold: part('.hold'),
      holdEmoji: part('.hold-emoji'), status: part('.status'), note: part('.note'), buttons: part('.buttons'),
      announcer: part('[aria-live]'), widget: part('.widget'), raised: part('.raised'),
      raisedEmoji: part('.raised-emoji'), learning: part('.learning'),
    };
    this.#parts.toggle.addEventListener('click', () => (this.enabled ? this.stop() : this.start().catch(ignore)));
    this.#parts.raised.querySelector('.lower-hand').addEventListener('click', () => this.lowerHand());
    this.#parts.buttons.addEventListener('click', (event) => {
      const gesture = event.target.closest('button')?.dataset.gesture;
      if (gesture) this.react(gesture);
    });
    this.#parts.video.addEventListener('loadedmetadata', () => {
      const {videoWidth, videoHeight} = this.#parts.video;
      if (videoWidth && videoHeight) this.#parts.view.style.setProperty('aspect-ratio', `${videoWidth} / ${videoHeight}`);
    });
    this.#controller = new GestureController({video: this.#parts.video});
    this.#listen();
    this.#ready = new Promise((resolve) => {
      this.#controller.addEventListener('settings', () => resolve(), {once: true});
    });
    this.#render();
  }

  connectedCallback() {
    this.#controller.loadSettings();
    if (this.enabled) this.#controller.start().catch(ignore);
  }

  /** Removed from the page: release everything, but keep `enabled` so that a page moving the element resumes. */
  disconnectedCallback() {
    this.#controller.unload();
  }

  attributeChangedCallback(name, previous, value) {
    if (previous === value) return;
    const option = OPTION_OF_ATTRIBUTE[name];
    if (option === 'enabled') {
      if (this.#quiet) return;
      if (value === null) this.#controller.stop();
      else if (this.isConnected) this.#controller.start().catch(ignore);
    } else if (option === 'deviceId') {
      this.#controller.setOptions({deviceId: this.deviceId});
    } else if (option === 'assetBase') {
      this.#controller.setOptions({assetBase: assetBaseAttribute(value)});
      if (this.isConnected) this.#controller.loadSettings();
    } else if (option === 'emoji') {
      this.#controller.setOptions({emoji: parseEmoji(value)});
    } else if (option === 'gestures') {
      this.#setGestures(parseGestures(value));
    } else if (option === 'gestureStorage') {
      this.#controller.setOptions({gestureStorage: value === 'none' ? 'none' : null});
    } else if (option in OPTION_RANGES) {
      this.#controller.setOptions({[option]: numberAttribute(this, option)});
    }
    this.#render();
  }

  // Options -------------------------------------------------------------------------------------------------------

  get enabled() { return this.hasAttribute('enabled'); }
  set enabled(value) { this.toggleAttribute('enabled', Boolean(value)); }

  /**
   * Confidence (0..1) at which a frame adds no evidence to the hold (reactions.js; null until the model's default is
   * known).
   */
  get threshold() { return this.#controller.options.threshold; }
  set threshold(value) { this.#setNumber('threshold', value); }

  /** Milliseconds a gesture seen at full confidence is held before it fires; weaker, longer (null until known). */
  get hold() { return this.#controller.options.hold; }
  set hold(value) { this.#setNumber('hold', value); }

  /** Milliseconds after a reaction during which no other fires (null until the model's default is known). */
  get cooldown() { return this.#controller.options.cooldown; }
  set cooldown(value) { this.#setNumber('cooldown', value); }

  /**
   * The gestures that fire reactions (and get a button): the `gestures` attribute's or property's, else the
   * model's default ones (null until its metadata is read). Set a list, a string as the attribute takes, or null.
   */
  get gestures() { return this.#controller.options.gestures; }
  set gestures(value) {
    const list = typeof value === 'string' ? parseGestures(value) : value ?? null;
    const error = optionError('gestures', list);
    if (error) throw error;
    this.#controller.setOptions({gestures: list}); // refuses a gesture the model does not have
    if (list) this.setAttribute('gestures', list.join(' '));
    else this.removeAttribute('gestures');
  }

  /** The attribute's gestures: one the model does not have is left out, with a warning, as a bad emoji is. */
  #setGestures(list) {
    try {
      this.#controller.setOptions({gestures: list});
    } catch (error) {
      console.warn(`gesture-reactions: ignoring gestures="${this.getAttribute('gestures')}": ${error.message}`);
      this.#controller.setOptions({gestures: null});
    }
  }

  /** Milliseconds of the raise-hand gesture's evidence that raise the hand (null until the model's default is known). */
  get raiseHold() { return this.#controller.options.raiseHold; }
  set raiseHold(value) { this.#setNumber('raiseHold', value); }

  /** Milliseconds without the raise-hand gesture after which a raised hand is lowered (null until known). */
  get lowerAfter() { return this.#controller.options.lowerAfter; }
  set lowerAfter(value) { this.#setNumber('lowerAfter', value); }

  /** Whether the participant's hand is raised (a model with a raise-hand gesture, chosen, held long enough). */
  get handRaised() { return this.#controller.handRaised; }

  /** Emoji per gesture: the model's defaults, overridden by the `emoji` attribute or property. */
  get emoji() { return this.#controller.emoji; }
  set emoji(value) {
    const error = typeof value === 'string' ? null : optionError('emoji', value); // a string: the attribute's JSON
    if (error) throw error;
    if (value === null || value === undefined) this.removeAttribute('emoji');
    else this.setAttribute('emoji', typeof value === 'string' ? value : JSON.stringify(value));
  }

  get deviceId() { return this.getAttribute('device-id') ?? ''; }
  set deviceId(value) {
    const error = optionError('deviceId', value);
    if (error) throw error;
    if (value) this.setAttribute('device-id', value);
    else this.removeAttribute('device-id');
  }

  /**
   * The call's camera stream, given by the host page: the widget runs on it and never opens a camera itself (nor
   * stops this stream's tracks). null (the default) lets the widget open its own camera.
   * @returns {MediaStream | null}
   */
  get srcObject() { return this.#controller.options.srcObject; }
  set srcObject(stream) { this.#controller.setOptions({srcObject: stream ?? null}); }

  /** The most hands looked at in a frame (null until the model's default is known). */
  get numHands() { return this.#controller.options.numHands; }
  set numHands(value) { this.#setNumber('numHands', value); }

  /** The palm detector's score (0..1) a hand needs to be found (null until the model's default is known). */
  get minPalmScore() { return this.#controller.options.minPalmScore; }
  set minPalmScore(value) { this.#setNumber('minPalmScore', value); }

  /** The probability (0..1) a frame's gesture needs to count as seen (null until the model's default is known). */
  get minGestureScore() { return this.#controller.options.minGestureScore; }
  set minGestureScore(value) { this.#setNumber('minGestureScore', value); }

  /** The most frames processed a second, to cap the CPU the widget takes; null: as many as the camera gives. */
  get maxFps() { return this.#controller.options.maxFps; }
  set maxFps(value) { this.#setNumber('maxFps', value); }

  /** The folder the models (models/) and onnxruntime-web (ort/) are downloaded from; default this module's. */
  get assetBase() { return this.#controller.options.assetBase; }
  set assetBase(value) {
    const error = optionError('assetBase', value || null);
    if (error) throw error;
    if (value) this.setAttribute('asset-base', String(value));
    else this.removeAttribute('asset-base');
  }

  /** A numeric option set as a property: refused as the controller refuses it (its attribute is clamped instead). */
  #setNumber(option, value) {
    const error = optionError(option, value);
    if (error) throw error;
    if (value === null || value === undefined) this.removeAttribute(OPTION_ATTRIBUTES[option]);
    else this.setAttribute(OPTION_ATTRIBUTES[option], String(value));
  }

  /**
   * Where taught gestures are kept: 'local' (this origin's localStorage, the default) or 'none' (exportGestures() and
   * importGestures() keep them elsewhere).
   */
  get gestureStorage() { return this.#controller.options.gestureStorage; }
  set gestureStorage(value) {
    const error = optionError('gestureStorage', value ?? null);
    if (error) throw error;
    if (value) this.setAttribute('gesture-storage', value);
    else this.removeAttribute('gesture-storage');
  }

  /** Show the camera picture (mirrored, with the hand's box) inside the widget. */
  get selfView() { return this.hasAttribute('self-view'); }
  set selfView(value) { this.toggleAttribute('self-view', Boolean(value)); }

  /** 'off' | 'loading' | 'running' | 'paused' | 'no-camera' | 'permission-denied' | 'unsupported' | 'error' */
  get state() { return this.#controller.state; }

  /** Wasm threads recognition runs on (1 where the page is not cross-origin isolated). */
  get threads() { return this.#controller.threads; }

  /**
   * Resolves once the classifier's metadata is read: gestures, emoji and the defaults of threshold, hold and
   * cooldown are known. Stays pending while the model cannot be read (start() says why).
   * @returns {Promise<void>}
   */
  get ready() { return this.#ready; }

  get options() {
    return Object.fromEntries([...Object.keys(OPTION_ATTRIBUTES), ...PROPERTY_OPTIONS].map((key) => [key, this[key]]));
  }

  /** Set several options at once, e.g. setOptions({srcObject: stream, threshold: 0.8, emoji: {ok: '👌'}}). */
  setOptions(options) {
    const known = [...Object.keys(OPTION_ATTRIBUTES), ...PROPERTY_OPTIONS];
    const unknown = Object.keys(options).find((key) => !known.includes(key));
    if (unknown) throw new TypeError(`gesture-reactions has no option "${unknown}" (options: ${known})`);
    for (const [key, value] of Object.entries(options)) this[key] = value;
  }

  // Methods -------------------------------------------------------------------------------------------------------

  /**
   * Turn the camera and recognition on. Resolves with the state reached ('running', or 'paused' in a hidden tab);
   * rejects with a GestureReactionsError (code, state, message) when it cannot, the same the `error` event tells.
   * @returns {Promise<string>}
   */
  start() {
    if (this.#closed) return this.#controller.start(); // rejects: closed
    if (!this.isConnected) {
      return Promise.reject(new GestureReactionsError('aborted', this.state,
        'gesture-reactions must be in the page to start.'));
    }
    if (!this.enabled) this.enabled = true; // attributeChangedCallback starts the controller
    return this.#controller.start();
  }

  /** Stop recognition and release the camera; the models stay loaded for the next start(). */
  stop() {
    if (this.enabled) this.enabled = false; // attributeChangedCallback stops the controller
    else this.#controller.stop();
  }

  /** Stop and free the worker and the models, for good: a later start() rejects (code 'closed'). */
  close() {
    this.stop();
    this.#closed = true;
    this.#controller.close();
  }

  /** Send a reaction without the camera (the reaction buttons do this): source 'manual'. */
  react(gesture) {
    this.#controller.react(gesture);
  }

  /** Lower a raised hand (the widget's "Lower hand" button does this): `lower-hand`, source 'manual'. */
  lowerHand() {
    this.#controller.lowerHand();
  }

  /**
   * Teach a gesture: the widget asks the participant to show it and hold it still for `seconds`, with a progress
   * ring; resolves with {name, emoji}, or rejects with a TeachingError saying why not (shown in the widget).
   * @param {string} name @param {{emoji?: string, seconds?: number | null}} [options]
   */
  learnGesture(name, options) {
    return this.#controller.learnGesture(name, options).then((learned) => {
      this.#showLearned(`Learned “${learned.name}” ${learned.emoji}: show it to react.`);
      return learned;
    }, (error) => {
      this.#showLearned(`“${name}” was not learned: ${error.message}`);
      throw error;
    });
  }

  /** Forget a taught gesture; whether there was one by that name. */
  forgetGesture(name) {
    const forgotten = this.#controller.forgetGesture(name);
    this.#render();
    return forgotten;
  }

  /** The taught gestures, each {name, emoji}. */
  get customGestures() { return this.#controller.customGestures; }

  /** The taught gestures as JSON, for importGestures(). */
  exportGestures() { return this.#controller.exportGestures(); }

  /** Replace the taught gestures with exportGestures()'s JSON; returns their names. */
  importGestures(json) {
    const names = this.#controller.importGestures(json);
    this.#render();
    return names;
  }

  // The controller's events ---------------------------------------------------------------------------------------

  #listen() {
    const controller = this.#controller;
    controller.addEventListener('settings', () => this.#render());
    controller.addEventListener('hold', ({detail}) => this.#showHold(detail));
    // a state the participant must act on: `enabled` is cleared so that the toggle can try again
    controller.addEventListener('error', () => {
      this.#quiet = true;
      this.removeAttribute('enabled');
      this.#quiet = false;
      this.#render();
    });
    controller.addEventListener('gesture', ({detail: {gesture, box, hands}}) => {
      this.#showHand(box ?? hands[0]?.box ?? null, gesture);
    });
    controller.addEventListener('statechange', ({detail: {state}}) => {
      if (state !== 'running' && state !== 'paused') this.#showHand(null); // a new session, or none
      if (state !== 'running') this.#parts.learning.hidden = true; // teaching stopped with it
      this.#render();
    });
    for (const type of FORWARDED_EVENTS) controller.addEventListener(type, ({detail}) => this.#emit(type, detail));
    controller.addEventListener('reaction', ({detail: {gesture, emoji}}) => {
      this.#parts.learning.hidden = true; // what teaching said is no longer news
      this.#showReaction(gesture, emoji);
    });
    for (const type of ['raise-hand', 'lower-hand']) {
      controller.addEventListener(type, ({detail}) => this.#showRaised(type === 'raise-hand', detail));
    }
    controller.addEventListener('learning', ({detail}) => this.#showLearning(detail));
  }

  #emit(type, detail) {
    const shown = type === 'statechange' ? {...detail, message: this.#statusText()} : detail;
    this.dispatchEvent(new CustomEvent(type, {detail: shown, bubbles: true, composed: true}));
  }

  // Rendering -----------------------------------------------------------------------------------------------------

  #statusText() {
    const {state, message} = this.#controller;
    if (message) return message;
    if (state === 'running') {
      const raise = this.#raiseGesture();
      const shown = this.#reactionGestures().map((g) => this.emoji[g]).join(' ');
      const lines = shown || !raise ? [`Show ${shown || 'a gesture'} and hold it for a moment to react.`] : [];
      if (raise) lines.push(`Hold up ${this.emoji[raise]} to raise your hand.`);
      return lines.join(' ');
    }
    return 'Gesture reactions are off: turn them on to react with your hand.';
  }

  #render() {
    const {view, toggle, status, note, buttons} = this.#parts;
    const active = ACTIVE_STATES.has(this.state);
    view.hidden = !(this.selfView && active);
    toggle.setAttribute('aria-pressed', String(this.enabled));
    status.dataset.state = this.state;
    status.textContent = this.#statusText();
    note.hidden = !(active && this.threads === 1 && !self.crossOriginIsolated);
    note.textContent = note.hidden ? '' : 'Running on one thread: this page is not cross-origin isolated '
      + '(COOP/COEP headers), so recognition is slower.';
    this.#renderButtons(buttons);
  }

  /** A gesture in words, from the model's metadata (the label itself until that is read). */
  #name(gesture) {
    return this.#controller.settings?.names[gesture] ?? gesture;
  }

  /** The model's raise-hand gesture when it has one and it is chosen, else null. */
  #raiseGesture() {
    const raise = this.#controller.settings?.raiseHand?.gesture;
    return this.#controller.gestures.includes(raise) ? raise : null;
  }

  /**
   * The chosen gestures that fire reactions (and get a button), then the taught ones: raising the hand is a state, not
   * a reaction.
   */
  #reactionGestures() {
    const raise = this.#raiseGesture();
    return [...this.#controller.gestures.filter((gesture) => gesture !== raise),
      ...this.#controller.customGestures.map(({name}) => name)];
  }

  #renderButtons(buttons) {
    const gestures = this.#reactionGestures();
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
      button.title = this.#name(gesture);
      button.setAttribute('aria-label', `Send ${this.#name(gesture)}`);
    }
    for (const button of buttons.querySelectorAll('button.react')) {
      if (!gestures.includes(button.dataset.gesture)) button.remove(); // no longer chosen
    }
    // in the model's order, moved only when out of it: moving a button takes its focus away
    const shown = [...buttons.querySelectorAll('button.react')];
    if (shown.some((button, i) => button.dataset.gesture !== gestures[i])) {
      for (const gesture of gestures) buttons.append(shown.find((button) => button.dataset.gesture === gesture));
    }
  }

  #showReaction(gesture, emoji) {
    const burst = document.createElement('span');
    burst.className = 'burst';
    burst.setAttribute('aria-hidden', 'true');
    burst.textContent = emoji;
    burst.addEventListener('animationend', () => burst.remove());
    this.#parts.widget.append(burst);
    this.#parts.announcer.textContent = `Reaction sent: ${this.#name(gesture)} ${emoji}`;
  }

  #showRaised(raised, {emoji}) {
    const {raised: line, raisedEmoji, announcer} = this.#parts;
    line.hidden = !raised;
    raisedEmoji.textContent = emoji;
    announcer.textContent = raised ? `Your hand is raised ${emoji}` : 'Your hand is lowered';
  }

  #showLearning({name, progress}) {
    const {learning, hold, holdEmoji} = this.#parts;
    learning.hidden = false;
    learning.textContent = `Teaching “${name}”: show the gesture to the camera and hold it still.`;
    hold.dataset.phase = 'holding';
    hold.style.setProperty('--progress', String(progress));
    holdEmoji.textContent = '';
  }

  #showLearned(text) {
    const {learning, hold, announcer} = this.#parts;
    learning.hidden = false;
    learning.textContent = text;
    announcer.textContent = text;
    hold.dataset.phase = 'idle';
    this.#render();
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

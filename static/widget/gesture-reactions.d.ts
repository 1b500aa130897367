/**
 * Types of gesture-reactions.js: the <gesture-reactions> element, its options and events, and the GestureController
 * it renders. Kept in step with the JavaScript by tests/js/types.test.mjs.
 */

/** The widget's state: active while 'loading', 'running' or 'paused'; the rest need the participant's action. */
export type GestureReactionsState =
  | 'off' | 'loading' | 'running' | 'paused' | 'no-camera' | 'permission-denied' | 'unsupported' | 'error';

/**
 * Why recognition stopped by itself (the `error` event), or why start() rejected: the same, or 'aborted' (stop() or
 * close() came first) or 'closed' (close() was called before).
 */
export type GestureReactionsErrorCode =
  | 'unsupported' | 'permission-denied' | 'no-camera' | 'camera-unavailable' | 'camera-busy' | 'camera-error'
  | 'camera-ended' | 'model-load-failed' | 'recognition-failed' | 'worker-lost' | 'aborted' | 'closed';

/** Every GestureReactionsErrorCode. */
export declare const ERROR_CODES: readonly GestureReactionsErrorCode[];

/**
 * Why learnGesture() refused: no hand was shown, the pose changed, it is one of the classifier's gestures or too
 * close to a taught one, the name is taken; or recognition was not running, another gesture was being taught, or
 * recognition stopped meanwhile.
 */
export type TeachingErrorCode =
  | 'no-hand' | 'unsteady' | 'built-in' | 'too-close' | 'name-taken' | 'not-running' | 'busy' | 'interrupted';

/** Every TeachingErrorCode. */
export declare const TEACHING_CODES: readonly TeachingErrorCode[];

/** learnGesture()'s rejection: its code says why, its message in words the participant can act on. */
export declare class TeachingError extends Error {
  constructor(code: TeachingErrorCode, message: string);
  name: 'TeachingError';
  code: TeachingErrorCode;
}

/** start()'s rejection. */
export declare class GestureReactionsError extends Error {
  constructor(code: GestureReactionsErrorCode, state: GestureReactionsState, message: string);
  name: 'GestureReactionsError';
  code: GestureReactionsErrorCode;
  /** The state the widget is left in. */
  state: GestureReactionsState;
}

// Event details ----------------------------------------------------------------------------------------------------

/** `reaction`: a gesture held long enough (source 'camera'), or a reaction button / react() (source 'manual'). */
export interface ReactionDetail {
  gesture: string;
  emoji: string;
  /** 0..1; 1 for a manual reaction. */
  confidence: number;
  /** performance.now() milliseconds. */
  timestamp: number;
  source: 'camera' | 'manual';
}

/** [left, top, right, bottom] in the camera frame's pixels. */
export type Box = [left: number, top: number, right: number, bottom: number];

/** Where the landmark model looked: a square of `side` pixels centred on (x, y), turned by `rotation` radians. */
export interface HandRegion {
  x: number;
  y: number;
  side: number;
  rotation: number;
}

export interface Hand {
  box: Box;
  /** The classifier's probability of each label, 'none' included. */
  probabilities: Record<string, number>;
  /** The landmark model's hand presence score, 0..1. */
  presence: number;
  /** 21 [x, y, z] in the frame's pixels. */
  landmarks: [x: number, y: number, z: number][];
  region: HandRegion;
}

/** `gesture`: one per processed frame. */
export interface GestureDetail {
  /** A label of the classifier, or 'none'. */
  gesture: string;
  /** The gesture's probability; for 'none', 1 minus the highest gesture probability. */
  confidence: number;
  /** The hand showing the gesture; null for 'none'. */
  box: Box | null;
  hands: Hand[];
  /** Whether the palm detector ran on this frame. */
  detected: boolean;
  regions: HandRegion[];
  /** How many hands (first in `hands`) had not moved and were kept without running a model. */
  still: number;
  /** No hand tracked and nothing moving: the next frame is taken at the classifier's idleFps at most. */
  idle: boolean;
  /** Milliseconds per stage, and in all. */
  timings: {palm: number; landmarks: number; classifier: number; total: number};
  /** performance.now() milliseconds of the frame. */
  timestamp: number;
}

/** `statechange`. */
export interface StateChangeDetail {
  state: GestureReactionsState;
  /** The element's: the status it shows. The controller's: what the participant must know (empty: running, off). */
  message: string;
  /** Wasm threads recognition runs on. */
  threads: number;
}

/** `error`: recognition stopped by itself; dispatched before the statechange to `state`. */
export interface ErrorDetail {
  code: Exclude<GestureReactionsErrorCode, 'aborted' | 'closed'>;
  state: GestureReactionsState;
  message: string;
}

/** The controller's `hold`: hold-to-confirm's progress (0..1 of the hold, or of the cooldown). */
export interface HoldDetail {
  phase: 'idle' | 'holding' | 'cooldown';
  gesture: string | null;
  progress: number;
}

/** `raise-hand` and `lower-hand`: the participant's hand raised (by the camera) or lowered (by the camera, or by
 * lowerHand(): source 'manual'). */
export interface RaisedHandDetail {
  /** The classifier's raise-hand gesture. */
  gesture: string;
  emoji: string;
  /** performance.now() milliseconds. */
  timestamp: number;
  source: 'camera' | 'manual';
}

/** The classifier's settings, from its ONNX metadata. */
export interface ClassifierSettings {
  labels: string[];
  /** The labels that fire reactions or raise the hand: all but 'none'. */
  gestures: string[];
  /** Those of them on until a host chooses (the shipped model: like, dislike, ok). */
  defaultGestures: string[];
  emoji: Record<string, string>;
  /** Each gesture in words. */
  names: Record<string, string>;
  inputSize: number;
  mean: number[];
  std: number[];
  pipeline: {
    minPalmScore: number; minPresence: number; minGestureScore: number; maxHands: number; handBoxMargin: number;
    stillChange: number; signatureSize: number; redetectMs: number; searchMotion: number; motionShiftShare: number;
    motionSearchMs: number; idleSearchMs: number; idleFps: number; brightCropLuma: number; brightCropTarget: number;
    brightCropNoneLogit: number;
  };
  reactions: {threshold: number; hold: number; cooldown: number};
  /** The gesture that raises the hand and its defaults (ms); null when the classifier has none. */
  raiseHand: {gesture: string; hold: number; lowerAfter: number} | null;
}

/** `learning`: frame by frame while learnGesture() teaches a gesture; progress 0..1 of the time it is shown. */
export interface LearningDetail {
  name: string;
  progress: number;
}

/** A gesture taught with learnGesture() or importGestures(). */
export interface CustomGestureInfo {
  name: string;
  emoji: string;
}

/**
 * learnGesture()'s options: the emoji its reactions carry (✨ by default), and how long it is shown (null: the model's
 * default, 3 s).
 */
export interface LearnGestureOptions {
  emoji?: string;
  seconds?: number | null;
}

/** The events of the element (they bubble and are composed) and of a GestureController. */
export interface GestureReactionsEvents {
  reaction: CustomEvent<ReactionDetail>;
  gesture: CustomEvent<GestureDetail>;
  statechange: CustomEvent<StateChangeDetail>;
  error: CustomEvent<ErrorDetail>;
  'raise-hand': CustomEvent<RaisedHandDetail>;
  'lower-hand': CustomEvent<RaisedHandDetail>;
  learning: CustomEvent<LearningDetail>;
}

/** HTMLElement's events, with the widget's `error` in place of the ErrorEvent. */
export interface GestureReactionsEventMap extends Omit<HTMLElementEventMap, keyof GestureReactionsEvents>,
  GestureReactionsEvents {}

export interface GestureControllerEventMap extends GestureReactionsEvents {
  hold: CustomEvent<HoldDetail>;
  /** Once the classifier's metadata is read. */
  settings: CustomEvent<ClassifierSettings>;
}

// The element ------------------------------------------------------------------------------------------------------

/** What `el.options` reads: numbers are null until the classifier's defaults are read (`el.ready`). */
export interface GestureReactionsOptions {
  enabled: boolean;
  threshold: number | null;
  hold: number | null;
  cooldown: number | null;
  /** As given until the classifier's metadata is read, then those of them it has; null: every gesture. */
  gestures: string[] | null;
  emoji: Record<string, string>;
  raiseHold: number | null;
  lowerAfter: number | null;
  deviceId: string;
  selfView: boolean;
  numHands: number | null;
  minPalmScore: number | null;
  minGestureScore: number | null;
  maxFps: number | null;
  assetBase: string;
  gestureStorage: 'local' | 'none';
  srcObject: MediaStream | null;
}

/** What `el.setOptions()` takes: null puts an option back to its default. */
export interface GestureReactionsOptionsInit {
  enabled?: boolean;
  threshold?: number | null;
  hold?: number | null;
  cooldown?: number | null;
  /** Or a string of names apart by spaces or commas, as the attribute; null: every gesture of the classifier. */
  gestures?: string[] | string | null;
  /** Or its JSON, as the attribute. */
  emoji?: Record<string, string> | string | null;
  raiseHold?: number | null;
  lowerAfter?: number | null;
  deviceId?: string | null;
  selfView?: boolean;
  numHands?: number | null;
  minPalmScore?: number | null;
  minGestureScore?: number | null;
  maxFps?: number | null;
  assetBase?: string | URL | null;
  gestureStorage?: 'local' | 'none' | null;
  srcObject?: MediaStream | null;
}

/** <gesture-reactions>: reactions from the participant's camera, recognised in this browser. */
export declare class GestureReactionsElement extends HTMLElement {
  static observedAttributes: string[];

  /** Attribute `enabled`: recognition is on (or starting). */
  enabled: boolean;
  /**
   * Hold-to-confirm's confidence (0..1) at which a frame adds no evidence: a frame at p adds
   * (p - threshold) / (1 - threshold) of its time, one below takes evidence back.
   */
  get threshold(): number | null;
  set threshold(value: number | null);
  /** Milliseconds a gesture seen at full confidence is held before it fires; at a weaker confidence, longer. */
  get hold(): number | null;
  set hold(value: number | null);
  /** Milliseconds after a reaction during which no other fires. */
  get cooldown(): number | null;
  set cooldown(value: number | null);
  /**
   * The gestures that fire reactions and get a button: those chosen, else the classifier's default ones (like,
   * dislike and ok for the shipped model; null until its metadata is read). Setting one it does not have throws a RangeError once the metadata is read.
   */
  get gestures(): string[] | null;
  set gestures(value: string[] | string | null);
  /** Emoji per gesture: the classifier's, overridden by these. */
  get emoji(): Record<string, string>;
  set emoji(value: Record<string, string> | string | null);
  /** Milliseconds of the raise-hand gesture's evidence that raise the hand. */
  get raiseHold(): number | null;
  set raiseHold(value: number | null);
  /** Milliseconds without the raise-hand gesture after which a raised hand is lowered. */
  get lowerAfter(): number | null;
  set lowerAfter(value: number | null);
  /** Whether the participant's hand is raised. */
  readonly handRaised: boolean;
  /** The taught gestures. */
  readonly customGestures: CustomGestureInfo[];
  /** A camera from enumerateDevices(); '' lets the browser choose. */
  get deviceId(): string;
  set deviceId(value: string | null);
  /** The call's camera stream: the widget runs on it, never opens a camera and never stops its tracks. */
  srcObject: MediaStream | null;
  /** The most hands looked at in a frame. */
  get numHands(): number | null;
  set numHands(value: number | null);
  /** The palm detector's score (0..1) a hand needs to be found. */
  get minPalmScore(): number | null;
  set minPalmScore(value: number | null);
  /** The probability (0..1) a frame's gesture needs to count as seen. */
  get minGestureScore(): number | null;
  set minGestureScore(value: number | null);
  /** The most frames processed a second; null: the camera's rate. */
  get maxFps(): number | null;
  set maxFps(value: number | null);
  /** The folder holding models/ and ort/; default: the module's own. */
  get assetBase(): string;
  set assetBase(value: string | URL | null);
  /** Where taught gestures are kept: this origin's localStorage ('local', the default) or nowhere ('none'). */
  get gestureStorage(): 'local' | 'none';
  set gestureStorage(value: 'local' | 'none' | null);
  /** Show the (mirrored) camera picture inside the widget. */
  selfView: boolean;

  readonly state: GestureReactionsState;
  readonly threads: number;
  /** Resolves once the classifier's metadata is read; stays pending while it cannot be. */
  readonly ready: Promise<void>;
  readonly options: GestureReactionsOptions;

  /** Throws a TypeError on an unknown option. */
  setOptions(options: GestureReactionsOptionsInit): void;
  /** Resolves with the state reached ('running', or 'paused' in a hidden tab); rejects with a GestureReactionsError. */
  start(): Promise<GestureReactionsState>;
  /** Releases the camera; the models stay loaded. */
  stop(): void;
  /** Final: a later start() rejects with code 'closed'. */
  close(): void;
  /** A reaction without the camera (source 'manual'); throws a RangeError on an unknown gesture. */
  react(gesture: string): void;
  /** Lowers a raised hand (the widget's "Lower hand" button): `lower-hand`, source 'manual'. */
  lowerHand(): void;
  /**
   * Teach a gesture: the participant holds it still for `seconds`; resolves with it once learned, rejects with a
   * TeachingError saying why not. Taught gestures fire reactions like the model's.
   */
  learnGesture(name: string, options?: LearnGestureOptions): Promise<CustomGestureInfo>;
  /** Forgets a taught gesture; whether there was one by that name. */
  forgetGesture(name: string): boolean;
  /** The taught gestures as JSON, to keep where the host likes. */
  exportGestures(): string;
  /** Replaces the taught gestures with exportGestures()'s JSON (a TypeError when it is not); returns their names. */
  importGestures(json: string): string[];

  /** Custom element callbacks, called by the browser. */
  connectedCallback(): void;
  disconnectedCallback(): void;
  attributeChangedCallback(name: string, previous: string | null, value: string | null): void;

  addEventListener<K extends keyof GestureReactionsEventMap>(type: K,
    listener: (this: GestureReactionsElement, event: GestureReactionsEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof GestureReactionsEventMap>(type: K,
    listener: (this: GestureReactionsElement, event: GestureReactionsEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject,
    options?: boolean | EventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    'gesture-reactions': GestureReactionsElement;
  }
}

// The controller ---------------------------------------------------------------------------------------------------

/** What `controller.options` reads: numbers are null until the classifier's defaults are read. */
export interface GestureControllerOptions {
  deviceId: string;
  srcObject: MediaStream | null;
  assetBase: string;
  threshold: number | null;
  hold: number | null;
  cooldown: number | null;
  /** As given until the classifier's metadata is read, then those of them it has; null: every gesture. */
  gestures: string[] | null;
  emoji: Record<string, string>;
  raiseHold: number | null;
  lowerAfter: number | null;
  numHands: number | null;
  minPalmScore: number | null;
  minGestureScore: number | null;
  maxFps: number | null;
  gestureStorage: 'local' | 'none';
}

/** What `controller.setOptions()` takes: null puts an option back to its default. */
export interface GestureControllerOptionsInit {
  deviceId?: string | null;
  srcObject?: MediaStream | null;
  assetBase?: string | URL | null;
  threshold?: number | null;
  hold?: number | null;
  cooldown?: number | null;
  /** The gestures that fire reactions (the others count as none); null: every gesture of the classifier. */
  gestures?: string[] | null;
  emoji?: Record<string, string> | null;
  /** Milliseconds of the raise-hand gesture's evidence that raise the hand. */
  raiseHold?: number | null;
  /** Milliseconds without the raise-hand gesture after which a raised hand is lowered. */
  lowerAfter?: number | null;
  numHands?: number | null;
  minPalmScore?: number | null;
  minGestureScore?: number | null;
  maxFps?: number | null;
  /** Where taught gestures are kept: this origin's localStorage ('local', the default) or nowhere ('none'). */
  gestureStorage?: 'local' | 'none' | null;
}

/** The controller's constructor options: `video` is where the camera plays (a detached one when not given). */
export interface GestureControllerInit extends GestureControllerOptionsInit {
  video?: HTMLVideoElement;
}

/** Gesture reactions without the element: the camera or the host's stream, the worker, and hold-to-confirm. */
export declare class GestureController extends EventTarget {
  constructor(options?: GestureControllerInit);

  readonly state: GestureReactionsState;
  /** What the participant must know about the state; empty when running or off. */
  readonly message: string;
  readonly threads: number;
  /** null until the classifier's metadata is read. */
  readonly settings: ClassifierSettings | null;
  /** The gestures that fire reactions, in the classifier's order; empty until its metadata is read. */
  readonly gestures: string[];
  readonly emoji: Record<string, string>;
  /** Whether the participant's hand is raised. */
  readonly handRaised: boolean;
  /** The taught gestures. */
  readonly customGestures: CustomGestureInfo[];
  readonly options: GestureControllerOptions;

  /** Throws a TypeError on an unknown option or a wrong value. */
  setOptions(options: GestureControllerOptionsInit): void;
  /** Reads the classifier's metadata without starting; null when the model cannot be read. */
  loadSettings(): Promise<ClassifierSettings | null>;
  /** Resolves with the state reached ('running', or 'paused' in a hidden tab); rejects with a GestureReactionsError. */
  start(): Promise<GestureReactionsState>;
  stop(): void;
  /** Stops and frees the worker and the models; a later start() loads them again. */
  unload(): void;
  /** Final: a later start() rejects with code 'closed'. */
  close(): void;
  react(gesture: string): void;
  /** Lowers a raised hand: `lower-hand`, source 'manual'. */
  lowerHand(): void;
  /**
   * Teach a gesture: the participant holds it still for `seconds`; resolves with it once learned, rejects with a
   * TeachingError saying why not. Taught gestures fire reactions like the model's.
   */
  learnGesture(name: string, options?: LearnGestureOptions): Promise<CustomGestureInfo>;
  /** Forgets a taught gesture; whether there was one by that name. */
  forgetGesture(name: string): boolean;
  /** The taught gestures as JSON, to keep where the host likes. */
  exportGestures(): string;
  /** Replaces the taught gestures with exportGestures()'s JSON (a TypeError when it is not); returns their names. */
  importGestures(json: string): string[];

  addEventListener<K extends keyof GestureControllerEventMap>(type: K,
    listener: (this: GestureController, event: GestureControllerEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof GestureControllerEventMap>(type: K,
    listener: (this: GestureController, event: GestureControllerEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions): void;
}

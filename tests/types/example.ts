// A meeting app embedding <gesture-reactions> on the call's own camera stream, as its developer would write it.
// tests/js/types.test.mjs compiles it (tsconfig.json: strict) against static/widget/gesture-reactions.d.ts; each line
// marked to expect an error fails that build if the declarations grow too loose.
import {
  ERROR_CODES, GestureController, GestureReactionsElement, GestureReactionsError, TeachingError, type GestureDetail,
  type GestureReactionsErrorCode, type GestureReactionsOptions, type GestureReactionsState, type ReactionDetail,
  type TeachingErrorCode,
} from 'gesture-reactions';

// the meeting app's own
declare function showOnTile(participant: string, emoji: string): void;
declare function sendToPeers(reaction: ReactionDetail): void;
declare function showBanner(text: string): void;

const found = document.querySelector('gesture-reactions'); // GestureReactionsElement | null, by its tag
if (!found) throw new Error('this call page has no <gesture-reactions>');
const widget: GestureReactionsElement = found;
const another: GestureReactionsElement = document.createElement('gesture-reactions');

/** What to tell the participant for each code: a code added to or removed from the union fails this switch. */
function explain(code: GestureReactionsErrorCode): string {
  switch (code) {
    case 'permission-denied':
      return 'Allow the camera for this site to react with your hand.';
    case 'no-camera':
    case 'camera-unavailable':
    case 'camera-ended':
      return 'No camera: connect one, then turn reactions on again.';
    case 'camera-busy':
    case 'camera-error':
      return 'The camera could not be started.';
    case 'unsupported':
      return 'This browser cannot recognise gestures: use the reaction buttons.';
    case 'model-load-failed':
    case 'recognition-failed':
    case 'worker-lost':
      return 'Gesture recognition failed: use the reaction buttons.';
    case 'aborted':
    case 'closed':
      return '';
    default: {
      const unknown: never = code;
      return unknown;
    }
  }
}

async function joinCall(me: string): Promise<void> {
  const stream = await navigator.mediaDevices.getUserMedia({video: true, audio: true});

  // every option as a property
  widget.srcObject = stream;
  widget.threshold = 0.85;
  widget.hold = 400;
  widget.cooldown = 1500;
  widget.gestures = ['like', 'ok'];
  widget.gestures = 'like ok';
  widget.emoji = {ok: '👌'};
  widget.emoji = '{"like": "👍"}';
  widget.deviceId = '';
  widget.selfView = true;
  widget.numHands = 2;
  widget.minPalmScore = 0.5;
  widget.minGestureScore = 0.6;
  widget.maxFps = 15;
  widget.assetBase = 'https://cdn.example.com/gesture-reactions/0.3.0/';
  widget.enabled = false;

  // and all at once; null puts one back to its default
  widget.setOptions({
    srcObject: stream, enabled: false, threshold: null, hold: 400, cooldown: 1500, gestures: ['like'],
    emoji: {like: '👍', ok: '👌'},
    deviceId: null, selfView: false, numHands: 1, minPalmScore: 0.55, minGestureScore: null, maxFps: 10,
    assetBase: new URL('/vendor/gesture-reactions/', location.href),
  });
  const options: GestureReactionsOptions = widget.options;
  widget.setOptions(options);
  another.setOptions({srcObject: options.srcObject, maxFps: options.maxFps});

  // @ts-expect-error: a number, not a string
  widget.threshold = '0.8';
  // @ts-expect-error: a whole number of hands
  widget.setOptions({numHands: 'two'});
  // @ts-expect-error: misspelled
  widget.setOptions({treshold: 0.8});
  // @ts-expect-error: a stream, not a video element
  widget.srcObject = document.createElement('video');
  // @ts-expect-error: read-only
  widget.state = 'running';
  // @ts-expect-error: a list of names or one string, not a number
  widget.setOptions({gestures: 1});

  await another.ready;
  // @ts-expect-error: null until the classifier's defaults are read, so a check is needed
  const hold: number = another.hold;
  const cooldown: number = another.cooldown ?? 0;
  const buttons: string[] = (widget.gestures ?? []).map((gesture) => `${widget.emoji[gesture]} ${gesture}`);
  const threads: number = widget.threads;
  const state: GestureReactionsState = widget.state;
  console.debug(hold, cooldown, buttons, threads, state);

  // a raised hand stays on the participant's tile until it is lowered
  widget.addEventListener('raise-hand', ({detail}) => showOnTile(me, detail.emoji));
  widget.addEventListener('lower-hand', ({detail: {source}}) => showBanner(source === 'manual' ? 'lowered' : ''));
  if (widget.handRaised) widget.lowerHand();
  widget.setOptions({raiseHold: 800, lowerAfter: null});

  widget.addEventListener('reaction', (event) => {
    const {gesture, emoji, confidence, timestamp, source}: ReactionDetail = event.detail;
    showOnTile(me, emoji);
    if (source === 'camera') sendToPeers(event.detail);
    console.debug(gesture, confidence.toFixed(2), timestamp);
    // @ts-expect-error: no such field
    console.debug(event.detail.score);
    // @ts-expect-error: 'camera' or 'manual' only
    if (source === 'button') showBanner('?');
  });
  const onGesture = ({detail}: CustomEvent<GestureDetail>): void => {
    const [left, top, right, bottom] = detail.box ?? [0, 0, 0, 0];
    for (const hand of detail.hands) {
      const [x, y, z] = hand.landmarks[0];
      console.debug(hand.box[2], hand.probabilities.like, hand.presence, x, y, z, hand.region.rotation);
    }
    console.debug(detail.gesture, detail.confidence, left, top, right, bottom, detail.detected, detail.still,
      detail.regions.map((region) => region.side), detail.timings.total, detail.timestamp);
  };
  widget.addEventListener('gesture', onGesture);
  widget.removeEventListener('gesture', onGesture);
  widget.addEventListener('statechange', ({detail: {state, message, threads}}) => {
    if (state === 'paused') showBanner(`${message} (${threads} threads)`);
    // @ts-expect-error: no such state
    if (state === 'stopped') showBanner(message);
  });
  widget.addEventListener('error', function ({detail: {code, state, message}}) {
    showBanner(`${explain(code)} ${message}`);
    if (state === 'permission-denied') this.selfView = false; // `this`: the element
  });
  widget.addEventListener('click', (event: MouseEvent) => event.preventDefault()); // HTMLElement's events stay typed

  try {
    const reached: GestureReactionsState = await widget.start();
    showBanner(reached);
  } catch (error: unknown) {
    if (!(error instanceof GestureReactionsError)) throw error;
    const code: GestureReactionsErrorCode = error.code;
    if (code !== 'aborted') showBanner(explain(code));
    // @ts-expect-error: no such code
    if (error.code === 'camera-blocked') showBanner(error.message);
    if (error.state === 'permission-denied' && ERROR_CODES.includes(code)) widget.react('like');
  }
  widget.stop();
  widget.close();
}

/** Without the element: a controller on the call's stream, its hold progress drawn by the app. */
async function headless(stream: MediaStream): Promise<void> {
  const controller = new GestureController({srcObject: stream, maxFps: 10, numHands: 1,
    assetBase: new URL('https://cdn.example.com/gesture-reactions/0.3.0/')});
  controller.addEventListener('reaction', ({detail}) => sendToPeers(detail));
  controller.addEventListener('hold', ({detail: {phase, gesture, progress}}) => {
    if (phase === 'holding' && gesture) showBanner(`${gesture} ${Math.round(100 * progress)}%`);
  });
  controller.addEventListener('settings', ({detail}) => showBanner(detail.gestures.join(' ')));
  controller.addEventListener('error', ({detail}) => showBanner(explain(detail.code)));
  const settings = await controller.loadSettings();
  controller.setOptions({threshold: settings?.reactions.threshold ?? null, emoji: {ok: '👌'}, deviceId: null});
  // @ts-expect-error: the element's option, not the controller's
  controller.setOptions({enabled: true});
  await controller.start().catch((error: unknown) => {
    if (error instanceof GestureReactionsError && error.code === 'closed') return controller.state;
    throw error;
  });
  const {maxFps, srcObject} = controller.options;
  console.debug(maxFps, srcObject?.id, controller.message, controller.threads, controller.emoji.like);
  controller.react('like');
  controller.stop();
  controller.unload();
  controller.close();
}

/** A "teach a reaction" button: the participant's own sign becomes a reaction, kept by the app. */
async function teachOwnSign(element: GestureReactionsElement, keep: (json: string) => void): Promise<void> {
  element.addEventListener('learning', ({detail: {name, progress}}) => showBanner(`${name} ${progress}`));
  try {
    const {name, emoji} = await element.learnGesture('team-sign', {emoji: '🦄', seconds: 3});
    showBanner(`${emoji} ${name}: ${element.customGestures.length} taught`);
    keep(element.exportGestures());
  } catch (error: unknown) {
    if (!(error instanceof TeachingError)) throw error;
    const code: TeachingErrorCode = error.code;
    // @ts-expect-error: no such refusal
    if (code === 'too-fast') showBanner(error.message);
    showBanner(error.message);
  }
  element.importGestures(element.exportGestures());
  element.gestureStorage = 'none';
  // @ts-expect-error: storage is local or none
  element.gestureStorage = 'session';
  if (!element.forgetGesture('team-sign')) showBanner('nothing to forget');
}

void joinCall('me');
void teachOwnSign(widget, (json) => localStorage.setItem('app:signs', json));
void headless(new MediaStream());

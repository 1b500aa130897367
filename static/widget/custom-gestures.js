/**
 * Gestures a participant teaches by showing them: each hand's 21 landmarks as an embedding, and a taught gesture
 * recognised by its nearest example in the pose encoder's space, on hands the classifier reads as none of its own
 * gestures. Pure; Python's twins are runtime/custom_gestures.py and runtime/pose_encoder.py, and the numbers and the
 * encoder's weights are the landmark model's metadata "custom_gestures" and "pose_encoder" (onnx-metadata.js
 * landmarkSettings).
 */

import {EMBEDDING_SIZE, INDEX_BASE, MIDDLE_BASE, NUM_LANDMARKS, RING_BASE, WRIST} from './landmarks.js';

/**
 * @typedef {{layers: {weights: Float32Array, bias: Float32Array}[]}} PoseEncoder dense layers, each weights
 *   [outputs x inputs] row by row (onnx-metadata.js poseEncoder)
 * @typedef {{matchDistance: number, directionWeight: number, teachMs: number, minHandShare: number,
 *   maxBuiltinShare: number, maxSpread: number, maxExamples: number, minSeparation: number, encoder: PoseEncoder}}
 *   CustomGestureSettings
 * @typedef {{name: string, emoji: string, examples: number[][]}} CustomGesture a taught gesture: examples are the
 *   embeddings of the hand it was taught with
 */

/** A gesture was not learned: `code` says why ('no-hand', 'unsteady', 'built-in', 'too-close', 'name-taken'). */
export class TeachingError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'TeachingError';
    this.code = code;
  }
}

/**
 * 21 [x, y, z] landmarks in pixels -> the embedding: relative to the wrist, in units of the hand's extent, turned so
 * that the hand points along x, then the direction it points (cos, sin) times directionWeight.
 * @param {number[][]} points @param {CustomGestureSettings} settings @returns {number[]}
 */
export function handEmbedding(points, settings) {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const extent = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys), 1e-6);
  const [wx, wy, wz] = points[WRIST];
  const relative = points.map(([x, y, z]) => [(x - wx) / extent, (y - wy) / extent, (z - wz) / extent]);
  const axis = [0, 1].map((c) => ((relative[INDEX_BASE][c] + relative[RING_BASE][c]) / 2
    + relative[MIDDLE_BASE][c]) / 2);
  const angle = Math.atan2(axis[1], axis[0]);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const upright = relative.flatMap(([x, y, z]) => [cos * x + sin * y, -sin * x + cos * y, z]);
  return [...upright, settings.directionWeight * cos, settings.directionWeight * sin];
}

/** The embedding of the same hand seen in a mirror: upright, y changes sign, and so does the direction's x. */
export function mirrored(embedding) {
  return embedding.map((value, i) => (i < NUM_LANDMARKS * 3 ? (i % 3 === 1 ? -value : value)
    : (i === EMBEDDING_SIZE - 2 ? -value : value)));
}

function distance(a, b) {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  return Math.sqrt(sum);
}

/**
 * The pose encoder's output for one embedding (runtime/pose_encoder.py PoseEncoder): dense layers, ReLU between,
 * scaled to length 1. By hand: some 30,000 multiply-adds, where an onnxruntime session would add a model to load and
 * a round trip to the worker for each frame.
 * @param {number[]} embedding @param {PoseEncoder} encoder @returns {Float64Array}
 */
export function encode(embedding, encoder) {
  let x = Float64Array.from(embedding);
  encoder.layers.forEach(({weights, bias}, layer) => {
    const inputs = x.length;
    const out = new Float64Array(bias.length);
    for (let o = 0; o < bias.length; o++) {
      let sum = bias[o];
      for (let i = 0, row = o * inputs; i < inputs; i++) sum += weights[row + i] * x[i];
      out[o] = layer < encoder.layers.length - 1 ? Math.max(sum, 0) : sum;
    }
    x = out;
  });
  const length = Math.max(Math.sqrt(x.reduce((sum, v) => sum + v * v, 0)), Number.EPSILON);
  return x.map((v) => v / length);
}

const encodedExamples = new WeakMap(); // examples -> [encoder, their encodings and their mirror images']

function encodedWithMirrors(examples, encoder) {
  const known = encodedExamples.get(examples);
  if (known?.[0] === encoder) return known[1];
  const encoded = [...examples, ...examples.map(mirrored)].map((example) => encode(example, encoder));
  encodedExamples.set(examples, [encoder, encoded]);
  return encoded;
}

/** An encoded hand's distance to the nearest of `examples` or their mirror images, encoded by `encoder`. */
function nearestEncodedDistance(query, examples, encoder) {
  return Math.min(...encodedWithMirrors(examples, encoder).map((example) => distance(query, example)));
}

/** The embedding's distance to the nearest of `examples` or their mirror images, all encoded by settings.encoder. */
export function nearestDistance(embedding, examples, settings) {
  return nearestEncodedDistance(encode(embedding, settings.encoder), examples, settings.encoder);
}

/** 1 / (1 + (d / matchDistance)^2): 1 on an example, one half at matchDistance. */
export function confidenceAt(d, settings) {
  return Number.isFinite(d) ? 1 / (1 + (d / settings.matchDistance) ** 2) : 0;
}

/** Whether the classifier reads the hand as one of its own `gestures`: such a hand is never a taught one. */
export function readsAsBuiltin(hand, gestures, minScore) {
  return gestures.some((gesture) => hand.probabilities[gesture] >= minScore);
}

/**
 * The frame's decision with taught gestures (runtime/custom_gestures.py decide_with_custom): a built-in gesture
 * stays as decided; else the most confident taught gesture over the hands the classifier reads as none of
 * `builtin`, if it reaches minScore; else none, no surer than the best taught gesture allows.
 * @param {import('./pipeline.js').Decision} decision @param {CustomGesture[]} taught @param {string[]} builtin
 * @param {number} minScore @param {CustomGestureSettings} settings @returns {import('./pipeline.js').Decision}
 */
export function decideWithCustom(decision, taught, builtin, minScore, settings) {
  if (decision.gesture !== 'none' || !taught.length) return decision;
  let [best, score, box] = ['none', 0, null];
  for (const hand of decision.hands) {
    if (readsAsBuiltin(hand, builtin, minScore)) continue;
    const query = encode(handEmbedding(hand.landmarks, settings), settings.encoder); // once, for every gesture
    for (const gesture of taught) {
      const confidence = confidenceAt(nearestEncodedDistance(query, gesture.examples, settings.encoder), settings);
      if (confidence > score) [best, score, box] = [gesture.name, confidence, hand.box];
    }
  }
  if (score >= minScore) return {...decision, gesture: best, confidence: score, box};
  return {...decision, confidence: Math.min(decision.confidence, 1 - score)};
}

/** The hand a frame teaches with: the highest in the frame (its wrist nearest the top), the one raised to show. */
export function teachingHand(hands) {
  let best = null;
  for (const hand of hands) if (best === null || hand.landmarks[WRIST][1] < best.landmarks[WRIST][1]) best = hand;
  return best;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** At most `atMost` indices of `count`, evenly spaced from the first (floored). */
function evenlySpaced(count, atMost) {
  const kept = Math.min(count, atMost);
  return kept <= 1 ? [0] : Array.from({length: kept}, (_, i) => Math.floor(i * (count - 1) / (kept - 1)));
}

const shown = (value) => String(Number(value.toPrecision(6)));

/**
 * A gesture from the hands of the frames seen while it was shown (runtime/custom_gestures.py learn_gesture); throws
 * a TeachingError when no hand was shown, the pose changed, the classifier reads it as one of its own gestures
 * (`builtin`, in words `names`), it would be read as an earlier taught gesture, or the name is taken.
 * @param {string} name @param {string} emoji @param {import('./pipeline.js').Hand[][]} frames
 * @param {string[]} builtin @param {Record<string, string>} names @param {CustomGesture[]} taught
 * @param {number} minScore @param {CustomGestureSettings} settings @returns {CustomGesture}
 */
export function learnGesture(name, emoji, frames, builtin, names, taught, minScore, settings) {
  if (builtin.includes(name) || taught.some((gesture) => gesture.name === name)) {
    throw new TeachingError('name-taken', `There is already a gesture called "${name}": choose another name.`);
  }
  const hands = frames.map(teachingHand).filter((hand) => hand !== null);
  if (!frames.length || hands.length < settings.minHandShare * frames.length) {
    throw new TeachingError('no-hand', `No hand was seen in ${frames.length - hands.length} of ${frames.length} `
      + 'frames: show the gesture to the camera for the whole time.');
  }
  const readings = hands.filter((hand) => readsAsBuiltin(hand, builtin, minScore)).map((hand) =>
    builtin.reduce((a, b) => (hand.probabilities[b] > hand.probabilities[a] ? b : a)));
  if (readings.length > settings.maxBuiltinShare * hands.length) {
    const count = (gesture) => readings.filter((reading) => reading === gesture).length;
    const known = builtin.reduce((a, b) => (count(b) > count(a) ? b : a));
    throw new TeachingError('built-in', `This looks like ${names[known] ?? known}, which is already a gesture: `
      + 'teach a pose that differs from it.');
  }
  const embeddings = hands.filter((hand) => !readsAsBuiltin(hand, builtin, minScore))
    .map((hand) => handEmbedding(hand.landmarks, settings));
  const encoded = embeddings.map((embedding) => encode(embedding, settings.encoder));
  const sums = encoded.map((a) => encoded.reduce((sum, b) => sum + distance(a, b), 0));
  const medoid = encoded[sums.indexOf(Math.min(...sums))];
  const spread = median(encoded.map((e) => distance(medoid, e)));
  if (spread > settings.maxSpread) {
    throw new TeachingError('unsteady', `The pose changed while it was shown (spread ${spread.toFixed(2)}, at most `
      + `${shown(settings.maxSpread)}): hold one pose still.`);
  }
  const gesture = {name, emoji, examples: evenlySpaced(embeddings.length, settings.maxExamples)
    .map((i) => embeddings[i])};
  for (const other of taught) {
    const d = median(gesture.examples.map((example) => nearestDistance(example, other.examples, settings)));
    if (d < settings.minSeparation) {
      throw new TeachingError('too-close', `This is too close to "${other.name}" (distance ${d.toFixed(2)}, at `
        + `least ${shown(settings.minSeparation)}): teach a pose that differs.`);
    }
  }
  return gesture;
}

/**
 * Taught gestures from JSON (exportGestures' text, or what was stored): a list of {name, emoji, examples}; throws a
 * TypeError saying what is wrong.
 * @param {string} json @returns {CustomGesture[]}
 */
export function parseGestures(json) {
  let value;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new TypeError(`taught gestures are not JSON (${error.message})`);
  }
  const isExample = (e) => Array.isArray(e) && e.length === EMBEDDING_SIZE && e.every(Number.isFinite);
  const valid = Array.isArray(value) && value.every((g) => g !== null && typeof g === 'object'
    && typeof g.name === 'string' && g.name !== '' && typeof g.emoji === 'string'
    && Array.isArray(g.examples) && g.examples.length > 0 && g.examples.every(isExample));
  if (!valid) {
    throw new TypeError('taught gestures must be a JSON list of {name, emoji, examples}, each example a list of '
      + `${EMBEDDING_SIZE} numbers`);
  }
  const names = value.map((g) => g.name);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) throw new TypeError(`taught gestures: "${twice}" is there twice`);
  return value.map(({name, emoji, examples}) => ({name, emoji, examples}));
}

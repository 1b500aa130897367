/**
 * The classifier's settings (labels, default emoji, gesture names, input size, normalisation, and the pipeline's
 * and hold-to-confirm's numbers) and the hand landmark model's (input size, regions) read from their model files'
 * metadata_props, which the export writes (export/classifier_onnx.py, export/hand_landmarks.py) and
 * onnxruntime-web does not expose. The Python runtime reads the same keys with the same checks and words
 * (runtime/classifier.py, runtime/hand_landmarks.py), so no number shared with Python is spelt in JavaScript.
 *
 * The browser loads onnxruntime's own ORT format (a flatbuffer, export/ort_format.py); the .onnx files (a protobuf
 * ModelProto) are read too. In both only the path to metadata_props is walked, by hand: a flatbuffers or protobuf
 * library would be one more runtime dependency sent to every browser for these few fields.
 */

import {EMBEDDING_SIZE} from './landmarks.js';

const METADATA_PROPS = 14;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;
const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

class ProtobufReader {
  constructor(bytes, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.position = start;
    this.end = end;
  }

  get done() {
    return this.position >= this.end;
  }

  varint() {
    let value = 0;
    let factor = 1; // multiplication, not shifts: lengths may pass 2^31
    for (;;) {
      if (this.position >= this.end) throw new Error('truncated protobuf varint');
      const byte = this.bytes[this.position++];
      value += (byte & 0x7f) * factor;
      if (byte < 0x80) return value;
      factor *= 128;
    }
  }

  /** The next field as {field, wire, start, end} (start/end: the payload of a length-delimited field). */
  next() {
    const tag = this.varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    let start = this.position;
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_FIXED64) this.position += 8;
    else if (wire === WIRE_FIXED32) this.position += 4;
    else if (wire === WIRE_LENGTH_DELIMITED) {
      const length = this.varint();
      start = this.position;
      this.position += length;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
    if (this.position > this.end) throw new Error('truncated protobuf field');
    return {field, wire, start, end: this.position};
  }
}

/** An ORT-format file's identifier, bytes 4 to 8 of the flatbuffer. */
const ORT_FORMAT_ID = 'ORTM';
/**
 * Vtable offsets of the fields on the path to metadata_props in onnxruntime's schema (ort.fbs): InferenceSession.model,
 * Model.metadata_props, StringStringEntry.key and .value.
 */
const ORT_SESSION_MODEL = 6;
const ORT_MODEL_METADATA_PROPS = 22;
const ORT_ENTRY_KEY = 4;
const ORT_ENTRY_VALUE = 6;

/** Tables, strings and vectors of a flatbuffer, with their offsets checked against its length. */
class FlatbufferReader {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u32(at) {
    return this.view.getUint32(this.check(at, 4), true);
  }

  /** Where the offset stored at `at` points. */
  follow(at) {
    return at + this.u32(at);
  }

  /** The position of a table's field (by its vtable offset), or null when the table leaves it out. */
  field(table, vtableOffset) {
    const vtable = table - this.view.getInt32(this.check(table, 4), true);
    const vtableSize = this.view.getUint16(this.check(vtable, 4), true);
    if (vtableOffset >= vtableSize) return null;
    const offset = this.view.getUint16(this.check(vtable + vtableOffset, 2), true);
    return offset ? table + offset : null;
  }

  string(at) {
    const length = this.u32(at);
    const start = this.check(at + 4, length);
    return new TextDecoder().decode(this.bytes.subarray(start, start + length));
  }

  /** The tables of the vector stored at `at`. */
  tables(at) {
    return Array.from({length: this.u32(at)}, (_, i) => this.follow(at + 4 + 4 * i));
  }

  check(at, length) {
    if (at < 0 || at + length > this.bytes.length) throw new Error('truncated ORT-format model');
    return at;
  }
}

function readOrtMetadata(bytes) {
  const reader = new FlatbufferReader(bytes);
  const model = reader.field(reader.follow(0), ORT_SESSION_MODEL);
  if (model === null) throw new Error('an ORT-format file without a model');
  const props = reader.field(reader.follow(model), ORT_MODEL_METADATA_PROPS);
  const metadata = {};
  for (const entry of props === null ? [] : reader.tables(reader.follow(props))) {
    const [key, value] = [ORT_ENTRY_KEY, ORT_ENTRY_VALUE].map((offset) => reader.field(entry, offset));
    metadata[key === null ? '' : reader.string(reader.follow(key))] = value === null ? ''
      : reader.string(reader.follow(value));
  }
  return metadata;
}

/**
 * metadata_props of a model, ORT format or ONNX, as a plain object of strings.
 * @param {ArrayBuffer | Uint8Array} model the .ort or .onnx file's bytes
 * @returns {Record<string, string>}
 */
export function readModelMetadata(model) {
  const bytes = model instanceof Uint8Array ? model : new Uint8Array(model);
  const decoder = new TextDecoder();
  if (bytes.length >= 8 && decoder.decode(bytes.subarray(4, 8)) === ORT_FORMAT_ID) return readOrtMetadata(bytes);
  const metadata = {};
  const reader = new ProtobufReader(bytes);
  while (!reader.done) {
    const {field, wire, start, end} = reader.next();
    if (field !== METADATA_PROPS || wire !== WIRE_LENGTH_DELIMITED) continue;
    const entry = new ProtobufReader(bytes, start, end);
    let key = '';
    let value = '';
    while (!entry.done) {
      const part = entry.next();
      if (part.wire !== WIRE_LENGTH_DELIMITED) continue;
      const text = decoder.decode(bytes.subarray(part.start, part.end));
      if (part.field === ENTRY_KEY) key = text;
      else if (part.field === ENTRY_VALUE) value = text;
    }
    metadata[key] = value;
  }
  return metadata;
}

function parsed(metadata, key, check, expected) {
  if (metadata[key] === undefined) throw new Error(`its metadata has no "${key}" (expected ${expected})`);
  let value;
  try {
    value = JSON.parse(metadata[key]);
  } catch {
    throw new Error(`its metadata "${key}" is not JSON (expected ${expected})`);
  }
  if (!check(value)) throw new Error(`its metadata "${key}" is ${metadata[key]} (expected ${expected})`);
  return value;
}

const isTriple = (v) => Array.isArray(v) && v.length === 3 && v.every(Number.isFinite);

/** An object with a non-empty string for each of `gestures`. */
const hasTextFor = (v, gestures) => v !== null && typeof v === 'object'
  && gestures.every((g) => typeof v[g] === 'string' && v[g] !== '');

/** The metadata's JSON keys of the pipeline's and hold-to-confirm's numbers -> the names the widget uses. */
const PIPELINE_KEYS = {
  min_palm_score: 'minPalmScore', min_presence: 'minPresence', min_gesture_score: 'minGestureScore',
  max_hands: 'maxHands', hand_box_margin: 'handBoxMargin', still_change: 'stillChange',
  signature_size: 'signatureSize', redetect_ms: 'redetectMs', search_motion: 'searchMotion',
  motion_shift_share: 'motionShiftShare', motion_search_ms: 'motionSearchMs', idle_search_ms: 'idleSearchMs', idle_fps: 'idleFps',
  bright_crop_luma: 'brightCropLuma',
  bright_crop_target: 'brightCropTarget', bright_crop_none_logit: 'brightCropNoneLogit',
};
const REACTION_KEYS = {threshold: 'threshold', hold_ms: 'hold', cooldown_ms: 'cooldown'};
const REGION_KEYS = {scale: 'scale', shift: 'shift'};
const CUSTOM_GESTURE_KEYS = {
  match_distance: 'matchDistance', direction_weight: 'directionWeight', teach_ms: 'teachMs',
  min_hand_share: 'minHandShare', max_builtin_share: 'maxBuiltinShare', max_spread: 'maxSpread',
  min_separation: 'minSeparation', max_examples: 'maxExamples',
};

/** A JSON object with exactly the keys of `names`, all numbers, renamed to its values. */
function numbers(metadata, key, names) {
  const expected = Object.keys(names);
  const isSettings = (v) => v !== null && typeof v === 'object' && !Array.isArray(v)
    && Object.keys(v).length === expected.length && expected.every((name) => Number.isFinite(v[name]));
  const value = parsed(metadata, key, isSettings, `a JSON object of numbers: ${expected.join(', ')}`);
  return Object.fromEntries(expected.map((name) => [names[name], value[name]]));
}

/**
 * @typedef {{minPalmScore: number, minPresence: number, minGestureScore: number, maxHands: number,
 *   handBoxMargin: number, stillChange: number, signatureSize: number, redetectMs: number, searchMotion: number,
 *   motionShiftShare: number, motionSearchMs: number, idleSearchMs: number, idleFps: number, brightCropLuma: number,
 *   brightCropTarget: number, brightCropNoneLogit: number}} PipelineSettings how
 *   one frame becomes one gesture (pipeline.js)
 * @typedef {{threshold: number, hold: number, cooldown: number}} ReactionSettings hold-to-confirm's defaults
 *   (reactions.js): confidence 0..1, hold and cooldown in milliseconds
 * @typedef {{gesture: string, hold: number, lowerAfter: number}} RaiseHandSettings the label that raises the hand,
 *   the evidence (ms) raising it needs and the ms without it that lower it (reactions.js RaisedHand)
 * @typedef {{labels: string[], gestures: string[], defaultGestures: string[], emoji: Record<string, string>,
 *   names: Record<string, string>, inputSize: number, mean: number[], std: number[], pipeline: PipelineSettings,
 *   reactions: ReactionSettings, raiseHand: RaiseHandSettings | null}} ClassifierSettings gestures: the labels that
 *   fire reactions or raise the hand (all but "none"); defaultGestures: those of them on until a host chooses;
 *   names: each in words; raiseHand: null when the classifier has no raise-hand gesture
 */

/** The metadata's "raise_hand": null, or the label that raises the hand (one of `gestures`) and its numbers. */
function raiseHandSettings(metadata, gestures) {
  const expected = `null or a JSON object of "label" (one of ${gestures.join(', ')}), "hold_ms" and "lower_after_ms"`;
  const isSettings = (v) => v === null || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 3
    && gestures.includes(v.label) && [v.hold_ms, v.lower_after_ms].every((n) => Number.isFinite(n) && n >= 0));
  const value = parsed(metadata, 'raise_hand', isSettings, expected);
  return value && {gesture: value.label, hold: value.hold_ms, lowerAfter: value.lower_after_ms};
}

/**
 * What the widget needs from the classifier's metadata; throws an Error saying which key is missing or wrong.
 * @param {Record<string, string>} metadata from readModelMetadata
 * @returns {ClassifierSettings}
 */
export function classifierSettings(metadata) {
  const labels = parsed(metadata, 'labels', (v) => Array.isArray(v) && v.includes('none') && v.length > 1,
    'a JSON list of class names including "none"');
  const gestures = labels.filter((label) => label !== 'none');
  const emoji = parsed(metadata, 'emoji', (v) => hasTextFor(v, gestures),
    `a JSON object with an emoji for each of ${gestures.join(', ')}`);
  const names = parsed(metadata, 'names', (v) => hasTextFor(v, gestures),
    `a JSON object with a name for each of ${gestures.join(', ')}`);
  const inputSize = parsed(metadata, 'input_size', (v) => Number.isInteger(v) && v > 0, 'a positive integer');
  const mean = parsed(metadata, 'mean', isTriple, 'three numbers');
  const std = parsed(metadata, 'std', (v) => isTriple(v) && v.every((s) => s > 0), 'three positive numbers');
  if (metadata.output !== 'probabilities') {
    throw new Error(`its metadata "output" is ${metadata.output ?? 'missing'} `
      + '(expected "probabilities": the graph ends in softmax)');
  }
  const pipeline = numbers(metadata, 'pipeline', PIPELINE_KEYS);
  const reactions = numbers(metadata, 'reactions', REACTION_KEYS);
  const defaultGestures = parsed(metadata, 'default_gestures', (v) => Array.isArray(v) && v.length > 0
    && v.every((g) => gestures.includes(g)), `a non-empty JSON list of some of ${gestures.join(', ')}`);
  return {labels, gestures, defaultGestures, emoji, names, inputSize, mean, std, pipeline, reactions,
    raiseHand: raiseHandSettings(metadata, gestures)};
}

/**
 * What the worker needs from the hand landmark model's metadata (runtime/hand_landmarks.py
 * parse_landmark_metadata): its input side, where it looks for a hand around a palm and around the last frame's
 * landmarks, and how taught gestures are matched to its landmarks (custom-gestures.js); throws an Error saying which
 * key is missing or wrong.
 * @param {Record<string, string>} metadata from readModelMetadata
 * @returns {import('./landmarks.js').LandmarkSettings}
 */
export function landmarkSettings(metadata) {
  const inputSize = parsed(metadata, 'input_size', (v) => Number.isInteger(v) && v > 0, 'a positive integer');
  return {inputSize, palm: numbers(metadata, 'palm_region', REGION_KEYS),
    landmarks: numbers(metadata, 'landmark_region', REGION_KEYS),
    customGestures: {...numbers(metadata, 'custom_gestures', CUSTOM_GESTURE_KEYS),
      encoder: poseEncoder(metadata, EMBEDDING_SIZE)}};
}

/** Little-endian float32 from base64, or null when `text` is not base64 of whole floats. */
function float32s(text) {
  if (typeof text !== 'string') return null;
  let bytes;
  try {
    bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
  if (bytes.length % 4) return null;
  const view = new DataView(bytes.buffer);
  return Float32Array.from({length: bytes.length / 4}, (_, i) => view.getFloat32(4 * i, true));
}

/**
 * The metadata's "pose_encoder" (runtime/pose_encoder.py pose_encoder_from): dense layers whose weights are
 * [outputs x inputs] row by row, the first taking `inputs` numbers; throws an Error saying what was expected (not the
 * value: some hundred kilobytes).
 * @returns {import('./custom-gestures.js').PoseEncoder}
 */
export function poseEncoder(metadata, inputs) {
  const expected = 'a JSON object {"layers": [{"weights", "bias"}, ...]}, each a base64 string of little-endian '
    + `float32: a layer's weights [outputs x inputs] row by row, the first layer taking ${inputs} inputs`;
  if (!('pose_encoder' in metadata)) throw new Error(`its metadata has no "pose_encoder" (expected ${expected})`);
  const wrong = new Error(`its metadata "pose_encoder" is not ${expected}`);
  let value;
  try {
    value = JSON.parse(metadata.pose_encoder);
  } catch {
    throw wrong;
  }
  if (!Array.isArray(value?.layers) || !value.layers.length) throw wrong;
  const layers = [];
  for (const layer of value.layers) {
    const [weights, bias] = [float32s(layer?.weights), float32s(layer?.bias)];
    if (!weights || !bias || !bias.length || weights.length !== bias.length * inputs
      || ![...weights, ...bias].every(Number.isFinite)) throw wrong;
    layers.push({weights, bias});
    inputs = bias.length;
  }
  return {layers};
}

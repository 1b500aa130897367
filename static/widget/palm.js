/**
 * From the palm detector's raw outputs to palms in frame pixels: MediaPipe's SSD anchors, box decoding and
 * weighted NMS, and the views of the frame the detector looks at (the letterbox and the square tiles). The hand's
 * region and box around a palm are landmarks.js's.
 *
 * Every step, and every constant here, is the Python pipeline's (runtime/palm_decode.py, runtime/pipeline.py),
 * which is what the documented figures measure: change them there and here together. The constants here are
 * MediaPipe's palm model's own; the tunable numbers (palm score, hands) are the caller's arguments, read from the
 * classifier's metadata (onnx-metadata.js).
 */

// ImageToTensorCalculator: the detector sees a 192 x 192 square, RGB in [0, 1].
export const INPUT_SIZE = 192;

// SsdAnchorsCalculator.
const NUM_LAYERS = 4;
const MIN_SCALE = 0.1484375;
const MAX_SCALE = 0.75;
const ANCHOR_OFFSET_X = 0.5;
const ANCHOR_OFFSET_Y = 0.5;
const STRIDES = [8, 16, 16, 16];
const ASPECT_RATIOS = [1.0];
const INTERPOLATED_SCALE_ASPECT_RATIO = 1.0;
const FIXED_ANCHOR_SIZE = true;
export const NUM_ANCHORS = 2016;

// TensorsToDetectionsCalculator: per anchor, box centre x, y, width, height, then 7 keypoints (x, y).
export const NUM_COORDS = 18;
const BOX_COORD_OFFSET = 0;
const KEYPOINT_COORD_OFFSET = 4;
const NUM_KEYPOINTS = 7;
const X_SCALE = 192.0;
const Y_SCALE = 192.0;
const W_SCALE = 192.0;
const H_SCALE = 192.0;
const SCORE_CLIPPING_THRESH = 100.0;

// NonMaxSuppressionCalculator: weighted, intersection over union.
export const MIN_SUPPRESSION_THRESHOLD = 0.3;


/**
 * @typedef {{box: number[], keypoints: number[][], score: number}} Palm
 *   box [xmin, ymin, xmax, ymax] and keypoints [[x, y] x 7], in the caller's units.
 * @typedef {{x: number, y: number, side: number}} View
 *   A square of the frame, in frame pixels, that the detector sees scaled to 192 x 192; it may reach past the
 *   frame's edges, where the detector sees black.
 */

/** Python's round(): halves go to the even neighbour (boxes and tile offsets must match the Python pipeline). */
export function roundHalfEven(value) {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}

function anchorScale(layer) {
  return MIN_SCALE + (MAX_SCALE - MIN_SCALE) * layer / (NUM_LAYERS - 1);
}

/** NUM_ANCHORS anchors as a flat Float32Array of (x_centre, y_centre, width, height), normalised, in output order. */
export function ssdAnchors() {
  const anchors = [];
  let layer = 0;
  while (layer < NUM_LAYERS) {
    const sizes = []; // (width, height) of each anchor at one cell; layers with the same stride share cells
    let last = layer;
    while (last < NUM_LAYERS && STRIDES[last] === STRIDES[layer]) {
      const scale = anchorScale(last);
      const nextScale = last === NUM_LAYERS - 1 ? 1.0 : anchorScale(last + 1);
      const ratios = ASPECT_RATIOS.map((ratio) => [scale, ratio]);
      ratios.push([Math.sqrt(scale * nextScale), INTERPOLATED_SCALE_ASPECT_RATIO]);
      for (const [s, r] of ratios) sizes.push([s * Math.sqrt(r), s / Math.sqrt(r)]);
      last += 1;
    }
    const cells = Math.ceil(INPUT_SIZE / STRIDES[layer]);
    for (let y = 0; y < cells; y++) {
      for (let x = 0; x < cells; x++) {
        for (const [width, height] of sizes) {
          anchors.push((x + ANCHOR_OFFSET_X) / cells, (y + ANCHOR_OFFSET_Y) / cells,
            FIXED_ANCHOR_SIZE ? 1.0 : width, FIXED_ANCHOR_SIZE ? 1.0 : height);
        }
      }
    }
    layer = last;
  }
  return Float32Array.from(anchors);
}

/** Intersection over union of two [xmin, ymin, xmax, ymax] boxes; 0 when disjoint or empty. */
export function iou(a, b) {
  const width = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const height = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const intersection = width * height;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - intersection;
  return union > 0 ? intersection / union : 0;
}

function decodePalm(regressors, anchors, index) {
  const r = index * NUM_COORDS;
  const [ax, ay, aw, ah] = anchors.subarray(index * 4, index * 4 + 4);
  const x = regressors[r + BOX_COORD_OFFSET] / X_SCALE * aw + ax;
  const y = regressors[r + BOX_COORD_OFFSET + 1] / Y_SCALE * ah + ay;
  const halfW = regressors[r + BOX_COORD_OFFSET + 2] / W_SCALE * aw / 2;
  const halfH = regressors[r + BOX_COORD_OFFSET + 3] / H_SCALE * ah / 2;
  const keypoints = [];
  for (let k = 0; k < NUM_KEYPOINTS; k++) {
    const p = r + KEYPOINT_COORD_OFFSET + 2 * k;
    keypoints.push([regressors[p] / X_SCALE * aw + ax, regressors[p + 1] / Y_SCALE * ah + ay]);
  }
  return {box: [x - halfW, y - halfH, x + halfW, y + halfH], keypoints};
}

/**
 * MediaPipe's weighted NMS: each best-scoring palm absorbs the palms overlapping it by IoU > threshold, and its box
 * and keypoints become their score-weighted mean; its score stays the best one.
 * @param {{box: number[], keypoints: number[][], score: number}[]} candidates
 * @returns {Palm[]} best first
 */
export function weightedNms(candidates, threshold = MIN_SUPPRESSION_THRESHOLD) {
  let remaining = [...candidates].sort((a, b) => b.score - a.score); // stable, as Python's
  const palms = [];
  while (remaining.length) {
    const best = remaining[0];
    // the best palm always joins its own group, even when empty (IoU 0 with itself)
    const members = remaining.filter((palm, i) => i === 0 || iou(best.box, palm.box) > threshold);
    const total = members.reduce((sum, palm) => sum + palm.score, 0);
    const box = [0, 0, 0, 0];
    const keypoints = best.keypoints.map(() => [0, 0]);
    for (const palm of members) {
      const weight = palm.score / total;
      palm.box.forEach((v, i) => { box[i] += weight * v; });
      palm.keypoints.forEach(([x, y], k) => { keypoints[k][0] += weight * x; keypoints[k][1] += weight * y; });
    }
    palms.push({box, keypoints, score: best.score});
    remaining = remaining.filter((palm, i) => !(i === 0 || iou(best.box, palm.box) > threshold));
  }
  return palms;
}

/**
 * One detector run's raw outputs -> palms in normalised detector-input coordinates, best first.
 * @param {Float32Array} regressors [NUM_ANCHORS * NUM_COORDS]
 * @param {Float32Array} rawScores [NUM_ANCHORS] logits
 * @param {Float32Array} anchors from ssdAnchors()
 * @param {number} minScore palms scoring below this (0..1) are dropped (PipelineSettings.minPalmScore)
 * @returns {Palm[]}
 */
export function decodeDetections(regressors, rawScores, anchors, minScore) {
  const candidates = [];
  for (let i = 0; i < rawScores.length; i++) {
    // clipped first, as MediaPipe does, so that exp never overflows
    const logit = Math.min(SCORE_CLIPPING_THRESH, Math.max(-SCORE_CLIPPING_THRESH, rawScores[i]));
    const score = 1 / (1 + Math.exp(-logit));
    if (score >= minScore) candidates.push({...decodePalm(regressors, anchors, i), score});
  }
  return weightedNms(candidates);
}

/** A palm in normalised coordinates of `view` -> frame pixels. */
export function toFramePixels(palm, view) {
  const {x, y, side} = view;
  return {
    box: palm.box.map((v, i) => v * side + (i % 2 === 0 ? x : y)),
    keypoints: palm.keypoints.map(([px, py]) => [px * side + x, py * side + y]),
    score: palm.score,
  };
}

/** The whole frame centred on a black square (MediaPipe's keep_aspect_ratio): the first place to look for palms. */
export function letterboxView(width, height) {
  const side = Math.max(width, height);
  return {x: -Math.floor((side - width) / 2), y: -Math.floor((side - height) / 2), side};
}

/**
 * The squares the detector looks in when the letterboxed frame has no hand, coarse to fine (runtime/pipeline.py
 * tile_levels): squares of the frame's short side along its long side (none for a square frame), then squares of
 * half the short side over the whole frame, overlapping their neighbours by about half.
 * @returns {View[][]}
 */
export function tileLevels(width, height) {
  const short = Math.min(width, height);
  const along = starts(width, short).flatMap((x) => starts(height, short).map((y) => ({x, y, side: short})));
  const half = Math.floor(short / 2);
  const fine = half ? starts(height, half).flatMap((y) => starts(width, half).map((x) => ({x, y, side: half}))) : [];
  return [along.length > 1 ? along : [], fine];
}

/** Evenly spaced starts of squares of `side` covering `length`, one more than it takes (one when it fits). */
function starts(length, side) {
  if (length <= side) return [0];
  const count = Math.ceil(length / side) + 1;
  return Array.from({length: count}, (_, i) => roundHalfEven(i * (length - side) / (count - 1)));
}

/**
 * The views the detector looks in, one per detection, in turn (runtime/tracking.py search_views): every square of
 * tileLevels, coarse to fine, with the letterboxed frame between each two.
 * @returns {View[]}
 */
export function searchViews(width, height) {
  const letterbox = letterboxView(width, height);
  return tileLevels(width, height).flat().flatMap((tile) => [letterbox, tile]);
}

/**
 * One camera frame -> one gesture, as runtime/pipeline.py's GesturePipeline does it, following the hands from frame
 * to frame as runtime/tracking.py's HandTracker does, step for step:
 * - the palm detector runs when fewer than maxHands hands are tracked and the last detection is redetectMs old;
 *   with none tracked, when the frame has motion (searchMotion) and for motionSearchMs after, else once
 *   idleSearchMs, and the frame's answer says it is `idle` (the controller then takes frames at idleFps); it looks
 *   in one view of the frame per run (palm.js searchViews: the letterboxed frame every other run, and in between
 *   each square tile in turn, coarse to fine, moving on while no new hand is found there),
 *   and each palm adds its region of interest (MediaPipe's, landmarks.js);
 * - the hand landmark model runs in every region (tracked ones first); a hand below minPresence is lost, and one
 *   found twice (a new palm on a tracked hand) is kept once;
 * - the square around each hand's landmarks (handBoxMargin; axis-aligned, never rotated) goes to the classifier,
 *   and the most confident gesture wins if it reaches minGestureScore, else `none`;
 * - each hand's landmarks give its region on the next frame, so a hand held up needs no palm detector.
 * These numbers are the classifier's (its metadata "pipeline"), and the regions' the landmark model's (its metadata
 * "palm_region" and "landmark_region"), read by onnx-metadata.js as Python reads them: none is spelt here. The
 * models are behind three functions, so that this runs (and is tested) without onnxruntime.
 */

import {
  INPUT_SIZE, decodeDetections, iou, letterboxView, searchViews, ssdAnchors, toFramePixels,
} from './palm.js';
import {cropRegion, landmarkBox, landmarksFromOutput, roiFromLandmarks, roiFromPalm} from './landmarks.js';
import {exposeBrightCrop, resizeRegion, writeChannelsFirst} from './resample.js';

/**
 * One row of softmax probabilities, changed in place into those the softmax would give with `value` added to logit
 * `index`: that probability times e^value, the row normalised again (float32, as runtime/classifier.py's
 * add_to_logit).
 * @param {Float32Array} row @param {number} index @param {number} value
 */
export function addToLogit(row, index, value) {
  if (!value) return;
  row[index] = Math.fround(row[index] * Math.fround(Math.exp(value)));
  let sum = 0;
  for (const p of row) sum = Math.fround(sum + p);
  for (let j = 0; j < row.length; j++) row[j] = Math.fround(row[j] / sum);
}

/** Two hands whose landmarks' extents overlap by more than this are one (runtime/pipeline.py SAME_HAND_IOU). */
const SAME_HAND_IOU = 0.5;

/**
 * @typedef {import('./landmarks.js').Region} Region
 * @typedef {{box: number[], probabilities: Record<string, number>, presence: number, landmarks: number[][],
 *   region: Region}} Hand box [left, top, right, bottom] in pixels; landmarks: 21 [x, y, z] in frame pixels;
 *   region: where the landmark model looked
 * @typedef {{gesture: string, confidence: number, box: number[] | null, hands: Hand[]}} Decision
 */

/**
 * GesturePipeline.decide: the most confident chosen gesture over all hands if it reaches `minScore`; else `none`,
 * with the confidence that no chosen gesture is shown (1 - the highest probability of one).
 * @param {Hand[]} hands @param {string[]} gestures the gestures a frame is decided among (the host's choice; every
 *   label but 'none' by default)
 * @param {number} minScore the probability a gesture needs (PipelineSettings.minGestureScore)
 * @returns {Decision}
 */
export function decide(hands, gestures, minScore) {
  let gesture = 'none';
  let confidence = 0;
  let box = null;
  for (const hand of hands) {
    for (const label of gestures) {
      const score = hand.probabilities[label];
      if (score >= minScore && score > confidence) [gesture, confidence, box] = [label, score, hand.box];
    }
  }
  if (gesture === 'none') {
    const best = Math.max(0, ...hands.flatMap((hand) => gestures.map((label) => hand.probabilities[label])));
    confidence = 1 - best;
  }
  return {gesture, confidence, box, hands};
}

/** [xmin, ymin, xmax, ymax] of landmarks' x, y. */
function extent(landmarks) {
  const xs = landmarks.map(([x]) => x);
  const ys = landmarks.map(([, y]) => y);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

/**
 * runtime/tracking.py signature: a box [left, top, right, bottom] of the frame as size x size cells, each the mean
 * (rounded down) of about as many pixels a side spread evenly over it, black beyond the frame's edges; RGB, row-major.
 * @returns {Int32Array}
 */
export function signature(rgba, width, height, [left, top, right, bottom], size) {
  const rows = cellSamples(top, bottom, size);
  const cols = cellSamples(left, right, size);
  const cells = new Int32Array(size * size * 3);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      let red = 0;
      let green = 0;
      let blue = 0;
      for (const y of rows[i]) {
        if (y < 0 || y >= height) continue;
        for (const x of cols[j]) {
          if (x < 0 || x >= width) continue;
          const p = (y * width + x) * 4;
          red += rgba[p];
          green += rgba[p + 1];
          blue += rgba[p + 2];
        }
      }
      const count = rows[i].length * cols[j].length;
      cells.set([red, green, blue].map((sum) => Math.floor(sum / count)), (i * size + j) * 3);
    }
  }
  return cells;
}

/**
 * runtime/tracking.py has_motion: some cell of a size x size signature changed by more than searchMotion plus
 * motionShiftShare of its largest difference to a neighbouring cell before (more than a small shift explains).
 */
export function hasMotion(now, before, size, searchMotion, motionShiftShare) {
  const at = (i, j, c) => (i * size + j) * 3 + c;
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      let change = 0;
      let contrast = 0;
      for (let c = 0; c < 3; c++) {
        change = Math.max(change, Math.abs(now[at(i, j, c)] - before[at(i, j, c)]));
        for (const [a, b] of [[i - 1, j], [i + 1, j], [i, j - 1], [i, j + 1]]) {
          if (a >= 0 && a < size && b >= 0 && b < size) {
            contrast = Math.max(contrast, Math.abs(before[at(i, j, c)] - before[at(a, b, c)]));
          }
        }
      }
      if (change > searchMotion + motionShiftShare * contrast) return true;
    }
  }
  return false;
}

/** The coordinates sampled in each of `size` cells over [start, end) (runtime/tracking.py _cell_samples). */
function cellSamples(start, end, size) {
  return Array.from({length: size}, (_, i) => {
    const first = start + Math.floor(i * (end - start) / size);
    const last = start + Math.floor((i + 1) * (end - start) / size);
    const step = Math.max(1, Math.floor((last - first) / size));
    const samples = [];
    for (let v = first; v < Math.max(last, first + 1); v += step) samples.push(v);
    return samples;
  });
}

/** A view's key in the record of views searched in vain (the letterbox recurs in the search: one key). */
function viewKey({x, y, side}) {
  return `${x},${y},${side}`;
}

/**
 * @typedef {{classifier: import('./onnx-metadata.js').ClassifierSettings,
 *   landmarks: import('./landmarks.js').LandmarkSettings}} Settings the classifier's settings (onnx-metadata.js
 *   classifierSettings: labels, input, normalisation, and `pipeline`, the numbers this class uses) and the
 *   landmark model's (landmarkSettings: its input side and regions)
 * @typedef {{
 *   detectPalms: (input: Float32Array) => Promise<{regressors: Float32Array, scores: Float32Array}>,
 *   markHand: (input: Float32Array) => Promise<{landmarks: Float32Array, presence: number}>,
 *   classify: (input: Float32Array, count: number) => Promise<Float32Array>}} Models
 *   detectPalms runs the palm detector on [1, 3, 192, 192] RGB in [0, 1]; markHand the hand landmark model on
 *   [1, 3, size, size] RGB in [0, 1] (21 x (x, y, z) in its input's pixels, and the hand presence score); classify
 *   the classifier on [count, 3, size, size] normalised crops ([count, labels] probabilities)
 */

export class FramePipeline {
  /** @param {Settings} settings @param {Models} models @param {() => number} now the clock, in ms (a test's own) */
  constructor({classifier, landmarks}, {detectPalms, markHand, classify}, now = () => performance.now()) {
    this.classifier = classifier;
    this.landmarkModel = landmarks;
    this.detectPalms = detectPalms;
    this.markHand = markHand;
    this.classify = classify;
    this.now = now;
    this.anchors = ssdAnchors();
    this.palmInput = new Float32Array(3 * INPUT_SIZE * INPUT_SIZE);
    this.landmarkInput = new Float32Array(3 * landmarks.inputSize * landmarks.inputSize);
    this.reset();
  }

  /** Track nothing and search from the letterboxed frame (new camera, frames after a pause). */
  reset() {
    this.views = [];
    this.viewIndex = 0;
    this.frameSize = '';
    this.searched = new Map(); // view key -> its signature when the detector last found no new hand there
    this.forget();
  }

  /** No hand tracked: the next frame runs the detector. */
  forget() {
    this.tracked = []; // the hands of the last frame, each with its box's signature at its last landmark run
    this.detectedAt = -Infinity;
    this.frameSignature = null; // the letterboxed square's signature on the last frame with no hand tracked
    this.movedAt = -Infinity;
  }

  /** Where the tracked hands are looked for on the next frame. */
  get regions() {
    return this.tracked.map(({hand}) => roiFromLandmarks(hand.landmarks, this.landmarkModel));
  }

  /**
   * @param {Uint8ClampedArray} rgba the frame, 4 bytes per pixel
   * @returns {Promise<Decision & {detected: boolean, regions: Region[], still: number, idle: boolean,
   *   timings: {palm: number, landmarks: number, classifier: number}}>} detected: whether the palm detector ran
   *   on this frame (timings.palm is then its time, else the time to decide it need not run); regions: where the
   *   landmark model looked; still: the hands kept as they were, with no model run on them; idle: no hand tracked
   *   and no motion, so the next frame may wait (idleFps); timings in ms
   */
  async process(rgba, width, height) {
    if (this.frameSize !== `${width}x${height}`) {
      this.reset();
      this.frameSize = `${width}x${height}`;
      this.views = searchViews(width, height);
    }
    const {maxHands, minGestureScore} = this.classifier.pipeline;
    const palmStart = this.now();
    const still = [];
    const moved = [];
    for (const entry of this.tracked) {
      (this.#unchanged(this.#signature(rgba, width, height, entry.hand.box), entry.signature)
        ? still : moved).push(entry);
    }
    const regions = moved.map(({hand}) => roiFromLandmarks(hand.landmarks, this.landmarkModel));
    const search = await this.#search(rgba, width, height, palmStart);
    regions.push(...(search?.palms ?? []).map((palm) => roiFromPalm(palm, this.landmarkModel)));
    const landmarksStart = this.now();
    const found = await this.landmarks(rgba, width, height, regions, still.map(({hand}) => hand));
    if (search) this.#searched(search, found.some((hand) => hand.index >= moved.length));
    const classifierStart = this.now();
    const looked = await this.hands(rgba, width, height, found.slice(0, maxHands - still.length));
    // the hands just left or were lost: look for them at once
    if (this.tracked.length && !still.length && !looked.length) this.movedAt = palmStart;
    this.tracked = [...still, ...looked.map((hand) => ({hand,
      signature: this.#signature(rgba, width, height, hand.box)}))];
    const decision = decide(this.tracked.map(({hand}) => hand), this.classifier.gestures, minGestureScore);
    const end = this.now();
    const timings = {palm: landmarksStart - palmStart, landmarks: classifierStart - landmarksStart,
      classifier: end - classifierStart};
    const idle = !this.tracked.length && palmStart - this.movedAt > this.classifier.pipeline.motionSearchMs;
    return {...decision, detected: search !== null, regions, still: still.length, idle, timings};
  }

  /**
   * HandTracker._search: the palm detector in the current view, when a detection is due and the view has changed
   * since it was last searched in vain; null when it did not run.
   */
  async #search(rgba, width, height, now) {
    if (!this.#searchDue(rgba, width, height, now)) return null;
    const view = this.views[this.viewIndex];
    const letterbox = view.side === Math.max(width, height);
    const signature = letterbox && this.frameSignature ? this.frameSignature // this frame's, from #searchDue
      : this.#signature(rgba, width, height, [view.x, view.y, view.x + view.side, view.y + view.side]);
    const before = this.searched.get(viewKey(view));
    if (before && this.#unchanged(signature, before)) {
      this.viewIndex = (this.viewIndex + 1) % this.views.length; // nothing new there: the next frame looks on
      return null;
    }
    this.detectedAt = now;
    return {view, signature, palms: await this.#detectInView(rgba, width, height, view)};
  }

  /**
   * HandTracker._search_due: another hand is looked for every redetectMs; the first at once on motion and for
   * motionSearchMs after, else every idleSearchMs.
   */
  #searchDue(rgba, width, height, now) {
    const {maxHands, redetectMs, signatureSize, searchMotion, motionShiftShare, motionSearchMs, idleSearchMs}
      = this.classifier.pipeline;
    if (this.tracked.length) {
      this.frameSignature = null;
      return this.tracked.length < maxHands && now - this.detectedAt >= redetectMs;
    }
    const {x, y, side} = letterboxView(width, height);
    const frame = this.#signature(rgba, width, height, [x, y, x + side, y + side]);
    if (this.frameSignature && hasMotion(frame, this.frameSignature, signatureSize, searchMotion, motionShiftShare)) {
      this.movedAt = now;
    }
    this.frameSignature = frame;
    return now - this.movedAt <= motionSearchMs || now - this.detectedAt >= idleSearchMs;
  }

  /** HandTracker._searched: a view with a new hand is searched again; one without is passed over while unchanged. */
  #searched({view, signature}, foundNew) {
    if (foundNew) {
      this.searched.delete(viewKey(view));
    } else { // no new hand in this view: the next detection looks in the next one
      this.searched.set(viewKey(view), signature);
      this.viewIndex = (this.viewIndex + 1) % this.views.length;
    }
  }

  #signature(rgba, width, height, box) {
    return signature(rgba, width, height, box, this.classifier.pipeline.signatureSize);
  }

  /** runtime/tracking.py unchanged: no value of the signature moved by more than stillChange. */
  #unchanged(now, before) {
    const {stillChange} = this.classifier.pipeline;
    return now.every((value, i) => Math.abs(value - before[i]) <= stillChange);
  }

  /** Palms in `view`, in frame pixels, at most maxHands. */
  async #detectInView(rgba, width, height, view) {
    const {minPalmScore, maxHands} = this.classifier.pipeline;
    const square = resizeRegion(rgba, width, height, {x: view.x, y: view.y, width: view.side, height: view.side},
      INPUT_SIZE, INPUT_SIZE);
    writeChannelsFirst(square, this.palmInput);
    const {regressors, scores} = await this.detectPalms(this.palmInput);
    return decodeDetections(regressors, scores, this.anchors, minPalmScore)
      .slice(0, maxHands).map((palm) => toFramePixels(palm, view));
  }

  /**
   * GesturePipeline.landmarks: the landmark model in each region, in order, keeping the hands at minPresence or
   * above that are not a hand already kept or one of `known`.
   * @returns {Promise<{landmarks: number[][], presence: number, region: Region, index: number}[]>} index: the
   *   region the hand was found in
   */
  async landmarks(rgba, width, height, regions, known = []) {
    const found = [];
    for (const [index, region] of regions.entries()) {
      const size = this.landmarkModel.inputSize;
      writeChannelsFirst(cropRegion(rgba, width, height, region, size), this.landmarkInput);
      const {landmarks, presence} = await this.markHand(this.landmarkInput);
      if (presence < this.classifier.pipeline.minPresence) continue;
      const points = landmarksFromOutput(region, landmarks, size);
      const box = extent(points);
      if ([...known, ...found].some((hand) => iou(box, extent(hand.landmarks)) > SAME_HAND_IOU)) continue;
      found.push({landmarks: points, presence, region, index});
    }
    return found;
  }

  /**
   * The classifier's probabilities for the square around each hand's landmarks (over-exposed crops toned down, with
   * `brightCropNoneLogit` added to their none logit, as runtime/classifier.py does).
   */
  async hands(rgba, width, height, found) {
    if (!found.length) return [];
    const {labels, inputSize, mean, std, pipeline} = this.classifier;
    const plane = 3 * inputSize * inputSize;
    const input = new Float32Array(found.length * plane);
    const boxes = found.map((hand) => landmarkBox(hand.landmarks, width, height, pipeline.handBoxMargin));
    const toned = boxes.map(([left, top, right, bottom], i) => {
      const resized = resizeRegion(rgba, width, height,
        {x: left, y: top, width: right - left, height: bottom - top}, inputSize, inputSize);
      const crop = exposeBrightCrop(resized, pipeline.brightCropLuma, pipeline.brightCropTarget);
      writeChannelsFirst(crop, input, i * plane, mean, std);
      return crop !== resized;
    });
    const probabilities = Float32Array.from(await this.classify(input, found.length));
    const none = labels.indexOf('none');
    toned.forEach((isToned, i) => {
      if (isToned) addToLogit(probabilities.subarray(i * labels.length, (i + 1) * labels.length), none,
        pipeline.brightCropNoneLogit);
    });
    return found.map(({landmarks, presence, region}, i) => ({
      box: boxes[i],
      probabilities: Object.fromEntries(labels.map((label, j) => [label, probabilities[i * labels.length + j]])),
      landmarks, presence, region,
    }));
  }
}

/**
 * One camera frame -> one gesture, as runtime/pipeline.py's GesturePipeline does it: palm detector on a square view
 * of the frame, an axis-aligned hand box around each palm (at most maxHands), the crop classifier on the boxes, and
 * the most confident gesture if it reaches minGestureScore, else `none`. These numbers, and redetectMs, are the
 * classifier's (its metadata "pipeline", read by onnx-metadata.js), as in Python: none is spelt here.
 *
 * Two differences, both to spend less time per frame:
 * - where Python, finding no palm in the letterboxed frame, looks in all the overlapping squares at once, this looks
 *   in one view per frame, moving to the next (letterbox, square 1, square 2, ...) only while it finds nothing and
 *   staying on a view while it keeps finding palms;
 * - palms found on one frame are reused on the next ones: their hand boxes are classified without running the
 *   detector (most of a frame's time) until the detection is redetectMs old, the classifier sees no gesture in
 *   the reused boxes, or the frame size changes (see `#reusable`).
 *
 * The models are behind two functions, so that this runs (and is tested) without onnxruntime.
 */

import {
  INPUT_SIZE, decodeDetections, handBox, letterboxView, squareTiles, ssdAnchors, toFramePixels,
} from './palm.js';
import {resizeRegion, writeChannelsFirst} from './resample.js';

/**
 * @typedef {{box: number[], probabilities: Record<string, number>}} Hand box [left, top, right, bottom] in pixels
 * @typedef {{gesture: string, confidence: number, box: number[] | null, hands: Hand[]}} Decision
 */

/**
 * GesturePipeline.decide: the most confident gesture over all hands if it reaches `minScore`; else `none`, with
 * the confidence that no gesture is shown (1 - the highest gesture probability).
 * @param {Hand[]} hands @param {string[]} gestures the labels that are gestures (all but 'none')
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

export class FramePipeline {
  /**
   * @param {import('./onnx-metadata.js').ClassifierSettings} classifier the classifier's settings
   *   (onnx-metadata.js classifierSettings): its labels, input and normalisation, and `pipeline`, the numbers
   *   this class uses
   * @param {(input: Float32Array) => Promise<{regressors: Float32Array, scores: Float32Array}>} detectPalms
   *   runs the detector on [1, 3, 192, 192] RGB in [0, 1]
   * @param {(input: Float32Array, count: number) => Promise<Float32Array>} classify
   *   runs the classifier on [count, 3, size, size] normalised crops; returns [count, labels] probabilities
   * @param {() => number} now the clock, in ms (a test's own)
   */
  constructor(classifier, detectPalms, classify, now = () => performance.now()) {
    this.classifier = classifier;
    this.detectPalms = detectPalms;
    this.classify = classify;
    this.now = now;
    this.anchors = ssdAnchors();
    this.palmInput = new Float32Array(3 * INPUT_SIZE * INPUT_SIZE);
    this.reset();
  }

  /** Start the search for palms over from the letterboxed frame (new camera, frames after a pause). */
  reset() {
    this.views = [];
    this.viewIndex = 0;
    this.frameSize = '';
    this.forget();
  }

  /** No palms to reuse: the next frame runs the detector. */
  forget() {
    this.boxes = []; // hand boxes of the last detection's palms, in frame pixels
    this.detectedAt = -Infinity;
  }

  /**
   * Whether this frame may classify the last detection's boxes instead of running the detector: a hand moves little
   * within redetectMs against its box, and one that moves out of it reads as `none`, which brings the detector back
   * on the next frame anyway.
   */
  #reusable(time) {
    return this.boxes.length > 0 && time - this.detectedAt < this.classifier.pipeline.redetectMs;
  }

  /**
   * @param {Uint8ClampedArray} rgba the frame, 4 bytes per pixel
   * @returns {Promise<Decision & {detected: boolean, timings: {palm: number, classifier: number}}>}
   *   detected: whether the palm detector ran on this frame (timings.palm is 0 when not); timings in milliseconds
   */
  async process(rgba, width, height) {
    if (this.frameSize !== `${width}x${height}`) {
      this.frameSize = `${width}x${height}`;
      this.views = [letterboxView(width, height), ...squareTiles(width, height)];
      this.viewIndex = 0;
      this.forget();
    }
    const {minPalmScore, maxHands, handBoxScale, handBoxShift, minGestureScore} = this.classifier.pipeline;
    const palmStart = this.now();
    const detected = !this.#reusable(palmStart);
    if (detected) {
      const view = this.views[this.viewIndex];
      const square = resizeRegion(rgba, width, height, {x: view.x, y: view.y, width: view.side, height: view.side},
        INPUT_SIZE, INPUT_SIZE);
      writeChannelsFirst(square, this.palmInput);
      const {regressors, scores} = await this.detectPalms(this.palmInput);
      const palms = decodeDetections(regressors, scores, this.anchors, minPalmScore)
        .slice(0, maxHands).map((palm) => toFramePixels(palm, view));
      if (!palms.length) this.viewIndex = (this.viewIndex + 1) % this.views.length;
      this.boxes = palms.map((palm) => handBox(palm, width, height, handBoxScale, handBoxShift));
      this.detectedAt = palmStart;
    }
    const classifierStart = this.now();
    const hands = await this.hands(rgba, width, height, this.boxes);
    const decision = decide(hands, this.classifier.gestures, minGestureScore);
    const end = this.now();
    if (!detected && decision.gesture === 'none') this.forget(); // the hand may have left its box: look again
    return {...decision, detected, timings: {palm: detected ? classifierStart - palmStart : 0,
      classifier: end - classifierStart}};
  }

  /** The classifier's probabilities for each hand box [left, top, right, bottom]. */
  async hands(rgba, width, height, boxes) {
    if (!boxes.length) return [];
    const {labels, inputSize, mean, std} = this.classifier;
    const plane = 3 * inputSize * inputSize;
    const input = new Float32Array(boxes.length * plane);
    boxes.forEach(([left, top, right, bottom], i) => {
      const crop = resizeRegion(rgba, width, height, {x: left, y: top, width: right - left, height: bottom - top},
        inputSize, inputSize);
      writeChannelsFirst(crop, input, i * plane, mean, std);
    });
    const probabilities = await this.classify(input, boxes.length);
    return boxes.map((box, i) => ({
      box,
      probabilities: Object.fromEntries(labels.map((label, j) => [label, probabilities[i * labels.length + j]])),
    }));
  }
}

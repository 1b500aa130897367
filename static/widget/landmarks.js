/**
 * The hand landmark model's geometry, as runtime/hand_landmarks.py and runtime/hand_box.py compute it, step for
 * step: MediaPipe's region of interest around a palm or around the last frame's landmarks, the region cut out of
 * the frame upright (Pillow's bilinear affine transform, to the pixel), the model's landmarks mapped back to frame
 * pixels, and the axis-aligned square around them that the classifier sees (never rotated: orientation is what
 * tells thumbs up from thumbs down).
 *
 * The regions' scales and shifts are the landmark model file's (its metadata "regions", read by onnx-metadata.js
 * landmarkSettings); the landmark indices below are the model's output layout, like the palm detector's anchors in
 * palm.js.
 */

import {roundHalfEven} from './palm.js';

/** 21 landmarks per hand, each (x, y, z). */
export const NUM_LANDMARKS = 21;
/** A hand's numbers for taught gestures (custom-gestures.js handEmbedding): x, y, z of each landmark turned upright,
 * then the hand's direction; what the pose encoder takes. */
export const EMBEDDING_SIZE = NUM_LANDMARKS * 3 + 2;

// Palm keypoints that give the hand's axis (DetectionsToRectsCalculator): wrist -> middle finger's base.
const PALM_WRIST = 0;
const PALM_MIDDLE_FINGER = 2;

// HandLandmarksToRectCalculator: the wrist, the thumb's base and each finger's two lowest joints (fingertips move
// most between frames), and the landmarks of the hand's axis.
const ROI_LANDMARKS = [0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18];
export const WRIST = 0;
export const INDEX_BASE = 5;
export const MIDDLE_BASE = 9;
export const RING_BASE = 13;

/**
 * @typedef {{x: number, y: number, side: number, rotation: number}} Region a square of the frame, `side` pixels,
 *   centred on (x, y) and turned by `rotation` radians (clockwise on screen): the landmark model's view of a hand
 * @typedef {{inputSize: number, palm: {scale: number, shift: number}, landmarks: {scale: number, shift: number},
 *   customGestures: import('./custom-gestures.js').CustomGestureSettings}} LandmarkSettings the landmark model's
 *   input side, the regions' scale and shift around a palm and around landmarks, and how taught gestures are matched
 *   (onnx-metadata.js landmarkSettings)
 */

/** The angle in [-pi, pi). */
function normalized(angle) {
  return angle - 2 * Math.PI * Math.floor((angle + Math.PI) / (2 * Math.PI));
}

/** The rotation that turns the direction (x0, y0) -> (x1, y1) upright. */
function uprightRotation(x0, y0, x1, y1) {
  return normalized(Math.PI / 2 - Math.atan2(-(y1 - y0), x1 - x0));
}

/**
 * roi_from_palm: MediaPipe's region around a palm in frame pixels (palm_detection_detection_to_roi.pbtxt).
 * @param {import('./palm.js').Palm} palm @param {LandmarkSettings} settings @returns {Region}
 */
export function roiFromPalm(palm, settings) {
  const [xmin, ymin, xmax, ymax] = palm.box;
  const width = xmax - xmin;
  const height = ymax - ymin;
  const [x0, y0] = palm.keypoints[PALM_WRIST];
  const [x1, y1] = palm.keypoints[PALM_MIDDLE_FINGER];
  const rotation = uprightRotation(x0, y0, x1, y1);
  const shift = settings.palm.shift * height;
  return {
    x: (xmin + xmax) / 2 - Math.sin(rotation) * shift,
    y: (ymin + ymax) / 2 + Math.cos(rotation) * shift,
    side: Math.max(width, height) * settings.palm.scale,
    rotation,
  };
}

/**
 * roi_from_landmarks: the next frame's region around a tracked hand (hand_landmark_landmarks_to_roi.pbtxt): the
 * rectangle around the partial landmarks turned with the hand's axis, shifted along it, squared and scaled.
 * @param {number[][]} points 21 [x, y, z] in frame pixels @param {LandmarkSettings} settings @returns {Region}
 */
export function roiFromLandmarks(points, settings) {
  const [x0, y0] = points[WRIST];
  let x1 = (points[INDEX_BASE][0] + points[RING_BASE][0]) / 2;
  let y1 = (points[INDEX_BASE][1] + points[RING_BASE][1]) / 2;
  [x1, y1] = [(x1 + points[MIDDLE_BASE][0]) / 2, (y1 + points[MIDDLE_BASE][1]) / 2];
  const rotation = uprightRotation(x0, y0, x1, y1);
  const partial = ROI_LANDMARKS.map((i) => points[i]);
  const xs = partial.map(([x]) => x);
  const ys = partial.map(([, y]) => y);
  const cx = (Math.min(...xs) + Math.max(...xs)) / 2;
  const cy = (Math.min(...ys) + Math.max(...ys)) / 2;
  const cos = Math.cos(rotation);
  const sin = Math.sin(rotation);
  // turned by -rotation: the hand upright
  const us = partial.map(([x, y]) => cos * (x - cx) + sin * (y - cy));
  const vs = partial.map(([x, y]) => -sin * (x - cx) + cos * (y - cy));
  const [left, right, top, bottom] = [Math.min(...us), Math.max(...us), Math.min(...vs), Math.max(...vs)];
  const midX = (left + right) / 2;
  const midY = (top + bottom) / 2 + settings.landmarks.shift * (bottom - top);
  return {
    x: cx + cos * midX - sin * midY,
    y: cy + sin * midX + cos * midY,
    side: Math.max(right - left, bottom - top) * settings.landmarks.scale,
    rotation,
  };
}

/**
 * RegionOfInterest.crop: the region cut out of the frame upright, `size` pixels square, as 8-bit RGB; black where
 * it reaches past the frame. Pillow's affine transform with its bilinear filter, written out because the Python
 * runtime uses it and no browser API samples the same way (canvas smoothing is not specified to the pixel).
 * @param {Uint8ClampedArray} rgba the frame, 4 bytes per pixel @param {Region} region @returns {Uint8Array}
 */
export function cropRegion(rgba, width, height, region, size) {
  const cos = Math.cos(region.rotation);
  const sin = Math.sin(region.rotation);
  const step = region.side / size;
  const half = region.side / 2;
  // the frame position of output pixel (u, v)'s centre: a0 u + a1 v + a2, a3 u + a4 v + a5 (Pillow's order)
  const [a0, a1, a2] = [step * cos, -step * sin, region.x - half * cos + half * sin];
  const [a3, a4, a5] = [step * sin, step * cos, region.y - half * sin - half * cos];
  const rgb = new Uint8Array(size * size * 3);
  const lastX = width - 1;
  const lastY = height - 1;
  for (let v = 0; v < size; v++) {
    const cv = v + 0.5;
    for (let u = 0; u < size; u++) {
      const cu = u + 0.5;
      let xin = a0 * cu + a1 * cv + a2;
      let yin = a3 * cu + a4 * cv + a5;
      if (xin < 0 || xin >= width || yin < 0 || yin >= height) continue; // past the frame: black
      xin -= 0.5;
      yin -= 0.5;
      const x = Math.floor(xin);
      const y = Math.floor(yin);
      const dx = xin - x;
      const dy = yin - y;
      const row0 = (y < 0 ? 0 : y > lastY ? lastY : y) * width;
      const left = (x < 0 ? 0 : x > lastX ? lastX : x) * 4;
      const right = (x + 1 < 0 ? 0 : x + 1 > lastX ? lastX : x + 1) * 4;
      const below = y + 1 >= 0 && y + 1 < height;
      const row1 = (y + 1) * width;
      const o = (v * size + u) * 3;
      for (let c = 0; c < 3; c++) {
        const a = rgba[row0 * 4 + left + c];
        const top = a + (rgba[row0 * 4 + right + c] - a) * dx;
        let bottom = top;
        if (below) {
          const b = rgba[row1 * 4 + left + c];
          bottom = b + (rgba[row1 * 4 + right + c] - b) * dx;
        }
        rgb[o + c] = Math.trunc(top + (bottom - top) * dy);
      }
    }
  }
  return rgb;
}

/**
 * RegionOfInterest.to_image: the model's landmarks [63] (x, y in its `size` x `size` input, z in the same scale)
 * -> 21 [x, y, z] in frame pixels (LandmarkProjectionCalculator).
 * @param {Region} region @param {Float32Array} output @param {number} size @returns {number[][]}
 */
export function landmarksFromOutput(region, output, size) {
  const cos = Math.cos(region.rotation);
  const sin = Math.sin(region.rotation);
  const points = [];
  for (let i = 0; i < NUM_LANDMARKS; i++) {
    const u = (output[3 * i] / size - 0.5) * region.side;
    const v = (output[3 * i + 1] / size - 0.5) * region.side;
    points.push([cos * u - sin * v + region.x, sin * u + cos * v + region.y, output[3 * i + 2] * region.side / size]);
  }
  return points;
}

/**
 * landmark_box: [left, top, right, bottom] integer pixels of the square around the landmarks (their extent's long
 * side plus `margin` of it on each side, PipelineSettings.handBoxMargin), clipped to a width x height frame.
 * @param {number[][]} points @returns {number[]}
 */
export function landmarkBox(points, width, height, margin) {
  const xs = points.map(([x]) => x);
  const ys = points.map(([, y]) => y);
  const [xmin, xmax, ymin, ymax] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const half = Math.max(xmax - xmin, ymax - ymin) * (0.5 + margin);
  const cx = (xmin + xmax) / 2;
  const cy = (ymin + ymax) / 2;
  const left = Math.max(0, roundHalfEven(cx - half));
  const top = Math.max(0, roundHalfEven(cy - half));
  const right = Math.min(width, roundHalfEven(cx + half));
  const bottom = Math.min(height, roundHalfEven(cy + half));
  return [left, top, Math.max(right, left + 1), Math.max(bottom, top + 1)];
}

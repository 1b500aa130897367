/**
 * Square regions of an RGBA frame resized to model input tensors, the way Pillow's bilinear resize does it
 * (runtime/pipeline.py crops and resizes with Pillow): a separable triangle filter widened by the scale factor, so
 * that shrinking averages every source pixel instead of skipping most, in 22-bit fixed point, rounded to 8 bits
 * after the horizontal pass and again after the vertical one.
 */

const PRECISION_BITS = 32 - 8 - 2;
const HALF = 1 << (PRECISION_BITS - 1);
const ONE = 1 << PRECISION_BITS;

/**
 * Pillow's precompute_coeffs + normalize_coeffs_8bpc for an axis of `inSize` pixels resized to `outSize`.
 * @returns {{first: Int32Array, count: Int32Array, weights: Int32Array, taps: number}}
 */
function coefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // the triangle filter's support is 1
  const taps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * taps);
  const raw = new Float64Array(taps);
  for (let out = 0; out < outSize; out++) {
    const centre = (out + 0.5) * scale;
    const lo = Math.max(0, Math.trunc(centre - support + 0.5));
    const n = Math.min(inSize, Math.trunc(centre + support + 0.5)) - lo;
    let total = 0;
    for (let i = 0; i < n; i++) {
      raw[i] = Math.max(0, 1 - Math.abs((i + lo - centre + 0.5) / filterScale));
      total += raw[i];
    }
    for (let i = 0; i < n; i++) {
      const w = total !== 0 ? raw[i] / total : raw[i];
      weights[out * taps + i] = Math.trunc(w < 0 ? -0.5 + w * ONE : 0.5 + w * ONE);
    }
    first[out] = lo;
    count[out] = n;
  }
  return {first, count, weights, taps};
}

function clip8(sum) {
  const value = sum >> PRECISION_BITS;
  return value < 0 ? 0 : value > 255 ? 255 : value;
}

/**
 * A region of the frame — black where it reaches past the frame's edges — resized to outWidth x outHeight,
 * as 8-bit RGB (3 bytes per pixel, row-major).
 * @param {Uint8ClampedArray} rgba the frame, 4 bytes per pixel
 * @param {number} width @param {number} height the frame's size
 * @param {{x: number, y: number, width: number, height: number}} region in frame pixels
 */
export function resizeRegion(rgba, width, height, region, outWidth, outHeight) {
  const horizontal = coefficients(region.width, outWidth);
  const vertical = coefficients(region.height, outHeight);
  // the horizontal pass only runs over the rows the vertical pass reads
  const rowFirst = vertical.first[0];
  const rowEnd = vertical.first[outHeight - 1] + vertical.count[outHeight - 1];
  const rows = rowEnd - rowFirst;
  const temp = new Uint8Array(rows * outWidth * 3);
  // each output's taps that fall inside the frame (the others read black, adding nothing)
  const tapFirst = new Int32Array(outWidth);
  const tapEnd = new Int32Array(outWidth);
  for (let out = 0; out < outWidth; out++) {
    const x = region.x + horizontal.first[out];
    tapFirst[out] = Math.max(0, -x);
    tapEnd[out] = Math.min(horizontal.count[out], width - x);
  }
  for (let r = 0; r < rows; r++) {
    const sourceY = region.y + rowFirst + r;
    if (sourceY < 0 || sourceY >= height) continue; // outside the frame: black
    const rowStart = sourceY * width;
    for (let out = 0; out < outWidth; out++) {
      let red = HALF, green = HALF, blue = HALF;
      const k = out * horizontal.taps;
      let p = (rowStart + region.x + horizontal.first[out] + tapFirst[out]) * 4;
      for (let i = tapFirst[out]; i < tapEnd[out]; i++, p += 4) {
        const weight = horizontal.weights[k + i];
        red += rgba[p] * weight;
        green += rgba[p + 1] * weight;
        blue += rgba[p + 2] * weight;
      }
      const t = (r * outWidth + out) * 3;
      temp[t] = clip8(red);
      temp[t + 1] = clip8(green);
      temp[t + 2] = clip8(blue);
    }
  }
  const rgb = new Uint8Array(outWidth * outHeight * 3);
  for (let out = 0; out < outHeight; out++) {
    const lo = vertical.first[out] - rowFirst;
    const k = out * vertical.taps;
    for (let x = 0; x < outWidth; x++) {
      let red = HALF, green = HALF, blue = HALF;
      for (let i = 0; i < vertical.count[out]; i++) {
        const weight = vertical.weights[k + i];
        const t = ((lo + i) * outWidth + x) * 3;
        red += temp[t] * weight;
        green += temp[t + 1] * weight;
        blue += temp[t + 2] * weight;
      }
      const o = (out * outWidth + x) * 3;
      rgb[o] = clip8(red);
      rgb[o + 1] = clip8(green);
      rgb[o + 2] = clip8(blue);
    }
  }
  return rgb;
}

/**
 * 8-bit RGB pixels -> planar float32 (channels first) written into `tensor` at `offset`: (v / 255 - mean) / std.
 * @param {Uint8Array} rgb @param {Float32Array} tensor
 */
export function writeChannelsFirst(rgb, tensor, offset = 0, mean = [0, 0, 0], std = [1, 1, 1]) {
  const pixels = rgb.length / 3;
  for (let c = 0; c < 3; c++) {
    const base = offset + c * pixels;
    const m = mean[c];
    const s = std[c];
    for (let i = 0; i < pixels; i++) tensor[base + i] = (rgb[i * 3 + c] / 255 - m) / s;
  }
}

/** ITU-R BT.601 luma in thousandths (Pillow's "L" conversion), as runtime/exposure.py sums it. */
const LUMA_WEIGHTS = [299, 587, 114];

/**
 * An over-exposed hand crop toned down (runtime/exposure.py): when the mean luma of the 8-bit RGB `rgb` is above
 * `above`, every value goes through the gamma that takes a grey at that mean to `target` (white stays white);
 * otherwise (or when every pixel is white) `rgb` itself. The luma sum is an exact integer and the table is the one Python builds.
 * @param {Uint8Array} rgb @param {number} above @param {number} target @returns {Uint8Array}
 */
export function exposeBrightCrop(rgb, above, target) {
  const pixels = rgb.length / 3;
  let lumaSum = 0;
  for (let i = 0; i < rgb.length; i += 3) {
    lumaSum += LUMA_WEIGHTS[0] * rgb[i] + LUMA_WEIGHTS[1] * rgb[i + 1] + LUMA_WEIGHTS[2] * rgb[i + 2];
  }
  if (lumaSum <= above * 1000 * pixels || lumaSum >= 255 * 1000 * pixels) return rgb;
  const gamma = Math.log(target / 255) / Math.log(lumaSum / (1000 * pixels) / 255);
  const table = new Uint8Array(256);
  for (let v = 0; v < 256; v++) table[v] = Math.floor(255 * (v / 255) ** gamma + 0.5);
  return rgb.map((value) => table[value]);
}

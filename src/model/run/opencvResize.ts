/**
 * OpenCV's `cv2.resize(img, (w, h), interpolation=…)` for 8-bit 3-channel images, bit for bit.
 *
 * PaddleClas resizes with OpenCV, and its arithmetic is not Pillow's: no antialiasing, float32
 * source coordinates, 11-bit fixed-point coefficients and a vertical pass that drops bits before it
 * multiplies. This re-implements what `modules/imgproc/src/resize.cpp` (OpenCV 4.x, no IPP, as in
 * Debian's python3-opencv) computes for CV_8UC3, written from its description:
 * - same size: a copy. INTER_LINEAR with an exact 2x shrink on both axes is routed to INTER_AREA's
 *   fast path, `(a + b + c + d + 2) >> 2` over each 2x2 block (resize.cpp does this on purpose);
 * - coefficients per axis: `fx = (float)((dx + 0.5) * scale - 0.5)` with `scale = 1 / (dw / sw)` in
 *   double, `sx = floor(fx)`, `fx -= sx`, weights rounded to `short` at 2^11 (round half to even);
 * - INTER_LINEAR: the horizontal pass keeps `S0 * a0 + S1 * a1` in int32 (left/right of the image:
 *   the edge pixel times 2048); the vertical pass is `((b0 * (S0 >> 4)) >> 16) + ((b1 * (S1 >> 4)) >> 16)
 *   + 2) >> 2`; rows above/below the image are clamped to the edge row, but the vertical weights are
 *   not clamped (so an upscaled top row is not exactly the source row);
 * - INTER_CUBIC: Keys' kernel with A = -0.75 evaluated in float32, border pixels replicated; the
 *   vertical pass runs OpenCV's SIMD code for the first multiple-of-8 elements of each row (float32
 *   `S0*b0 + (S1*b1 + (S2*b2 + S3*b3))` with b = beta / 2^22, rounded half to even) and its scalar code
 *   for the rest (`(sum + 2^21) >> 22` in int32), so both are reproduced;
 * - INTER_NEAREST: `sx = min(floor(dx * (1 / (dw / sw))), sw - 1)`.
 * OpenCV builds with Intel IPP (the pip wheels) route INTER_CUBIC (not INTER_LINEAR) through IPP, which
 * rounds differently; the tests compare against Debian's build, which has no IPP.
 */
import type { RgbImage } from './decodeImage';
import { roundHalfEven } from './rounding';

export type OpenCvInterpolation = 'nearest' | 'linear' | 'cubic';

const COEF_BITS = 11;
const COEF_SCALE = 1 << COEF_BITS;
const CN = 3;
/** v_int16 lanes of the 128-bit universal intrinsics that OpenCV's baseline x86-64 build uses. */
const CUBIC_SIMD_STEP = 8;
const f32 = Math.fround;

/** saturate_cast<short>(float). */
function toShort(x: number): number {
  const r = roundHalfEven(x);
  return r < -32768 ? -32768 : r > 32767 ? 32767 : r;
}

/** interpolateCubic() of resize.cpp, every operation rounded to float32 as the C code does. */
function cubicWeights(x: number, out: Float64Array): void {
  const A = -0.75;
  const x1 = f32(x + 1);
  out[0] = f32(f32(f32(f32(f32(f32(f32(A * x1) - 5 * A) * x1) + 8 * A) * x1) - 4 * A));
  out[1] = f32(f32(f32(f32(f32((A + 2) * x) - (A + 3)) * x) * x) + 1);
  const y = f32(1 - x);
  out[2] = f32(f32(f32(f32(f32((A + 2) * y) - (A + 3)) * y) * y) + 1);
  out[3] = f32(f32(f32(1 - out[0]) - out[1]) - out[2]);
}

interface Axis {
  /** First source index per destination index (before border handling, see the kernels). */
  readonly offset: Int32Array;
  /** `ksize` fixed-point weights per destination index. */
  readonly weights: Int16Array;
  /** Destination indices [0, xmin) and [xmax, n) lie at the borders (horizontal pass only). */
  readonly xmin: number;
  readonly xmax: number;
}

function axisCoefficients(srcSize: number, dstSize: number, interpolation: 'linear' | 'cubic', clampLinear: boolean): Axis {
  const ksize = interpolation === 'cubic' ? 4 : 2;
  const ksize2 = ksize / 2;
  // OpenCV is given dsize and derives inv_scale = dst / src, then scale = 1 / inv_scale (both double).
  const scale = 1 / (dstSize / srcSize);
  const offset = new Int32Array(dstSize);
  const weights = new Int16Array(dstSize * ksize);
  const cbuf = new Float64Array(4);
  let xmin = 0;
  let xmax = dstSize;
  for (let d = 0; d < dstSize; d++) {
    let fx = f32((d + 0.5) * scale - 0.5);
    let sx = Math.floor(fx);
    fx = f32(fx - sx);
    if (sx < ksize2 - 1) {
      xmin = d + 1;
      if (clampLinear && sx < 0) (fx = 0), (sx = 0);
    }
    if (sx + ksize2 >= srcSize) {
      xmax = Math.min(xmax, d);
      if (clampLinear && sx >= srcSize - 1) (fx = 0), (sx = srcSize - 1);
    }
    offset[d] = sx;
    if (interpolation === 'cubic') {
      cubicWeights(fx, cbuf);
      for (let k = 0; k < 4; k++) weights[d * 4 + k] = toShort(f32(cbuf[k] * COEF_SCALE));
    } else {
      weights[d * 2] = toShort(f32(f32(1 - fx) * COEF_SCALE));
      weights[d * 2 + 1] = toShort(f32(fx * COEF_SCALE));
    }
  }
  return { offset, weights, xmin, xmax };
}

/** clip() of resize.cpp: the source row a vertical tap reads. */
function clipRow(y: number, height: number): number {
  return y >= 0 ? (y < height ? y : height - 1) : 0;
}

/**
 * The horizontal pass of every source row the vertical pass reads, once per row: int32 sums at
 * 2^11 scale, `dstWidth * 3` per row. `slot[y]` is the row's index in `rows`, or -1.
 */
function horizontalPass(
  src: RgbImage, neededRows: Uint8Array, x: Axis, dstWidth: number, cubic: boolean,
): { rows: Int32Array; slot: Int32Array } {
  const slot = new Int32Array(src.height).fill(-1);
  let count = 0;
  for (let y = 0; y < src.height; y++) if (neededRows[y]) slot[y] = count++;
  const stride = dstWidth * CN;
  const rows = new Int32Array(count * stride);
  const { offset, weights, xmax } = x;
  const s = src.rgb;
  const last = src.width - 1;
  for (let y = 0; y < src.height; y++) {
    if (slot[y] < 0) continue;
    const base = y * src.width * CN;
    const o = slot[y] * stride;
    if (!cubic) {
      for (let d = 0; d < dstWidth; d++) {
        const p = base + offset[d] * CN;
        const q = o + d * CN;
        if (d < xmax) {
          const a0 = weights[d * 2];
          const a1 = weights[d * 2 + 1];
          rows[q] = s[p] * a0 + s[p + CN] * a1;
          rows[q + 1] = s[p + 1] * a0 + s[p + CN + 1] * a1;
          rows[q + 2] = s[p + 2] * a0 + s[p + CN + 2] * a1;
        } else {
          // Right of the last source pixel: the pixel itself at full weight.
          rows[q] = s[p] * COEF_SCALE;
          rows[q + 1] = s[p + 1] * COEF_SCALE;
          rows[q + 2] = s[p + 2] * COEF_SCALE;
        }
      }
    } else {
      for (let d = 0; d < dstWidth; d++) {
        const sx = offset[d];
        const k = d * 4;
        // Taps at sx-1 .. sx+2; outside the image OpenCV replicates the edge pixel.
        const p0 = base + (sx - 1 < 0 ? 0 : sx - 1 > last ? last : sx - 1) * CN;
        const p1 = base + (sx < 0 ? 0 : sx > last ? last : sx) * CN;
        const p2 = base + (sx + 1 < 0 ? 0 : sx + 1 > last ? last : sx + 1) * CN;
        const p3 = base + (sx + 2 < 0 ? 0 : sx + 2 > last ? last : sx + 2) * CN;
        const w0 = weights[k], w1 = weights[k + 1], w2 = weights[k + 2], w3 = weights[k + 3];
        const q = o + d * CN;
        for (let c = 0; c < CN; c++) {
          rows[q + c] = s[p0 + c] * w0 + s[p1 + c] * w1 + s[p2 + c] * w2 + s[p3 + c] * w3;
        }
      }
    }
  }
  return { rows, slot };
}

function resizeLinear(src: RgbImage, width: number, height: number): Uint8Array {
  const x = axisCoefficients(src.width, width, 'linear', true);
  const y = axisCoefficients(src.height, height, 'linear', false);
  const needed = new Uint8Array(src.height);
  for (let d = 0; d < height; d++) {
    needed[clipRow(y.offset[d], src.height)] = 1;
    needed[clipRow(y.offset[d] + 1, src.height)] = 1;
  }
  const { rows, slot } = horizontalPass(src, needed, x, width, false);
  const stride = width * CN;
  const out = new Uint8Array(height * stride);
  for (let d = 0; d < height; d++) {
    const r0 = slot[clipRow(y.offset[d], src.height)] * stride;
    const r1 = slot[clipRow(y.offset[d] + 1, src.height)] * stride;
    const b0 = y.weights[d * 2];
    const b1 = y.weights[d * 2 + 1];
    const o = d * stride;
    for (let i = 0; i < stride; i++) {
      // OpenCV's uint8 specialisation of VResizeLinear (its SIMD code computes the same integers).
      out[o + i] = (((b0 * (rows[r0 + i] >> 4)) >> 16) + ((b1 * (rows[r1 + i] >> 4)) >> 16) + 2) >> 2;
    }
  }
  return out;
}

function resizeCubic(src: RgbImage, width: number, height: number): Uint8Array {
  const x = axisCoefficients(src.width, width, 'cubic', false);
  const y = axisCoefficients(src.height, height, 'cubic', false);
  const needed = new Uint8Array(src.height);
  for (let d = 0; d < height; d++) for (let k = -1; k <= 2; k++) needed[clipRow(y.offset[d] + k, src.height)] = 1;
  const { rows, slot } = horizontalPass(src, needed, x, width, true);
  const stride = width * CN;
  const simdEnd = stride - (stride % CUBIC_SIMD_STEP);
  const out = new Uint8Array(height * stride);
  const betaScale = f32(1 / (COEF_SCALE * COEF_SCALE));
  for (let d = 0; d < height; d++) {
    const sy = y.offset[d];
    const r0 = slot[clipRow(sy - 1, src.height)] * stride;
    const r1 = slot[clipRow(sy, src.height)] * stride;
    const r2 = slot[clipRow(sy + 1, src.height)] * stride;
    const r3 = slot[clipRow(sy + 2, src.height)] * stride;
    const b0 = y.weights[d * 4], b1 = y.weights[d * 4 + 1], b2 = y.weights[d * 4 + 2], b3 = y.weights[d * 4 + 3];
    const fb0 = f32(b0 * betaScale), fb1 = f32(b1 * betaScale), fb2 = f32(b2 * betaScale), fb3 = f32(b3 * betaScale);
    const o = d * stride;
    let i = 0;
    for (; i < simdEnd; i++) {
      // VResizeCubicVec_32s8u: v_muladd(S0, b0, v_muladd(S1, b1, v_muladd(S2, b2, S3 * b3))), no FMA.
      let t = f32(rows[r3 + i] * fb3);
      t = f32(f32(rows[r2 + i] * fb2) + t);
      t = f32(f32(rows[r1 + i] * fb1) + t);
      t = f32(f32(rows[r0 + i] * fb0) + t);
      const v = roundHalfEven(t);
      out[o + i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
    for (; i < stride; i++) {
      const v = (rows[r0 + i] * b0 + rows[r1 + i] * b1 + rows[r2 + i] * b2 + rows[r3 + i] * b3 + (1 << 21)) >> 22;
      out[o + i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}

function resizeNearest(src: RgbImage, width: number, height: number): Uint8Array {
  const ifx = 1 / (width / src.width);
  const ify = 1 / (height / src.height);
  const xofs = new Int32Array(width);
  for (let d = 0; d < width; d++) xofs[d] = Math.min(Math.floor(d * ifx), src.width - 1) * CN;
  const out = new Uint8Array(width * height * CN);
  for (let d = 0; d < height; d++) {
    const base = Math.min(Math.floor(d * ify), src.height - 1) * src.width * CN;
    for (let i = 0; i < width; i++) {
      const p = base + xofs[i];
      const q = (d * width + i) * CN;
      out[q] = src.rgb[p];
      out[q + 1] = src.rgb[p + 1];
      out[q + 2] = src.rgb[p + 2];
    }
  }
  return out;
}

/** INTER_AREA's fast path at exactly 2x on both axes: the rounded mean of each 2x2 block. */
function halve(src: RgbImage, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height * CN);
  const rowStride = src.width * CN;
  for (let d = 0; d < height; d++) {
    const a = 2 * d * rowStride;
    const b = a + rowStride;
    for (let i = 0; i < width; i++) {
      const p = i * 2 * CN;
      const q = (d * width + i) * CN;
      for (let c = 0; c < CN; c++) {
        out[q + c] = (src.rgb[a + p + c] + src.rgb[a + p + CN + c] + src.rgb[b + p + c] + src.rgb[b + p + CN + c] + 2) >> 2;
      }
    }
  }
  return out;
}

/** True when resize.cpp takes INTER_AREA's fast path for INTER_LINEAR (scale exactly 2 on both axes). */
function isExactHalving(src: RgbImage, width: number, height: number): boolean {
  const sx = 1 / (width / src.width);
  const sy = 1 / (height / src.height);
  return Math.abs(sx - 2) < Number.EPSILON && Math.abs(sy - 2) < Number.EPSILON;
}

/** `cv2.resize(image, (width, height), interpolation)` for uint8 HWC 3-channel pixels. */
export function cvResize(image: RgbImage, width: number, height: number, interpolation: OpenCvInterpolation): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`cvResize: target size must be positive integers, got ${width}x${height}.`);
  }
  if (image.rgb.length !== image.width * image.height * CN) {
    throw new RangeError(`cvResize: a ${image.width}x${image.height} RGB image needs ${image.width * image.height * CN} bytes, got ${image.rgb.length}.`);
  }
  if (width === image.width && height === image.height) return image;
  let rgb: Uint8Array;
  if (interpolation === 'nearest') rgb = resizeNearest(image, width, height);
  else if (interpolation === 'linear') rgb = isExactHalving(image, width, height) ? halve(image, width, height) : resizeLinear(image, width, height);
  else rgb = resizeCubic(image, width, height);
  return { width, height, rgb };
}

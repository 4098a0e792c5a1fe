/**
 * Pillow's `Image.resize((w, h), filter)` for 8-bit RGB, bit for bit (Pillow 9.4; BILINEAR, BICUBIC,
 * BOX, HAMMING, LANCZOS through the resampler below, NEAREST through Pillow's affine scaler).
 *
 * Reference pipelines resize with Pillow, and a model's logits move visibly when the input differs
 * by one grey level, so this is a re-implementation of the arithmetic of Pillow's
 * `libImaging/Resample.c` (written from its description, not copied):
 * - separable, antialiased: when shrinking, the filter's support is widened by the scale factor;
 * - per output pixel, a window of input pixels whose float64 weights are normalised to sum to 1,
 *   then turned into signed fixed-point integers with 22 fractional bits;
 * - horizontal pass first (only over the input rows the vertical pass will read), rounded and
 *   clipped to uint8, then the vertical pass on that uint8 intermediate, rounded and clipped again.
 * sharp's own resize uses other kernels and cannot be used for this.
 */
import type { RgbImage } from './decodeImage';

export type Interpolation = 'nearest' | 'bilinear' | 'bicubic' | 'box' | 'hamming' | 'lanczos';

export const PILLOW_FILTERS: readonly Interpolation[] = ['nearest', 'bilinear', 'bicubic', 'box', 'hamming', 'lanczos'];

type ConvolutionFilter = Exclude<Interpolation, 'nearest'>;

/** 32 bits minus 8 for the pixel value and 2 of headroom, since weights can be negative or sum over 1. */
const PRECISION_BITS = 32 - 8 - 2;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

interface Filter {
  readonly support: number;
  readonly weight: (x: number) => number;
}

// The float64 operations below keep Pillow's order of evaluation: each rounding step matters once
// the weights become fixed-point integers.
const FILTERS: Record<ConvolutionFilter, Filter> = {
  box: {
    support: 0.5,
    weight(x) {
      return x > -0.5 && x <= 0.5 ? 1 : 0;
    },
  },
  bilinear: {
    support: 1,
    weight(x) {
      if (x < 0) x = -x;
      return x < 1 ? 1 - x : 0;
    },
  },
  // Keys' cubic convolution with a = -0.5.
  bicubic: {
    support: 2,
    weight(x) {
      const a = -0.5;
      if (x < 0) x = -x;
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
  hamming: {
    support: 1,
    weight(x) {
      if (x < 0) x = -x;
      if (x === 0) return 1;
      if (x >= 1) return 0;
      x *= Math.PI;
      // Pillow writes the window's constants as C floats (0.54f, 0.46f).
      return (Math.sin(x) / x) * (Math.fround(0.54) + Math.fround(0.46) * Math.cos(x));
    },
  },
  lanczos: {
    support: 3,
    weight(x) {
      return -3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0;
    },
  },
};

function sinc(x: number): number {
  if (x === 0) return 1;
  x *= Math.PI;
  return Math.sin(x) / x;
}

/** For each output index along one axis: the first input index, how many inputs, and their weights. */
export interface AxisCoefficients {
  /** Weights per output index (window padded to `ksize`). */
  readonly ksize: number;
  /** Pairs (first input index, count) per output index. */
  readonly bounds: Int32Array;
  /** Fixed-point weights, `ksize` per output index. */
  readonly weights: Int32Array;
}

export function axisCoefficients(inSize: number, outSize: number, interpolation: ConvolutionFilter): AxisCoefficients {
  const filter = FILTERS[interpolation];
  const scale = inSize / outSize;
  // Shrinking: stretch the kernel over `scale` input pixels so that every input contributes (antialias).
  const filterScale = scale < 1 ? 1 : scale;
  const support = filter.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const invFilterScale = 1 / filterScale;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const window = new Float64Array(ksize);

  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero; the clamp makes the negative case irrelevant.
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5));
    const count = xmax - xmin;
    let total = 0;
    for (let x = 0; x < count; x++) {
      const w = filter.weight((x + xmin - center + 0.5) * invFilterScale);
      window[x] = w;
      total += w;
    }
    for (let x = 0; x < count; x++) {
      const w = total !== 0 ? window[x] / total : window[x];
      // Round half away from zero, then truncate, as the C cast does.
      weights[xx * ksize + x] = Math.trunc(w < 0 ? -0.5 + w * ONE : 0.5 + w * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = count;
  }
  return { ksize, bounds, weights };
}

/** Fixed-point sum back to uint8: drop the fraction (arithmetic shift), clip to 0..255. */
function clip8(sum: number): number {
  const v = sum >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Horizontal pass over input rows [rowStart, rowStart + rows). */
function resampleRows(src: RgbImage, rowStart: number, rows: number, c: AxisCoefficients, outWidth: number): Uint8Array {
  const out = new Uint8Array(outWidth * rows * 3);
  const { ksize, bounds, weights } = c;
  for (let y = 0; y < rows; y++) {
    const rowBase = (y + rowStart) * src.width * 3;
    for (let xx = 0; xx < outWidth; xx++) {
      const xmin = bounds[xx * 2];
      const count = bounds[xx * 2 + 1];
      const k = xx * ksize;
      let r = HALF, g = HALF, b = HALF;
      for (let x = 0; x < count; x++) {
        const w = weights[k + x];
        const p = rowBase + (xmin + x) * 3;
        r += src.rgb[p] * w;
        g += src.rgb[p + 1] * w;
        b += src.rgb[p + 2] * w;
      }
      const o = (y * outWidth + xx) * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return out;
}

/** Vertical pass; `bounds` are relative to the first row of `src`. */
function resampleColumns(src: RgbImage, c: AxisCoefficients, rowOffset: number, outHeight: number): Uint8Array {
  const out = new Uint8Array(src.width * outHeight * 3);
  const { ksize, bounds, weights } = c;
  const stride = src.width * 3;
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = bounds[yy * 2] - rowOffset;
    const count = bounds[yy * 2 + 1];
    const k = yy * ksize;
    for (let i = 0; i < stride; i++) {
      let s = HALF;
      for (let y = 0; y < count; y++) s += src.rgb[(ymin + y) * stride + i] * weights[k + y];
      out[yy * stride + i] = clip8(s);
    }
  }
  return out;
}

/**
 * Resize HWC uint8 RGB to `width` x `height`. The same size returns the input unchanged (Pillow
 * copies it), and an axis whose size does not change is not filtered at all.
 */
export function resizeRgb(image: RgbImage, width: number, height: number, interpolation: Interpolation): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`resizeRgb: target size must be positive integers, got ${width}x${height}.`);
  }
  if (image.rgb.length !== image.width * image.height * 3) {
    throw new RangeError(
      `resizeRgb: a ${image.width}x${image.height} RGB image needs ${image.width * image.height * 3} bytes, got ${image.rgb.length}.`,
    );
  }
  if (width === image.width && height === image.height) return image;
  if (interpolation === 'nearest') return resizeNearest(image, width, height);

  const vertical = axisCoefficients(image.height, height, interpolation);
  let current: RgbImage = image;
  let rowOffset = 0;
  if (width !== image.width) {
    // Only the rows between the first and last ones the vertical pass reads.
    const first = vertical.bounds[0];
    const last = vertical.bounds[(height - 1) * 2] + vertical.bounds[(height - 1) * 2 + 1];
    const horizontal = axisCoefficients(image.width, width, interpolation);
    current = { width, height: last - first, rgb: resampleRows(image, first, last - first, horizontal, width) };
    rowOffset = first;
  }
  if (height !== image.height) {
    current = { width: current.width, height, rgb: resampleColumns(current, vertical, rowOffset, height) };
  }
  return current;
}

/**
 * NEAREST: Pillow resizes through ImagingScaleAffine, which walks the source in double steps of
 * `in / out` from `(in / out) * 0.5` and truncates; the accumulation is kept as Pillow does it.
 */
function resizeNearest(image: RgbImage, width: number, height: number): RgbImage {
  const xs = new Int32Array(width);
  const ax = image.width / width;
  let xo = ax * 0.5;
  for (let x = 0; x < width; x++, xo += ax) xs[x] = Math.min(Math.trunc(xo), image.width - 1) * 3;
  const ay = image.height / height;
  let yo = ay * 0.5;
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++, yo += ay) {
    const row = Math.min(Math.trunc(yo), image.height - 1) * image.width * 3;
    for (let x = 0; x < width; x++) {
      const s = row + xs[x];
      const d = (y * width + x) * 3;
      rgb[d] = image.rgb[s];
      rgb[d + 1] = image.rgb[s + 1];
      rgb[d + 2] = image.rgb[s + 2];
    }
  }
  return { width, height, rgb };
}

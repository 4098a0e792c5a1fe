/**
 * Runs a preprocessing preset (presets.ts) on an image, reproducing its ecosystem exactly so that a
 * model run here sees the very tensor timm, a Paddle notebook or PaddleClas fed its model:
 *   decode (Pillow or OpenCV semantics) -> resize (Pillow or OpenCV arithmetic, the ecosystem's size
 *   rule) -> crop (torchvision's round-and-pad or PaddleClas's floor) -> normalise (float32 at every
 *   step, in the ecosystem's order of operations) -> 1x3xHxW float32.
 */
import { FormatError, UsageError } from '../errors';
import { float32Tensor, type Tensor } from '../tensor';
import { decodeImage, type RgbImage } from './decodeImage';
import { decodeImageOpenCv } from './opencvDecode';
import { cvResize } from './opencvResize';
import { presetByName, PRESETS, type CropStep, type NormalizeStep, type PreprocessPreset, type SizeRule } from './presets';
import { resizeRgb } from './resample';
import { roundHalfEven } from './rounding';

export { PRESETS, presetByName };
/** The preset record; the name `Preset` is kept for the callers written before presets were data. */
export type Preset = PreprocessPreset;

/** The largest resized image accepted (pixels): beyond it an extreme aspect ratio is refused, not allocated. */
const MAX_RESIZED_PIXELS = 1 << 27;

/** torchvision Resize(size: int): short side -> size, long side -> int(size * long / short). */
export function resizedSize(width: number, height: number, size: number): { width: number; height: number } {
  // Ties go to the width being "short", as in torchvision (`w <= h`); the result is the same.
  if (width <= height) return { width: size, height: Math.trunc((size * height) / width) };
  return { width: Math.trunc((size * width) / height), height: size };
}

/** The size a resize step produces for a `width` x `height` image. */
export function targetSize(width: number, height: number, rule: SizeRule): { width: number; height: number } {
  switch (rule.rule) {
    case 'shorter-side':
      return resizedSize(width, height, rule.size);
    case 'shorter-side-round': {
      // PaddleClas: percent = float(resize_short) / min(w, h); w = int(round(w * percent)); h likewise.
      const percent = rule.size / Math.min(width, height);
      return { width: roundHalfEven(width * percent), height: roundHalfEven(height * percent) };
    }
    case 'keep-ratio': {
      // timm ResizeKeepRatio.get_params (no random scale/aspect): round(side * 1.0 / ratio).
      const rh = height / rule.height;
      const rw = width / rule.width;
      const ratio = Math.max(rh, rw) * rule.longest + Math.min(rh, rw) * (1 - rule.longest);
      return { width: roundHalfEven(width / ratio), height: roundHalfEven(height / ratio) };
    }
    case 'exact':
      return { width: rule.width, height: rule.height };
  }
}

/**
 * torchvision CenterCrop / timm CenterCropOrPad: pad with `fill` (left/top get the smaller half)
 * when the image is smaller than the crop, then crop at top = round((H - h) / 2), left likewise.
 */
export function centerCropRound(image: RgbImage, height: number, width: number, fill: readonly number[] = [0, 0, 0]): RgbImage {
  const padLeft = width > image.width ? Math.floor((width - image.width) / 2) : 0;
  const padTop = height > image.height ? Math.floor((height - image.height) / 2) : 0;
  // After padding, the padded dimension equals the crop's, so its offset is 0.
  const left = width > image.width ? 0 : roundHalfEven((image.width - width) / 2);
  const top = height > image.height ? 0 : roundHalfEven((image.height - height) / 2);
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = y + top - padTop;
    const inRows = sy >= 0 && sy < image.height;
    for (let x = 0; x < width; x++) {
      const sx = x + left - padLeft;
      const d = (y * width + x) * 3;
      if (!inRows || sx < 0 || sx >= image.width) {
        rgb[d] = fill[0];
        rgb[d + 1] = fill[1];
        rgb[d + 2] = fill[2];
        continue;
      }
      const s = (sy * image.width + sx) * 3;
      rgb[d] = image.rgb[s];
      rgb[d + 1] = image.rgb[s + 1];
      rgb[d + 2] = image.rgb[s + 2];
    }
  }
  return { width, height, rgb };
}

/** torchvision CenterCrop(size) with zero padding (square crop). */
export function centerCrop(image: RgbImage, size: number): RgbImage {
  return centerCropRound(image, size, size);
}

/** PaddleClas CropImage: offsets (W - w) // 2 and (H - h) // 2; the image must be at least the crop's size. */
export function centerCropFloor(image: RgbImage, height: number, width: number, file: string): RgbImage {
  if (image.width < width || image.height < height) {
    throw new FormatError(
      file,
      `CropImage(${width}x${height}) on a ${image.width}x${image.height} image: PaddleClas slices with negative offsets there and returns a ` +
        `smaller array, not a ${width}x${height} crop, so this pipeline cannot preprocess the image.`,
    );
  }
  const left = Math.floor((image.width - width) / 2);
  const top = Math.floor((image.height - height) / 2);
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) rgb.set(image.rgb.subarray(((y + top) * image.width + left) * 3, ((y + top) * image.width + left + width) * 3), y * width * 3);
  return { width, height, rgb };
}

/**
 * ToTensor + Normalize into a 1x3xHxW float32 NCHW tensor: x = u8 / 255, then (x - mean) / std,
 * each operation rounded to float32 (mean and std are float32 tensors in torchvision).
 */
export function toNormalizedTensor(image: RgbImage, mean: readonly number[], std: readonly number[]): Tensor {
  return normalize(image, { arithmetic: 'torchvision', mean, std });
}

/**
 * Either ecosystem's normalisation, per channel index of `image` (so for BGR pixels mean[0] applies
 * to blue, as in PaddleClas). float32 operands in, float32 result: computing in double and rounding
 * once is exact for one +, -, * or / (innocuous double rounding), so each step is one Math.fround.
 */
export function normalize(image: RgbImage, step: NormalizeStep): Tensor {
  const plane = image.width * image.height;
  const out = new Float32Array(3 * plane);
  const f = Math.fround;
  // PaddleClas multiplies by np.float32(scale); torchvision divides by 255.
  const scale = step.arithmetic === 'scale' ? f(step.scale) : 0;
  // The result depends only on the channel and the uint8 value: one table of 256 per channel.
  const table = new Float32Array(256);
  for (let c = 0; c < 3; c++) {
    const m = f(step.mean[c]);
    const s = f(step.std[c]);
    for (let v = 0; v < 256; v++) table[v] = f(f((step.arithmetic === 'torchvision' ? f(v / 255) : f(v * scale)) - m) / s);
    const o = c * plane;
    for (let i = 0; i < plane; i++) out[o + i] = table[image.rgb[i * 3 + c]];
  }
  return float32Tensor([1, 3, image.height, image.width], out);
}

export interface Preprocessed {
  /** 1x3xHxW float32 NCHW, channels in the preset's order. */
  readonly input: Tensor;
  /** RGB, as the preset's decoder gives it (after its EXIF handling). */
  readonly decoded: RgbImage;
  /** RGB after the resize step (the decoded image when there is none). */
  readonly resized: RgbImage;
  /** RGB after the crop step: the pixels the tensor is made of (before a BGR channel swap). */
  readonly cropped: RgbImage;
  readonly preset: PreprocessPreset;
}

export function resizeStep(image: RgbImage, preset: PreprocessPreset, file: string): RgbImage {
  const step = preset.resize;
  if (!step) return image;
  const { width, height } = targetSize(image.width, image.height, step.size);
  if (width < 1 || height < 1 || width * height > MAX_RESIZED_PIXELS) {
    throw new FormatError(
      file,
      `The ${image.width}x${image.height} image would be resized to ${width}x${height} by preset '${preset.name}': ` +
        (width < 1 || height < 1 ? 'an empty image, which the library refuses.' : `more than ${MAX_RESIZED_PIXELS} pixels; its aspect ratio is too extreme.`),
    );
  }
  return step.library === 'opencv' ? cvResize(image, width, height, step.filter) : resizeRgb(image, width, height, step.filter);
}

export function cropStep(image: RgbImage, crop: CropStep | undefined, file: string): RgbImage {
  if (!crop) return image;
  return crop.rule === 'center-floor' ? centerCropFloor(image, crop.height, crop.width, file) : centerCropRound(image, crop.height, crop.width, crop.fill);
}

function swapRedBlue(image: RgbImage): RgbImage {
  const rgb = new Uint8Array(image.rgb.length);
  for (let i = 0; i < rgb.length; i += 3) {
    rgb[i] = image.rgb[i + 2];
    rgb[i + 1] = image.rgb[i + 1];
    rgb[i + 2] = image.rgb[i];
  }
  return { width: image.width, height: image.height, rgb };
}

export function decodeFor(preset: PreprocessPreset, bytes: Uint8Array, file: string): Promise<RgbImage> {
  return preset.decoder === 'opencv' ? decodeImageOpenCv(bytes, file) : decodeImage(bytes, file);
}

/** The steps after decoding, for callers that decode once and preprocess several ways. */
export function preprocessDecoded(decoded: RgbImage, preset: PreprocessPreset, file: string): Preprocessed {
  const resized = resizeStep(decoded, preset, file);
  const cropped = cropStep(resized, preset.crop, file);
  const pixels = preset.channels === 'bgr' ? swapRedBlue(cropped) : cropped;
  return { input: normalize(pixels, preset.normalize), decoded, resized, cropped, preset };
}

export async function preprocessImage(bytes: Uint8Array, file: string, preset: PreprocessPreset | string): Promise<Preprocessed> {
  const p = typeof preset === 'string' ? presetByName(preset) : preset;
  if (!p || typeof p !== 'object' || !p.normalize) throw new UsageError(`preprocessImage: not a preprocessing preset: ${String(preset)}.`);
  return preprocessDecoded(await decodeFor(p, bytes, file), p, file);
}

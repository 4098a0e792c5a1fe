/**
 * The eval transforms of the two reference pipelines, reproduced exactly so that a model run here
 * sees the very tensor timm (or a Paddle notebook) fed its model:
 *   decode (Pillow convert('RGB')) -> torchvision Resize(256) -> CenterCrop(224) -> ToTensor -> Normalize.
 * The geometry follows torchvision's rules (short side to 256, long side truncated; crop offsets
 * with Python's half-to-even round; zero padding when the image is smaller than the crop), and
 * the float32 arithmetic rounds after every step as PyTorch does.
 */
import { UsageError } from '../errors';
import { float32Tensor, type Tensor } from '../tensor';
import { decodeImage, type RgbImage } from './decodeImage';
import { resizeRgb, type Interpolation } from './resample';

export interface Preset {
  readonly name: string;
  readonly interpolation: Interpolation;
  /** torchvision Resize(int): the short side becomes this. */
  readonly resizeSize: number;
  readonly cropSize: number;
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
  readonly description: string;
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

export const PRESETS: readonly Preset[] = [
  {
    name: 'timm',
    interpolation: 'bilinear',
    // timm's dla default_cfg: crop_pct 0.875, so scale size floor(224 / 0.875) = 256.
    resizeSize: Math.floor(224 / 0.875),
    cropSize: 224,
    mean: IMAGENET_MEAN,
    std: IMAGENET_STD,
    description: "timm's DLA eval transform: Resize(256, bilinear), CenterCrop(224), ImageNet mean/std",
  },
  {
    name: 'paddle',
    interpolation: 'bicubic',
    resizeSize: 256,
    cropSize: 224,
    mean: IMAGENET_MEAN,
    std: IMAGENET_STD,
    description: 'Paddle notebook transform: Resize(256, bicubic), CenterCrop(224), ImageNet mean/std',
  },
];

export function presetByName(name: string): Preset {
  const preset = PRESETS.find((p) => p.name === name);
  if (!preset) {
    throw new UsageError(`Unknown preprocessing preset '${name}'. Valid presets: ${PRESETS.map((p) => p.name).join(', ')}.`);
  }
  return preset;
}

/** torchvision Resize(size: int): short side -> size, long side -> int(size * long / short). */
export function resizedSize(width: number, height: number, size: number): { width: number; height: number } {
  // Ties go to the width being "short", as in torchvision (`w <= h`); the result is the same.
  if (width <= height) return { width: size, height: Math.trunc((size * height) / width) };
  return { width: Math.trunc((size * width) / height), height: size };
}

/** Python 3's round(): nearest integer, exact halves to the even neighbour (round(58.5) == 58). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round sends halves up; step back when that landed on an odd integer.
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * torchvision CenterCrop(size): pad with zeros (left/top get the smaller half) when the image is
 * smaller than the crop, then crop at top = round((H - size) / 2), left likewise.
 */
export function centerCrop(image: RgbImage, size: number): RgbImage {
  const padLeft = size > image.width ? Math.floor((size - image.width) / 2) : 0;
  const padTop = size > image.height ? Math.floor((size - image.height) / 2) : 0;
  // After padding, the padded dimension equals `size`, so its offset is 0.
  const left = size > image.width ? 0 : roundHalfEven((image.width - size) / 2);
  const top = size > image.height ? 0 : roundHalfEven((image.height - size) / 2);
  const rgb = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const sy = y + top - padTop;
    if (sy < 0 || sy >= image.height) continue;
    for (let x = 0; x < size; x++) {
      const sx = x + left - padLeft;
      if (sx < 0 || sx >= image.width) continue;
      const s = (sy * image.width + sx) * 3;
      const d = (y * size + x) * 3;
      rgb[d] = image.rgb[s];
      rgb[d + 1] = image.rgb[s + 1];
      rgb[d + 2] = image.rgb[s + 2];
    }
  }
  return { width: size, height: size, rgb };
}

/**
 * ToTensor + Normalize into a 1x3xHxW float32 NCHW tensor: x = u8 / 255, then (x - mean) / std,
 * each operation rounded to float32 (mean and std are float32 tensors in torchvision).
 */
export function toNormalizedTensor(image: RgbImage, mean: readonly number[], std: readonly number[]): Tensor {
  const plane = image.width * image.height;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(mean[c]);
    const s = Math.fround(std[c]);
    for (let i = 0; i < plane; i++) {
      const x = Math.fround(image.rgb[i * 3 + c] / 255);
      out[c * plane + i] = Math.fround(Math.fround(x - m) / s);
    }
  }
  return float32Tensor([1, 3, image.height, image.width], out);
}

export interface Preprocessed {
  /** 1x3xSxS float32 NCHW, S = preset.cropSize. */
  readonly input: Tensor;
  readonly decoded: RgbImage;
  readonly resized: RgbImage;
  readonly cropped: RgbImage;
}

export async function preprocessImage(bytes: Uint8Array, file: string, preset: Preset | string): Promise<Preprocessed> {
  const p = typeof preset === 'string' ? presetByName(preset) : preset;
  const decoded = await decodeImage(bytes, file);
  const target = resizedSize(decoded.width, decoded.height, p.resizeSize);
  const resized = resizeRgb(decoded, target.width, target.height, p.interpolation);
  const cropped = centerCrop(resized, p.cropSize);
  return { input: toNormalizedTensor(cropped, p.mean, p.std), decoded, resized, cropped };
}

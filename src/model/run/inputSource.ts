import * as fs from 'fs';
import * as path from 'path';
import { readCheckpoint } from '../formats/registry';
import { UsageError } from '../errors';
import { float32Tensor, formatShape, toFloat32, type Tensor } from '../tensor';
import { preprocessImage, type Preset } from './preprocess';

/** Where a forward pass's input came from, for reports ("probe.png (timm)", "x.npz:input", "seeded"). */
export interface ModelInput {
  readonly tensor: Tensor;
  readonly source: string;
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp']);

export function isImagePath(p: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(p).toLowerCase());
}

/** `input` of an .npz/.npy (NCHW float32), checked to be a 4-d 3-channel tensor. */
export function inputFromArrays(file: string, tensors: ReadonlyMap<string, Tensor>): ModelInput {
  const t = tensors.get('input');
  if (!t) {
    throw new UsageError(`${file}: has no 'input' array; its keys start with ${[...tensors.keys()].slice(0, 4).map((k) => `'${k}'`).join(', ')}.`);
  }
  if (t.shape.length !== 4 || t.shape[1] !== 3) {
    throw new UsageError(`${file}: 'input' must be N x 3 x H x W, found ${formatShape(t.shape)}.`);
  }
  return { tensor: float32Tensor(t.shape, toFloat32(t)), source: `${file}:input` };
}

/** An image through a preset, or the `input` array of an .npz. */
export async function loadInput(file: string, preset: Preset | string): Promise<ModelInput> {
  if (isImagePath(file)) {
    const p = await preprocessImage(new Uint8Array(fs.readFileSync(file)), file, preset);
    return { tensor: p.input, source: `${file} (${typeof preset === 'string' ? preset : preset.name})` };
  }
  return inputFromArrays(file, readCheckpoint(file).tensors);
}

/**
 * A reproducible N(0,1) input when the user gives none (xorshift + Box-Muller, seeded): the same
 * seed gives the same tensor on every machine. It is not torch.randn's stream.
 */
export function seededInput(seed: number, size = 224): ModelInput {
  let s = (seed >>> 0) || 0x9e3779b9;
  const next = (): number => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  const n = 3 * size * size;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(next()));
    const a = 2 * Math.PI * next();
    data[i] = r * Math.cos(a);
    if (i + 1 < n) data[i + 1] = r * Math.sin(a);
  }
  return { tensor: float32Tensor([1, 3, size, size], data), source: `seeded N(0,1) (seed ${seed}, ${size}x${size})` };
}

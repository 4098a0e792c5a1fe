import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';

/**
 * Real-looking test images without an image data set: crops of the reference's probe.png (400x300)
 * at seeded positions and sizes, some mirrored, each with its own brightness, written as PNGs. The
 * timm preset resizes and centre-crops each to 224x224, so every image of a set has one input size.
 * The same seed gives the same files on every machine.
 */
export async function probeCrops(probe: string, dir: string, count: number, seed = 1): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const width = 200 + Math.floor(next() * 200), height = 150 + Math.floor(next() * 150);
    const left = Math.floor(next() * (400 - width)), top = Math.floor(next() * (300 - height));
    let img = sharp(probe).extract({ left, top, width, height }).modulate({ brightness: 0.7 + 0.6 * next() });
    if (i % 2) img = img.flop();
    const file = path.join(dir, `crop${String(i).padStart(3, '0')}.png`);
    await img.png().toFile(file);
    files.push(file);
  }
  return files;
}

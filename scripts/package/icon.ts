/**
 * media/icon.png, the 128×128 marketplace icon, rendered from media/dla.svg (the activity icon: an
 * aggregation tree) on a dark rounded tile, so it reads on the marketplace's light and dark pages.
 * Run `node --import tsx scripts/package/icon.ts` after changing dla.svg; the PNG is committed.
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';

const ROOT = path.resolve(__dirname, '..', '..');
const SIZE = 128;

export async function renderIcon(svgFile = path.join(ROOT, 'media', 'dla.svg'), out = path.join(ROOT, 'media', 'icon.png')): Promise<void> {
  const svg = fs.readFileSync(svgFile, 'utf8');
  const inner = /<svg[^>]*viewBox="0 0 16 16"[^>]*>([\s\S]*)<\/svg>/.exec(svg)?.[1];
  if (!inner) throw new Error(`${svgFile}: expected an <svg> with viewBox="0 0 16 16" around the drawing.`);
  const tile =
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16" width="${SIZE}" height="${SIZE}">` +
    `<rect width="16" height="16" rx="3" fill="#1e1e1e"/>` +
    `<g transform="translate(1.6 1.6) scale(0.8)">${inner}</g></svg>`;
  await sharp(Buffer.from(tile), { density: 72 * (SIZE / 16) }).resize(SIZE, SIZE).png({ compressionLevel: 9 }).toFile(out);
}

if (require.main === module) {
  renderIcon().then(
    () => console.log('media/icon.png written'),
    (e) => {
      console.error((e as Error).message);
      process.exit(1);
    },
  );
}

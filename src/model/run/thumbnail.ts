/**
 * A small PNG of an image for display (Classify Image's result page shows what was classified),
 * as a data: URI so that a webview needs no access to the image's folder. Pixels as Pillow reads
 * them, like the classifier: no EXIF rotation, no ICC transform; only downscaled.
 */
import sharp from 'sharp';

export interface Thumbnail {
  /** data:image/png;base64,… */
  readonly uri: string;
  /** The original image's size. */
  readonly width: number;
  readonly height: number;
}

export async function thumbnail(bytes: Uint8Array, maxSide = 448): Promise<Thumbnail> {
  const image = sharp(bytes, { ignoreIcc: true, failOn: 'error', pages: 1 });
  const meta = await image.metadata();
  const png = await image
    .resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true })
    .png()
    .toBuffer();
  return { uri: `data:image/png;base64,${png.toString('base64')}`, width: meta.width ?? 0, height: meta.height ?? 0 };
}

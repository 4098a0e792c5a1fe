import * as fs from 'fs';
import * as path from 'path';

/**
 * The ground truth lives beside the checkout in ../shared/reference (CI lays it there). It is never
 * copied into the repo. A test that needs it and cannot find it fails with this message.
 */
export const REFERENCE_DIR = process.env.DLA_LENS_REFERENCE ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'reference');

export function referencePath(name: string): string {
  const p = path.join(REFERENCE_DIR, name);
  if (!fs.existsSync(p)) {
    throw new Error(
      `Reference file '${name}' not found at ${p}. These tests need timm's reference data in ../shared/reference ` +
        `beside the checkout (or set DLA_LENS_REFERENCE to its folder).`,
    );
  }
  return p;
}

export function readReference(name: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(referencePath(name)));
}

/** Keys of an `*_order.txt` file, in execution order. */
export function referenceOrder(name: string): string[] {
  return fs.readFileSync(referencePath(name), 'utf8').split('\n').filter((l) => l.length > 0);
}

/**
 * The workspace the real-VS-Code suites open: copies of small reference files (so that the
 * explorer and findFiles see real files in the folder) and a deliberately broken checkpoint.
 */
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from '../../scripts/code-server/paths';

export const REFERENCE_DIR = process.env.DLA_REFERENCE_DIR ?? path.resolve(REPO_ROOT, '..', 'shared', 'reference');

const COPIES = ['dla46_c.safetensors', 'dla46_c.pth', 'dla46_c.pdparams', 'probe.png'];

export function makeWorkspace(dir: string): string {
  if (!fs.existsSync(REFERENCE_DIR)) {
    throw new Error(`The reference data is missing: expected ${REFERENCE_DIR} (../shared/reference beside the project, or set DLA_REFERENCE_DIR).`);
  }
  fs.mkdirSync(dir, { recursive: true });
  for (const f of COPIES) fs.copyFileSync(path.join(REFERENCE_DIR, f), path.join(dir, f));
  // A truncated torch.save zip: the checkpoint editor must say what is wrong, not hang.
  const pth = fs.readFileSync(path.join(REFERENCE_DIR, 'dla46_c.pth'));
  fs.writeFileSync(path.join(dir, 'truncated.pth'), pth.subarray(0, 4096));
  return dir;
}

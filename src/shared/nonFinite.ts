/**
 * JSON has no NaN or Infinity, yet a NaN in a layer is exactly what a report must keep: non-finite
 * numbers travel as the strings "NaN", "Infinity", "-Infinity". Used by the report files and by
 * the HTML report's embedded data (whose page revives them). Imports nothing: the webview bundle
 * includes it.
 */
const NON_FINITE = new Set(['NaN', 'Infinity', '-Infinity']);

export function nonFiniteReplacer(_key: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
}

export function nonFiniteReviver(_key: string, v: unknown): unknown {
  return typeof v === 'string' && NON_FINITE.has(v) ? Number(v) : v;
}

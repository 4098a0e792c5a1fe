/** Number formatting shared by the tooltip, the detail pane and the checkpoint page. */
export function fmt(v: number | undefined, digits = 4): string {
  if (v === undefined) return '—';
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '−Inf';
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(digits - 1) : v.toPrecision(digits);
}

export function shape(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

/** Builds an element with text content; never innerHTML, so names from files cannot inject markup. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

/** The last part of a path from the host, either separator (a folder's trailing one ignored). */
export function basename(p: string): string {
  return p.split(/[\\/]/).filter(Boolean).pop() ?? p;
}

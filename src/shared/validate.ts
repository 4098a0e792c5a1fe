/**
 * Field checks for messages that cross a process boundary (host <-> webview). Each names the
 * message and the field, so a protocol bug reads as one line: "Malformed message
 * comparisonData.data.layers[3].diff.pass: expected a boolean, got string."
 */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export type Obj = Record<string, unknown>;

export function fail(where: string, what: string, got: unknown): never {
  const shown = got === null ? 'null' : Array.isArray(got) ? 'an array' : typeof got;
  throw new ProtocolError(`Malformed message ${where}: expected ${what}, got ${shown}.`);
}
export function obj(v: unknown, where: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, 'an object', v);
  return v as Obj;
}
export function str(o: Obj, k: string, where: string): string {
  if (typeof o[k] !== 'string') fail(`${where}.${k}`, 'a string', o[k]);
  return o[k] as string;
}
export function num(o: Obj, k: string, where: string): number {
  // NaN and ±Infinity are legitimate metric values (a NaN in a layer is a finding, not a bug).
  if (typeof o[k] !== 'number') fail(`${where}.${k}`, 'a number', o[k]);
  return o[k] as number;
}
export function int(o: Obj, k: string, where: string): number {
  const n = num(o, k, where);
  if (!Number.isInteger(n)) fail(`${where}.${k}`, 'an integer', n);
  return n;
}
export function bool(o: Obj, k: string, where: string): boolean {
  if (typeof o[k] !== 'boolean') fail(`${where}.${k}`, 'a boolean', o[k]);
  return o[k] as boolean;
}
export function arr(o: Obj, k: string, where: string): unknown[] {
  if (!Array.isArray(o[k])) fail(`${where}.${k}`, 'an array', o[k]);
  return o[k] as unknown[];
}
export function numbers(o: Obj, k: string, where: string): void {
  arr(o, k, where).forEach((x, i) => typeof x !== 'number' && fail(`${where}.${k}[${i}]`, 'a number', x));
}
export function strings(o: Obj, k: string, where: string): void {
  arr(o, k, where).forEach((x, i) => typeof x !== 'string' && fail(`${where}.${k}[${i}]`, 'a string', x));
}
export function oneOf<T extends string>(o: Obj, k: string, allowed: readonly T[], where: string): T {
  const v = str(o, k, where);
  if (!(allowed as readonly string[]).includes(v)) {
    throw new ProtocolError(`Malformed message ${where}.${k}: expected ${allowed.map((a) => `'${a}'`).join(' or ')}, got '${v}'.`);
  }
  return v as T;
}
export function typed<T>(o: Obj, k: string, ctor: { new (...a: never[]): T; name: string }, where: string): void {
  if (!(o[k] instanceof ctor)) fail(`${where}.${k}`, `a ${ctor.name}`, o[k]);
}
export function numberRecord(v: unknown, where: string): void {
  const t = obj(v, where);
  for (const k of Object.keys(t)) num(t, k, where);
}

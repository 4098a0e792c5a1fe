/**
 * The YAML that PaddleClas configs are written in, read as PyYAML's SafeLoader reads it (PaddleClas
 * loads configs with `yaml.load(f, Loader=yaml.SafeLoader)`), so that a value means here what it
 * means there: block mappings and sequences by indentation, `- Key:` items, flow `[...]`/`{...}`
 * (possibly over several lines), plain, 'single' and "double" quoted scalars, `#` comments, and
 * YAML 1.1 plain-scalar types (null/~, true/yes/on, ints incl. 0x/0o-style octal 0755, floats only
 * with a dot like 1.0 or 1.e-3 — so `1e-3` stays a string, as in PyYAML).
 * anchors (&name) and aliases (*name). Tags, merge keys (<<), block scalars (| >), several documents
 * and dates are refused with the line they are on rather than read differently.
 */
import { FormatError } from '../errors';

export type YamlValue = null | boolean | number | string | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  readonly no: number;
  readonly indent: number;
  readonly text: string;
}

const ANCHOR = /^&([^\s,[\]{}]+)(?: +|$)/;

class Parser {
  private pos = 0;
  readonly anchors = new Map<string, YamlValue>();

  constructor(private readonly lines: Line[], private readonly file: string) {}

  fail(line: number, message: string): never {
    throw new FormatError(this.file, `line ${line}: ${message}`);
  }

  parseDocument(): YamlValue {
    if (this.lines.length === 0) return null;
    const value = this.parseBlock(this.lines[0].indent);
    if (this.pos < this.lines.length) {
      const l = this.lines[this.pos];
      this.fail(l.no, `unexpected indentation (${l.indent} spaces) for '${l.text}'; expected ${this.lines[0].indent} or a deeper block.`);
    }
    return value;
  }

  private peek(): Line | undefined {
    return this.lines[this.pos];
  }

  private parseBlock(indent: number): YamlValue {
    const l = this.peek()!;
    return isSequenceItem(l.text) ? this.parseSequence(indent) : this.parseMapping(indent);
  }

  private parseSequence(indent: number): YamlValue[] {
    const items: YamlValue[] = [];
    for (let l = this.peek(); l && l.indent === indent && isSequenceItem(l.text); l = this.peek()) {
      const [anchor, rest] = takeAnchor(l.text.slice(1).replace(/^ +/, ''));
      if (rest === '') {
        this.pos++;
        const next = this.peek();
        items.push(this.anchored(anchor, next && next.indent > indent ? this.parseBlock(next.indent) : null));
      } else if (anchor !== undefined) {
        this.pos++;
        items.push(this.anchored(anchor, this.inlineValue(rest, l)));
      } else if (isSequenceItem(rest) || splitKey(rest, l.no, this) !== undefined) {
        // "- key: value" (or "- - x"): a nested block whose first line starts after the dash.
        const column = indent + (l.text.length - rest.length);
        this.lines[this.pos] = { no: l.no, indent: column, text: rest };
        items.push(this.parseBlock(column));
      } else {
        this.pos++;
        items.push(this.inlineValue(rest, l));
      }
    }
    return items;
  }

  private parseMapping(indent: number): { [key: string]: YamlValue } {
    const map: { [key: string]: YamlValue } = {};
    for (let l = this.peek(); l && l.indent === indent && !isSequenceItem(l.text); l = this.peek()) {
      const kv = splitKey(l.text, l.no, this);
      if (!kv) this.fail(l.no, `expected 'key: value' in a mapping, found '${l.text}'.`);
      this.pos++;
      const [key, afterKey] = kv;
      if (key === '<<') this.fail(l.no, 'merge keys (<<) are not supported by dla-lens\'s YAML reader; write the entries out in place.');
      const [anchor, rest] = takeAnchor(afterKey);
      let value: YamlValue;
      if (rest === '') {
        const next = this.peek();
        if (next && next.indent > indent) value = this.parseBlock(next.indent);
        // "key:" followed by "- item" at the key's own indentation is a sequence value.
        else if (next && next.indent === indent && isSequenceItem(next.text)) value = this.parseSequence(indent);
        else value = null;
      } else {
        value = this.inlineValue(rest, l);
      }
      map[key] = this.anchored(anchor, value); // PyYAML keeps the last of duplicate keys
    }
    return map;
  }

  anchored(anchor: string | undefined, value: YamlValue): YamlValue {
    if (anchor !== undefined) this.anchors.set(anchor, value);
    return value;
  }

  /** A value on the line after "key:" or "- "; flow collections may continue on the next lines. */
  private inlineValue(text: string, line: Line): YamlValue {
    let source = text;
    if ('!|>%@`'.includes(source[0])) this.fail(line.no, unsupported(source[0]));
    if (source[0] === '[' || source[0] === '{') {
      while (!flowClosed(source)) {
        const next = this.peek();
        // A flow collection continues only on lines indented deeper than the line it opened on.
        if (!next || next.indent <= line.indent) this.fail(line.no, `the flow collection '${source.slice(0, 40)}' is not closed before line ${next ? next.no : 'end of file'}.`);
        source += ' ' + this.lines[this.pos++].text;
      }
    } else if (this.peek() && this.peek()!.indent > line.indent && !isSequenceItem(this.peek()!.text)) {
      this.fail(this.peek()!.no, `the value of line ${line.no} continues on this line; write a plain value on one line.`);
    }
    const flow = new FlowParser(source, line.no, this);
    const value = flow.value();
    flow.end();
    return value;
  }
}

class FlowParser {
  private i = 0;

  constructor(private readonly s: string, private readonly line: number, private readonly p: Parser) {}

  private space(): void {
    while (this.s[this.i] === ' ') this.i++;
  }

  end(): void {
    this.space();
    if (this.i < this.s.length) this.p.fail(this.line, `unexpected '${this.s.slice(this.i)}' after the value.`);
  }

  value(inFlow = false): YamlValue {
    this.space();
    const c = this.s[this.i];
    if (c === '[') return this.sequence();
    if (c === '{') return this.mapping();
    if (c === '"' || c === "'") return this.quoted();
    if (c === undefined) return null;
    if (c === '*') {
      const m = /^\*([^\s,[\]{}]+)/.exec(this.s.slice(this.i))!;
      this.i += m[0].length;
      if (!this.p.anchors.has(m[1])) this.p.fail(this.line, `alias '*${m[1]}' refers to no anchor '&${m[1]}' defined before it.`);
      return this.p.anchors.get(m[1])!;
    }
    if (c === '&') {
      const m = /^&([^\s,[\]{}]+)/.exec(this.s.slice(this.i))!;
      this.i += m[0].length;
      return this.p.anchored(m[1], this.value(inFlow));
    }
    if ('!|>%@`'.includes(c)) this.p.fail(this.line, unsupported(c));
    const start = this.i;
    while (this.i < this.s.length && !(inFlow && ',[]{}'.includes(this.s[this.i]))) {
      if (this.s[this.i] === ':' && (this.s[this.i + 1] === ' ' || this.s[this.i + 1] === undefined)) {
        if (inFlow) break;
        this.p.fail(this.line, `'${this.s}': a mapping cannot start inside a value (PyYAML: "mapping values are not allowed here").`);
      }
      this.i++;
    }
    return resolvePlain(this.s.slice(start, this.i).trim(), this.line, this.p);
  }

  private sequence(): YamlValue[] {
    this.i++;
    const items: YamlValue[] = [];
    for (;;) {
      this.space();
      if (this.s[this.i] === ']') break;
      items.push(this.value(true));
      this.space();
      if (this.s[this.i] === ',') this.i++;
      else if (this.s[this.i] !== ']') this.p.fail(this.line, `expected ',' or ']' in a flow sequence, found '${this.s.slice(this.i) || 'the end of the line'}'.`);
    }
    this.i++;
    return items;
  }

  private mapping(): { [key: string]: YamlValue } {
    this.i++;
    const map: { [key: string]: YamlValue } = {};
    for (;;) {
      this.space();
      if (this.s[this.i] === '}') break;
      const key = this.value(true);
      this.space();
      if (this.s[this.i] !== ':') this.p.fail(this.line, `expected ':' after a key in a flow mapping, found '${this.s.slice(this.i) || 'the end of the line'}'.`);
      this.i++;
      map[String(key)] = this.value(true);
      this.space();
      if (this.s[this.i] === ',') this.i++;
      else if (this.s[this.i] !== '}') this.p.fail(this.line, `expected ',' or '}' in a flow mapping, found '${this.s.slice(this.i) || 'the end of the line'}'.`);
    }
    this.i++;
    return map;
  }

  private quoted(): string {
    const q = this.s[this.i++];
    let out = '';
    for (;;) {
      if (this.i >= this.s.length) this.p.fail(this.line, `a ${q === '"' ? 'double' : 'single'}-quoted string is not closed on its line.`);
      const c = this.s[this.i++];
      if (q === "'") {
        if (c === "'") {
          if (this.s[this.i] === "'") {
            out += "'";
            this.i++;
            continue;
          }
          return out;
        }
        out += c;
        continue;
      }
      if (c === '"') return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.s[this.i++];
      const simple: Record<string, string> = { '0': '\0', a: '\x07', b: '\b', t: '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b', ' ': ' ', '"': '"', '/': '/', '\\': '\\', N: '\x85', _: '\xa0' };
      if (e in simple) out += simple[e];
      else if (e === 'x' || e === 'u' || e === 'U') {
        const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = this.s.slice(this.i, this.i + n);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) this.p.fail(this.line, `bad escape '\\${e}${hex}' in a double-quoted string.`);
        out += String.fromCodePoint(parseInt(hex, 16));
        this.i += n;
      } else this.p.fail(this.line, `unknown escape '\\${e}' in a double-quoted string.`);
    }
  }
}

function unsupported(c: string): string {
  const what: Record<string, string> = {
    '&': 'anchors (&)', '*': 'aliases (*)', '!': 'tags (!)', '|': 'block scalars (|)', '>': 'block scalars (>)',
    '%': 'directives (%)', '@': "the reserved indicator '@'", '`': "the reserved indicator '`'",
  };
  return `${what[c]} are not supported by dla-lens's YAML reader; write the value out in place.`;
}

/** A leading "&name " on a value: the anchor's name and the rest. */
function takeAnchor(text: string): [string | undefined, string] {
  const m = ANCHOR.exec(text);
  return m ? [m[1], text.slice(m[0].length).trim()] : [undefined, text];
}

function isSequenceItem(text: string): boolean {
  return text === '-' || text.startsWith('- ');
}

/** "key: rest" or "key:" outside quotes and brackets; undefined when the text is not a mapping entry. */
function splitKey(text: string, line: number, p: Parser): [string, string] | undefined {
  let key: string;
  let i: number;
  if (text[0] === '"' || text[0] === "'") {
    const flow = new FlowParser(text, line, p);
    // Find the closing quote by parsing the quoted scalar, then expect ':'.
    const close = quotedEnd(text);
    if (close < 0) return undefined;
    key = flow.value() as string;
    i = close;
    if (text[i] !== ':') return undefined;
  } else {
    if (text[0] === '[' || text[0] === '{') return undefined;
    i = -1;
    for (let j = 0; j < text.length; j++) {
      if (text[j] === ':' && (j + 1 === text.length || text[j + 1] === ' ')) {
        i = j;
        break;
      }
    }
    if (i < 0) return undefined;
    key = text.slice(0, i).trim();
    if (key === '') return undefined;
    if ('&*!|>%@`'.includes(key[0])) p.fail(line, key[0] === '&' || key[0] === '*' ? 'anchors and aliases as mapping keys are not supported.' : unsupported(key[0]));
  }
  return [key, text.slice(i + 1).trim()];
}

function quotedEnd(text: string): number {
  const q = text[0];
  for (let i = 1; i < text.length; i++) {
    if (q === '"' && text[i] === '\\') i++;
    else if (text[i] === q) {
      if (q === "'" && text[i + 1] === "'") i++;
      else return i + 1;
    }
  }
  return -1;
}

function flowClosed(s: string): boolean {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (quote === '"' && c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
  }
  return depth <= 0;
}

const NULL = /^(?:~|null|Null|NULL|)$/;
const BOOL_TRUE = /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
const BOOL_FALSE = /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/;
const INT = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const FLOAT = /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const TIMESTAMP = /^[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?/;

/** PyYAML's implicit resolvers for plain scalars (YAML 1.1). */
function resolvePlain(s: string, line: number, p: Parser): YamlValue {
  if (NULL.test(s)) return null;
  if (BOOL_TRUE.test(s)) return true;
  if (BOOL_FALSE.test(s)) return false;
  if (INT.test(s)) return yamlInt(s);
  if (FLOAT.test(s)) return yamlFloat(s);
  if (TIMESTAMP.test(s)) p.fail(line, `'${s}' would be read as a date by PyYAML; dates are not supported, quote it.`);
  return s;
}

function sexagesimal(digits: string): number {
  return digits.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
}

function yamlInt(text: string): number {
  let s = text.replace(/_/g, '');
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s.startsWith('0b')) return sign * parseInt(s.slice(2), 2);
  if (s.startsWith('0x')) return sign * parseInt(s.slice(2), 16);
  if (s[0] === '0') return sign * parseInt(s, 8);
  if (s.includes(':')) return sign * sexagesimal(s);
  return sign * Number(s);
}

function yamlFloat(text: string): number {
  let s = text.replace(/_/g, '').toLowerCase();
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '.inf') return sign * Infinity;
  if (s === '.nan') return NaN;
  if (s.includes(':')) return sign * sexagesimal(s);
  return sign * Number(s);
}

/** Comment-free, blank-free lines with their indentation. */
function lines(text: string, file: string): Line[] {
  const out: Line[] = [];
  const raw = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  let documents = 0;
  raw.forEach((full, index) => {
    const no = index + 1;
    const content = stripComment(full).replace(/\s+$/, '');
    if (content.trim() === '') return;
    const indent = content.length - content.replace(/^ +/, '').length;
    if (content[indent] === '\t') throw new FormatError(file, `line ${no}: a tab in the indentation; YAML indents with spaces.`);
    const body = content.slice(indent);
    if (indent === 0 && (body === '---' || body.startsWith('--- ') || body === '...')) {
      if (body === '...' || ++documents > 1 || out.length > 0) {
        throw new FormatError(file, `line ${no}: several YAML documents in one file are not supported; keep only the config.`);
      }
      return;
    }
    if (indent === 0 && body.startsWith('%')) throw new FormatError(file, `line ${no}: ${unsupported('%')}`);
    out.push({ no, indent, text: body });
  });
  return out;
}

/** Drops a '#' comment that starts the line or follows whitespace, outside quotes. */
function stripComment(line: string): string {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (quote === '"' && c === '\\') i++;
      else if (c === quote) quote = '';
    } else if ((c === '"' || c === "'") && (i === 0 || /[\s[{,:-]/.test(line[i - 1]))) {
      quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) {
      return line.slice(0, i);
    }
  }
  return line;
}

export function parseYamlSubset(text: string, file: string): YamlValue {
  return new Parser(lines(text, file), file).parseDocument();
}

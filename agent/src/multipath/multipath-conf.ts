import { ValidationError, XsctlError } from '@xsctl/common/errors/index';

/**
 * multipath.conf as multipath-tools reads it (multipath.conf(5), libmultipath/parser.c):
 * `section {` with the brace on the same line, `}` alone on its line, `key value` where a value is
 * one bare word or one "quoted string" ("" is a literal quote), `#` and `!` start a comment outside
 * quotes, no commas, no `;`. The document keeps every line verbatim so an unchanged file is written
 * back byte for byte; edits replace, insert or comment out whole lines.
 */

export interface ConfToken {
  text: string;
  quoted: boolean;
  /** Column of the first character of the token (the quote for quoted tokens). */
  start: number;
  end: number;
}

export type ConfLineKind = 'blank' | 'comment' | 'open' | 'close' | 'kv';

export interface ConfLine {
  /** The line without its terminator. */
  text: string;
  /** '\n', '\r\n', '\r' or '' for a last line without one. */
  eol: string;
  kind: ConfLineKind;
  tokens: ConfToken[];
  /** Column where a trailing comment starts, or -1. */
  commentAt: number;
  /** Section name for `open`, key for `kv`. */
  key: string;
  /** Unquoted value for `kv` ('' when there is none). */
  value: string;
}

export interface ConfSection {
  name: string;
  /** Index of the `name {` line. */
  open: number;
  /** Index of the matching `}` line. */
  close: number;
  depth: number;
  sections: ConfSection[];
  /** Indices of the key/value lines directly in this section. */
  entries: number[];
}

export interface ConfDocument {
  lines: ConfLine[];
  /** Top-level sections in file order. */
  sections: ConfSection[];
}

export class ConfSyntaxError extends XsctlError {
  readonly code = 'MULTIPATH_CONF_SYNTAX';

  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

const wordStop = /[\s"#!{}]/;

/** Splits one line into tokens and a trailing comment, the way multipath-tools' parser does. */
export function tokenizeLine(text: string): { tokens: ConfToken[]; commentAt: number; unterminated: boolean } {
  const tokens: ConfToken[] = [];
  let i = 0;
  let unterminated = false;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#' || c === '!') return { tokens, commentAt: i, unterminated };
    if (c === '{' || c === '}') {
      tokens.push({ text: c, quoted: false, start: i, end: i + 1 });
      i++;
      continue;
    }
    if (c === '"') {
      const start = i;
      let value = '';
      i++;
      let closed = false;
      while (i < text.length) {
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          closed = true;
          i++;
          break;
        }
        value += text[i];
        i++;
      }
      if (!closed) unterminated = true;
      tokens.push({ text: value, quoted: true, start, end: i });
      continue;
    }
    const start = i;
    while (i < text.length && !wordStop.test(text[i] as string)) i++;
    tokens.push({ text: text.slice(start, i), quoted: false, start, end: i });
  }
  return { tokens, commentAt: -1, unterminated };
}

function classify(text: string, eol: string, lineNo: number): ConfLine {
  const { tokens, commentAt, unterminated } = tokenizeLine(text);
  const base = { text, eol, tokens, commentAt, key: '', value: '' };
  if (unterminated) throw new ConfSyntaxError(lineNo, 'unterminated quoted string');
  if (tokens.length === 0) return { ...base, kind: text.trim() === '' ? 'blank' : 'comment' };
  const first = tokens[0] as ConfToken;
  const braceAt = tokens.findIndex((t) => !t.quoted && (t.text === '{' || t.text === '}'));
  if (braceAt === -1) {
    return { ...base, kind: 'kv', key: first.text, value: tokens[1]?.text ?? '' };
  }
  const brace = tokens[braceAt] as ConfToken;
  if (brace.text === '}') {
    if (tokens.length !== 1) throw new ConfSyntaxError(lineNo, "'}' must be alone on its line");
    return { ...base, kind: 'close' };
  }
  if (braceAt === 0) throw new ConfSyntaxError(lineNo, "'{' must follow the section name on the same line");
  if (braceAt !== 1 || tokens.length !== 2 || first.quoted) {
    throw new ConfSyntaxError(lineNo, `expected "section {" alone on the line, got ${JSON.stringify(text.trim())}`);
  }
  return { ...base, kind: 'open', key: first.text };
}

/**
 * multipath.conf nests at most three levels (`overrides { protocol { } }` in newer versions,
 * `devices { device { } }`); a deeper file is not one multipath reads, and refusing it keeps a
 * crafted file from costing time or stack.
 */
const maxDepth = 4;

/** Parses a whole file; throws ConfSyntaxError (1-based line) on unbalanced braces or bad lines. */
export function parseMultipathConf(content: string): ConfDocument {
  const lines: ConfLine[] = [];
  const re = /\r\n|\n|\r/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(content)) !== null) {
    lines.push(classify(content.slice(last, m.index), m[0], lines.length + 1));
    last = m.index + m[0].length;
  }
  if (last < content.length) lines.push(classify(content.slice(last), '', lines.length + 1));

  const top: ConfSection[] = [];
  const stack: ConfSection[] = [];
  lines.forEach((line, idx) => {
    if (line.kind === 'open') {
      if (stack.length >= maxDepth) throw new ConfSyntaxError(idx + 1, `section "${line.key}" nested ${stack.length + 1} deep (multipath's grammar has at most ${maxDepth} levels)`);
      const s: ConfSection = { name: line.key, open: idx, close: -1, depth: stack.length, sections: [], entries: [] };
      const parent = stack[stack.length - 1];
      (parent === undefined ? top : parent.sections).push(s);
      stack.push(s);
    } else if (line.kind === 'close') {
      const s = stack.pop();
      if (s === undefined) throw new ConfSyntaxError(idx + 1, "'}' without an open section");
      s.close = idx;
    } else if (line.kind === 'kv') {
      const parent = stack[stack.length - 1];
      if (parent === undefined) throw new ConfSyntaxError(idx + 1, `"${line.key}" outside any section`);
      parent.entries.push(idx);
    }
  });
  const open = stack[stack.length - 1];
  if (open !== undefined) throw new ConfSyntaxError(open.open + 1, `section "${open.name}" is never closed`);
  return { lines, sections: top };
}

export function serializeMultipathConf(doc: ConfDocument): string {
  return doc.lines.map((l) => l.text + l.eol).join('');
}

/** Keys whose values multipath-tools prints quoted; we write them the same way. */
const quotedKeys = new Set([
  'vendor',
  'product',
  'product_blacklist',
  'revision',
  'features',
  'hardware_handler',
  'path_selector',
  'getuid_callout',
  'prio_callout',
  'prio_args',
  'uid_attribute',
  'alias_prefix',
  'devnode',
  'wwid',
  'property',
  'protocol',
]);

export function quoteValue(key: string, value: string): string {
  const needs = value === '' || /[\s"#!{}]/.test(value) || quotedKeys.has(key);
  return needs ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * What xsctl writes into multipath.conf: a keyword of letters, digits and `_`, and a value of
 * printable ASCII without `"` or `\\` (multipath-tools 0.4.9's tokenizer has no escape inside a
 * quoted string, and a newline would start a new statement).
 */
export function renderKeyValue(indent: string, key: string, value: string): string {
  if (!/^[a-z][a-z0-9_]*$/.test(key)) throw new ValidationError('stanza', `${JSON.stringify(key)} is not a multipath.conf keyword`);
  if (!/^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/.test(value)) throw new ValidationError(`stanza.${key}`, `${JSON.stringify(value)} cannot sit in multipath.conf (quote, backslash or control character)`);
  return `${indent}${key} ${quoteValue(key, value)}`;
}

export function leadingWhitespace(text: string): string {
  return /^[ \t]*/.exec(text)?.[0] ?? '';
}

/** The indentation unit the file uses (first indented line), tab by default. */
export function detectIndentUnit(doc: ConfDocument): string {
  for (const s of doc.sections) {
    const lines = [...s.entries, ...s.sections.map((c) => c.open)].sort((a, b) => a - b);
    const first = lines[0];
    if (first === undefined) continue;
    const lead = leadingWhitespace(doc.lines[first]?.text ?? '');
    const base = leadingWhitespace(doc.lines[s.open]?.text ?? '');
    if (lead.length > base.length) return lead.slice(base.length);
  }
  return '\t';
}

export function entryMap(doc: ConfDocument, section: ConfSection): Map<string, string> {
  const out = new Map<string, string>();
  for (const idx of section.entries) {
    const l = doc.lines[idx] as ConfLine;
    out.set(l.key, l.value);
  }
  return out;
}

export function entryList(doc: ConfDocument, section: ConfSection): [string, string][] {
  return section.entries.map((idx) => {
    const l = doc.lines[idx] as ConfLine;
    return [l.key, l.value];
  });
}

export function findSections(doc: ConfDocument, name: string): ConfSection[] {
  return doc.sections.filter((s) => s.name === name);
}

/** Every `device {}` inside every `devices {}` section, in file order. */
export function deviceSections(doc: ConfDocument): ConfSection[] {
  return findSections(doc, 'devices').flatMap((d) => d.sections.filter((s) => s.name === 'device'));
}

/** A missing or "*" product means "any product" to multipath-tools 0.4.x; we spell it ".*". */
export function normalizeProduct(product: string | undefined): string {
  return product === undefined || product === '' || product === '*' ? '.*' : product;
}

export function sameDevice(a: { vendor: string; product: string | undefined }, b: { vendor: string; product: string | undefined }): boolean {
  return a.vendor === b.vendor && normalizeProduct(a.product) === normalizeProduct(b.product);
}

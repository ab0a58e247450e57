import { ValidationError } from '@xsctl/common/errors/index';

/**
 * The lvm.conf edits the iSCSI-HA how-to asks for on both nodes, done as a text edit that keeps
 * every comment and unrelated setting:
 * - `filter` in `devices {}` rejects /dev/drbd* and the DRBD backing disks, so dom0's LVM never
 *   activates the SR's volume group from underneath DRBD (rejects go first: LVM takes the first
 *   pattern that matches);
 * - `write_cache_state = 0`, so no stale device cache survives a role change.
 */
export interface LvmEditResult {
  text: string;
  changed: boolean;
  /** The active filter line after the edit. */
  filter: string;
  entries: string[];
}

export const drbdRejectPattern = 'r|^/dev/drbd.*|';

/**
 * Regex metacharacters as one-character classes (`.` -> `[.]`), not backslash escapes: LVM's
 * config parser turns `\\` into `\` inside strings and keeps other backslashes, so a backslash
 * would not read back as written. The disk paths are allow-listed (no `]`, `^`, `|` or `"`).
 */
function literalRegex(s: string): string {
  return s.replace(/[.*+?${}()[\]\\]/g, '[$&]');
}

/** `r|^/dev/sdb|`: the disk and its partitions (LVM matches the pattern anywhere in the name). */
export function rejectPatternFor(disk: string): string {
  if (/[|"\\\]^\n]/.test(disk)) throw new ValidationError('backingDisks', `${JSON.stringify(disk)} cannot sit in an LVM filter pattern`);
  return `r|^${literalRegex(disk)}|`;
}

interface Span {
  start: number;
  end: number;
}

/** Line index of `devices {` and of its closing brace, counting braces outside strings and comments. */
function findSection(lines: readonly string[], name: string): Span | null {
  let depth = 0;
  let start = -1;
  for (let i = 0; i < lines.length; i++) {
    const code = stripComment(lines[i] ?? '');
    if (start === -1 && depth === 0 && new RegExp(`^\\s*${name}\\s*\\{`).test(code)) {
      start = i;
    }
    for (const ch of code.replace(/"[^"]*"/g, '')) {
      if (ch === '{') depth++;
      if (ch === '}') {
        depth--;
        if (depth === 0 && start !== -1) return { start, end: i };
      }
    }
  }
  return null;
}

function stripComment(line: string): string {
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '"') inString = !inString;
    if (ch === '#' && !inString) return line.slice(0, i);
  }
  return line;
}

/** Finds an active `key = ...` inside [from, to); for lists, up to the closing `]`. */
function findSetting(lines: readonly string[], span: Span, key: string): Span | null {
  for (let i = span.start + 1; i < span.end; i++) {
    const code = stripComment(lines[i] ?? '');
    if (!new RegExp(`^\\s*${key}\\s*=`).test(code)) continue;
    if (!code.includes('[') || code.includes(']')) return { start: i, end: i };
    for (let j = i + 1; j < span.end; j++) if (stripComment(lines[j] ?? '').includes(']')) return { start: i, end: j };
    return { start: i, end: i };
  }
  return null;
}

function quoted(text: string): string[] {
  return [...text.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] ?? '');
}

export function editLvmConf(original: string, backingDisks: readonly string[]): LvmEditResult {
  const eol = original.includes('\r\n') ? '\r\n' : '\n';
  const lines = original.split(/\r?\n/);
  let devices = findSection(lines, 'devices');
  if (devices === null) {
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    lines.push('devices {', '}', '');
    devices = { start: lines.length - 3, end: lines.length - 2 };
  }
  const indent = /^(\s*)/.exec(lines[devices.start + 1] ?? '')?.[1] || '    ';
  const wanted = [drbdRejectPattern, ...backingDisks.map(rejectPatternFor)];

  // filter
  const filterSpan = findSetting(lines, devices, 'filter');
  const current = filterSpan === null ? [] : quoted(lines.slice(filterSpan.start, filterSpan.end + 1).map(stripComment).join(' '));
  const missing = wanted.filter((w) => !current.includes(w));
  const entries = [...missing, ...current];
  const filterIndent = filterSpan === null ? indent : (/^(\s*)/.exec(lines[filterSpan.start] ?? '')?.[1] ?? indent);
  const filterLine = `${filterIndent}filter = [ ${entries.map((e) => `"${e}"`).join(', ')} ]`;
  if (filterSpan === null) {
    lines.splice(devices.start + 1, 0, filterLine);
    devices.end += 1;
  } else if (missing.length > 0) {
    lines.splice(filterSpan.start, filterSpan.end - filterSpan.start + 1, filterLine);
    devices.end -= filterSpan.end - filterSpan.start;
  }

  // write_cache_state
  const wcs = findSetting(lines, devices, 'write_cache_state');
  if (wcs === null) {
    lines.splice(devices.end, 0, `${indent}write_cache_state = 0`);
  } else {
    const line = lines[wcs.start] ?? '';
    lines[wcs.start] = line.replace(/(write_cache_state\s*=\s*)\d+/, '$10');
  }

  const text = lines.join(eol);
  const activeFilter = (() => {
    const span = findSetting(lines, findSection(lines, 'devices') ?? devices, 'filter');
    return span === null ? '' : lines.slice(span.start, span.end + 1).join(' ').trim();
  })();
  return { text, changed: text !== original, filter: activeFilter, entries };
}

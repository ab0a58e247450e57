import {
  detectIndentUnit,
  deviceSections,
  entryMap,
  findSections,
  leadingWhitespace,
  parseMultipathConf,
  renderKeyValue,
  sameDevice,
  serializeMultipathConf,
  type ConfDocument,
  type ConfLine,
  type ConfSection,
} from './multipath-conf.js';

export type Stanza = readonly (readonly [string, string])[];

export interface MergeOptions {
  /** Keys to comment out of an existing entry (deprecated or replaced for this multipath-tools), with the reason. */
  remove?: ReadonlyMap<string, string>;
}

export interface MergeResult {
  content: string;
  changed: boolean;
  /** 'updated' an existing entry, 'added' a new one, or 'unchanged'. */
  action: 'updated' | 'added' | 'unchanged';
  /** 1-based line of the `device {` that holds the stanza in the new content. */
  line: number;
  warnings: string[];
}

function stanzaDevice(stanza: Stanza): { vendor: string; product: string | undefined } {
  const vendor = stanza.find(([k]) => k === 'vendor')?.[1];
  if (vendor === undefined) throw new Error('a device stanza needs a vendor');
  return { vendor, product: stanza.find(([k]) => k === 'product')?.[1] };
}

/** Device entries of a parsed file that the stanza's vendor/product address. */
export function matchingDeviceSections(doc: ConfDocument, stanza: Stanza): ConfSection[] {
  const want = stanzaDevice(stanza);
  return deviceSections(doc).filter((s) => {
    const e = entryMap(doc, s);
    const vendor = e.get('vendor');
    return vendor !== undefined && sameDevice({ vendor, product: e.get('product') }, want);
  });
}

function dominantEol(doc: ConfDocument): string {
  return doc.lines.find((l) => l.eol !== '')?.eol ?? '\n';
}

function line(text: string, eol: string): ConfLine {
  return { text, eol, kind: 'kv', tokens: [], commentAt: -1, key: '', value: '' };
}

/** Re-renders a key/value line with a new value, keeping its indentation and trailing comment. */
function rewriteValue(l: ConfLine, key: string, value: string): string {
  const indent = leadingWhitespace(l.text);
  if (l.commentAt < 0) return renderKeyValue(indent, key, value);
  const lastEnd = l.tokens.length > 0 ? (l.tokens[l.tokens.length - 1] as { end: number }).end : l.commentAt;
  const gap = l.text.slice(lastEnd, l.commentAt) || ' ';
  return `${renderKeyValue(indent, key, value)}${gap}${l.text.slice(l.commentAt)}`;
}

/**
 * Merges a device stanza into a multipath.conf (the `devices` section of the main file):
 * the last entry with the same vendor/product gets the stanza's keys (values changed in place,
 * missing keys added before its `}`, `remove` keys commented out); without one, a new entry is
 * appended to the last `devices` section, or a `devices` section is appended to the file.
 * Everything else is left as it is, so merging twice changes nothing the second time.
 */
export function mergeDeviceStanza(content: string, stanza: Stanza, options: MergeOptions = {}): MergeResult {
  const doc = parseMultipathConf(content);
  const eol = dominantEol(doc);
  const unit = detectIndentUnit(doc);
  const warnings: string[] = [];
  const replace = new Map<number, string>();
  const insertBefore = new Map<number, string[]>();
  let appendAtEnd: string[] = [];
  let action: MergeResult['action'] = 'unchanged';
  const stanzaKeys = new Set(stanza.map(([k]) => k));

  const matches = matchingDeviceSections(doc, stanza);
  const target = matches[matches.length - 1];
  if (matches.length > 1) {
    warnings.push(
      `${matches.length} device entries match ${stanzaDevice(stanza).vendor}/${stanzaDevice(stanza).product ?? '.*'} (lines ${matches.map((m) => m.open + 1).join(', ')}); the last one is updated`,
    );
  }
  if (target !== undefined) {
    const byKey = new Map<string, number>();
    for (const idx of target.entries) byKey.set((doc.lines[idx] as ConfLine).key, idx);
    const firstEntry = target.entries[0];
    const keyIndent =
      firstEntry !== undefined ? leadingWhitespace((doc.lines[firstEntry] as ConfLine).text) : leadingWhitespace((doc.lines[target.open] as ConfLine).text) + unit;
    const added: string[] = [];
    for (const [key, value] of stanza) {
      const idx = byKey.get(key);
      if (idx === undefined) {
        added.push(renderKeyValue(keyIndent, key, value));
        continue;
      }
      const l = doc.lines[idx] as ConfLine;
      if (l.value !== value || l.tokens.length !== 2) replace.set(idx, rewriteValue(l, key, value));
    }
    for (const idx of target.entries) {
      const l = doc.lines[idx] as ConfLine;
      const reason = options.remove?.get(l.key);
      if (reason !== undefined && !stanzaKeys.has(l.key)) {
        replace.set(idx, `${leadingWhitespace(l.text)}# ${l.text.trim()}  # xsctl: ${reason}`);
      }
    }
    if (added.length > 0) insertBefore.set(target.close, added);
    if (replace.size > 0 || added.length > 0) action = 'updated';
  } else {
    action = 'added';
    const devices = findSections(doc, 'devices');
    const last = devices[devices.length - 1];
    if (last !== undefined) {
      const base = leadingWhitespace((doc.lines[last.open] as ConfLine).text) + unit;
      insertBefore.set(last.close, [`${base}device {`, ...stanza.map(([k, v]) => renderKeyValue(base + unit, k, v)), `${base}}`]);
    } else {
      const lastLine = doc.lines[doc.lines.length - 1];
      appendAtEnd = [
        ...(lastLine !== undefined && lastLine.text.trim() !== '' ? [''] : []),
        'devices {',
        `${unit}device {`,
        ...stanza.map(([k, v]) => renderKeyValue(unit + unit, k, v)),
        `${unit}}`,
        '}',
      ];
    }
  }

  if (action === 'unchanged') {
    return { content, changed: false, action, line: (target?.open ?? 0) + 1, warnings };
  }
  const out: ConfLine[] = [];
  doc.lines.forEach((l, idx) => {
    for (const text of insertBefore.get(idx) ?? []) out.push(line(text, eol));
    const r = replace.get(idx);
    out.push(r === undefined ? l : { ...l, text: r });
  });
  if (appendAtEnd.length > 0) {
    const prev = out[out.length - 1];
    if (prev !== undefined && prev.eol === '') out[out.length - 1] = { ...prev, eol };
    for (const text of appendAtEnd) out.push(line(text, eol));
  }
  const merged = serializeMultipathConf({ lines: out, sections: [] });
  // The result must parse and hold the stanza: a merge never writes a file multipath would misread.
  const check = parseMultipathConf(merged);
  const holder = matchingDeviceSections(check, stanza).pop();
  if (holder === undefined) throw new Error('merge lost the device entry');
  const got = entryMap(check, holder);
  for (const [k, v] of stanza) if (got.get(k) !== v) throw new Error(`merge left ${k}=${String(got.get(k))}, wanted ${v}`);
  return { content: merged, changed: merged !== content, action, line: holder.open + 1, warnings };
}

/** A complete drop-in file holding one device stanza (conf.d layout). */
export function renderDeviceFile(header: readonly string[], stanza: Stanza, unit = '\t'): string {
  return [
    ...header.map((h) => `# ${h}`.trimEnd()),
    'devices {',
    `${unit}device {`,
    ...stanza.map(([k, v]) => renderKeyValue(unit + unit, k, v)),
    `${unit}}`,
    '}',
    '',
  ].join('\n');
}

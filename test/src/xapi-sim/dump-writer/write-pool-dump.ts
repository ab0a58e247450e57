/**
 * Writes a pool database the way xapi's serializer does (ocaml/database/db_xml.ml To.database),
 * so loader tests can feed it real-shaped text: each field is the value's string form (maps and
 * sets through SExpr.string_of: every string single-quoted, `\` and `'` backslash-escaped,
 * ocaml/libs/sexpr/sExpr.ml escape_buf), then Xml_spaces.protect (space %., tab %t, newline %n,
 * CR %r, % %%), then written as an XML attribute by Xmlm (& < > " as entities). `escapeDoubleQuote`
 * reproduces releases before CP-54827 (March 2025), which also escaped `"` as `\"`.
 */
export type DumpValue = string | readonly string[] | Readonly<Record<string, string>>;

export interface DumpRow {
  ref: string;
  fields: Readonly<Record<string, DumpValue>>;
}

export function sexprString(s: string, escapeDoubleQuote = false): string {
  let out = "'";
  for (const c of s) {
    if (c === '\\') out += '\\\\';
    else if (c === "'") out += "\\'";
    else if (c === '"' && escapeDoubleQuote) out += '\\"';
    else out += c;
  }
  return `${out}'`;
}

/** SExpr.string_of for a set (Node of Strings) or a map (Node of 2-element Nodes). */
export function sexprOf(value: readonly string[] | Readonly<Record<string, string>>, escapeDoubleQuote = false): string {
  const items = Array.isArray(value)
    ? (value as readonly string[]).map((v) => sexprString(v, escapeDoubleQuote))
    : Object.entries(value).map(([k, v]) => `(${sexprString(k, escapeDoubleQuote)} ${sexprString(v, escapeDoubleQuote)})`);
  return `(${items.join(' ')})`;
}

/** Xml_spaces.protect (ocaml/database/xml_spaces.ml). */
export function protectXmlSpaces(s: string): string {
  return s.replace(/[ \t\n\r%]/g, (c) => ({ ' ': '%.', '\t': '%t', '\n': '%n', '\r': '%r', '%': '%%' })[c] ?? c);
}

/** Xmlm's attribute escaping (it quotes attributes with `"`). */
export function xmlAttr(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);
}

export function writePoolDump(tables: Readonly<Record<string, readonly DumpRow[]>>, options: { generation?: number; escapeDoubleQuote?: boolean } = {}): string {
  const field = (v: DumpValue): string => xmlAttr(protectXmlSpaces(typeof v === 'string' ? v : sexprOf(v, options.escapeDoubleQuote === true)));
  const parts = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<database><manifest><pair key="schema_major_vsn" value="5"/><pair key="schema_minor_vsn" value="786"/><pair key="generation_count" value="${options.generation ?? 1000}"/></manifest>`,
  ];
  for (const [name, rows] of Object.entries(tables)) {
    parts.push(`<table name="${name}">`);
    for (const row of rows) {
      // db_xml.ml writes __mtime, __ctime and ref first, then the fields; nested names joined by __.
      const attrs = [`__mtime="1"`, `__ctime="1"`, `ref="${row.ref}"`, ...Object.entries(row.fields).map(([k, v]) => `${k.replace(/_(label|description|static_max|dynamic_max|dynamic_min|static_min)$/, '__$1')}="${field(v)}"`)];
      parts.push(`<row ${attrs.join(' ')}/>`);
    }
    parts.push('</table>');
  }
  parts.push('</database>');
  return parts.join('');
}

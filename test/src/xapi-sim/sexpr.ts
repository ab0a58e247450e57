/**
 * XAPI's database dump stores sets and maps as s-expressions: a set is `('a' 'b')`, a map is
 * `(('k' 'v') ('k2' 'v2'))`, strings are single-quoted with `\\`, `\'` and `\"` escapes.
 */
export type SExpr = string | SExpr[];

export class SExprParseError extends Error {
  constructor(
    readonly input: string,
    readonly position: number,
    reason: string,
  ) {
    super(`bad s-expression at ${position}: ${reason}`);
    this.name = 'SExprParseError';
  }
}

export function parseSExpr(input: string): SExpr {
  let pos = 0;
  const skipSpace = (): void => {
    while (pos < input.length && /\s/.test(input[pos] ?? '')) pos++;
  };
  const parseValue = (): SExpr => {
    skipSpace();
    const c = input[pos];
    if (c === '(') {
      pos++;
      const items: SExpr[] = [];
      for (;;) {
        skipSpace();
        if (pos >= input.length) throw new SExprParseError(input, pos, 'unclosed list');
        if (input[pos] === ')') {
          pos++;
          return items;
        }
        items.push(parseValue());
      }
    }
    if (c === "'") {
      pos++;
      let out = '';
      for (;;) {
        const ch = input[pos];
        if (ch === undefined) throw new SExprParseError(input, pos, 'unclosed string');
        pos++;
        if (ch === "'") return out;
        if (ch === '\\') {
          const next = input[pos];
          if (next === undefined) throw new SExprParseError(input, pos, 'dangling escape');
          out += next;
          pos++;
        } else {
          out += ch;
        }
      }
    }
    throw new SExprParseError(input, pos, `unexpected ${c === undefined ? 'end' : JSON.stringify(c)}`);
  };
  const value = parseValue();
  skipSpace();
  if (pos !== input.length) throw new SExprParseError(input, pos, 'trailing characters');
  return value;
}

/** True if the text looks like a serialized set or map rather than a plain string. */
export function looksLikeSExpr(text: string): boolean {
  return /^\((\s*\)|\s*['(])/.test(text);
}

/**
 * Undo XAPI's Xml_spaces.protect, applied to every field before it is written as an XML attribute
 * (so whitespace survives attribute normalisation): `%.` space, `%_` two spaces (older dumps),
 * `%t` tab, `%n` newline, `%r` carriage return, `%%` percent.
 */
export function unprotectXmlSpaces(text: string): string {
  if (!text.includes('%')) return text;
  return text.replace(/%([._tnr%])/g, (_m, c: string) => {
    switch (c) {
      case '.':
        return ' ';
      case '_':
        return '  ';
      case 't':
        return '\t';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      default:
        return '%';
    }
  });
}

import { describe, expect, it } from 'vitest';
import { looksLikeSExpr, parseSExpr, unprotectXmlSpaces } from './sexpr.js';

describe('parseSExpr', () => {
  it('reads maps and sets as XAPI writes them', () => {
    expect(parseSExpr("(('k' 'v') ('k2' ''))")).toEqual([['k', 'v'], ['k2', '']]);
    expect(parseSExpr("('a' 'b')")).toEqual(['a', 'b']);
    expect(parseSExpr('()')).toEqual([]);
  });

  it('undoes backslash escapes inside quotes', () => {
    expect(parseSExpr("('it\\'s' 'a\\\\b' 'say \\\"hi\\\"')")).toEqual(["it's", 'a\\b', 'say "hi"']);
  });

  it('rejects unbalanced input', () => {
    expect(() => parseSExpr("('a'")).toThrow(/unclosed/);
    expect(() => parseSExpr("'a' 'b'")).toThrow(/trailing/);
  });

  it('tells serialized collections from plain strings', () => {
    expect(looksLikeSExpr("('a')")).toBe(true);
    expect(looksLikeSExpr('()')).toBe(true);
    expect(looksLikeSExpr('(C) 2008 Citrix Systems Inc')).toBe(false);
  });
});

describe('unprotectXmlSpaces', () => {
  it('restores the whitespace XAPI escaped in attributes', () => {
    expect(unprotectXmlSpaces('CPU%_%_6420%_@ 2.13GHz')).toBe('CPU    6420  @ 2.13GHz');
    expect(unprotectXmlSpaces('a%.b%nc%td%%e')).toBe('a b\nc\td%e');
    expect(unprotectXmlSpaces('no escapes')).toBe('no escapes');
  });
});

import { describe, expect, it } from 'vitest';
import { parseTaskResult, TaskResultParseError } from './parse-task-result.js';

describe('parseTaskResult', () => {
  it('reads what XAPI stores for void, ref and typed results', () => {
    expect(parseTaskResult('')).toBeUndefined();
    expect(parseTaskResult('<value>OpaqueRef:1f2e</value>')).toBe('OpaqueRef:1f2e');
    expect(parseTaskResult('<value/>')).toBe('');
    expect(parseTaskResult('<value><boolean>1</boolean></value>')).toBe(true);
    expect(parseTaskResult('<value><double>0.5</double></value>')).toBe(0.5);
    expect(parseTaskResult('<value><string>a &amp; b</string></value>')).toBe('a & b');
  });

  it('reads arrays and structs', () => {
    const xml =
      '<value><struct><member><name>OpaqueRef:vm</name><value><array><data><value>VM_REQUIRES_SR</value><value>x</value></data></array></value></member></struct></value>';
    expect(parseTaskResult(xml)).toEqual({ 'OpaqueRef:vm': ['VM_REQUIRES_SR', 'x'] });
    expect(parseTaskResult('<value><array><data/></array></value>')).toEqual([]);
  });

  it('rejects what is not an XML-RPC value', () => {
    expect(() => parseTaskResult('<nope/>')).toThrow(TaskResultParseError);
    expect(() => parseTaskResult('<value>x</value><value>y</value>')).toThrow(TaskResultParseError);
  });
});

import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CliError } from '../../output/cli-error.js';
import { getDecoder } from './decoder-table.js';
import './decoders.js';

// The captured outputs live beside the agent's parsers (sources in their SOURCES.md).
const dir = new URL('../../../../agent/src/multipath/__fixtures__/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, dir), 'utf8');
const decode = (format: string, input: string) => {
  const d = getDecoder(format);
  if (d === undefined) throw new Error(`no decoder ${format}`);
  return d.decode(input) as { maps: Record<string, unknown>[]; warnings?: string[] };
};

describe('xsctl decode multipath-ll / multipathd-json', () => {
  it('decodes every captured multipath -ll to the documented shape', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('multipath-ll.txt') || ['netapp-failed-paths.txt', 'dell-md36xxi-rdac-lio.txt', 'old-bracket-format.txt'].includes(f));
    expect(files.length).toBe(9);
    for (const f of files) {
      const out = decode('multipath-ll', fixture(f));
      expect(out.warnings, f).toBeUndefined();
      expect(out.maps.length, f).toBeGreaterThan(0);
      for (const m of out.maps) {
        expect(Object.keys(m), f).toEqual(expect.arrayContaining(['name', 'wwid', 'dm', 'vendor', 'product', 'size', 'features', 'hwhandler', 'writePolicy', 'groups']));
        for (const g of m['groups'] as Record<string, unknown>[]) {
          expect(Object.keys(g)).toEqual(expect.arrayContaining(['policy', 'prio', 'status', 'paths']));
          for (const p of g['paths'] as Record<string, unknown>[]) expect(Object.keys(p)).toEqual(expect.arrayContaining(['hctl', 'dev', 'devt', 'dmState', 'checkerState', 'deviceState']));
        }
        // Vendor and product are trimmed even where multipath pads them ("NETAPP  ,", "LIO-ORG ,", "IBM     ,").
        expect(m['vendor'], f).toBe(String(m['vendor']).trim());
        expect(m['product'], f).toBe(String(m['product']).trim());
      }
    }
    expect(decode('multipath-ll', fixture('netapp-failed-paths.txt')).maps[0]).toMatchObject({ vendor: 'NETAPP', product: 'LUN C-Mode', wwid: '3600a098038303973743f486833396d44' });
  });

  it('decodes the multipathd JSON capture and renders a table', () => {
    const out = decode('multipathd-json', fixture('ibm-ubiquity-multipathd-json.txt'));
    expect(out.maps[0]).toMatchObject({ name: 'mpathp', wwid: '360050768029b8168e000000000006247', vendor: 'IBM', product: '2145' });
    const text = getDecoder('multipathd-json')?.render?.(out) ?? '';
    expect(text).toContain('mpathp (360050768029b8168e000000000006247) dm-3 IBM,2145');
    expect(text).toMatch(/#1\s+round-robin 0\s+0\s+active\s+-\s+sdb\s+8:16\s+failed\s+faulty\s+running\s+50/);
  });

  it('fails (non-zero exit) on input without maps', () => {
    expect(() => decode('multipath-ll', 'DM multipath kernel driver not loaded\n')).toThrow(CliError);
    expect(() => decode('multipathd-json', 'fail\n')).toThrow(/no JSON object/);
  });
});

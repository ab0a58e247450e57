import { describe, expect, it } from 'vitest';
import { normalizeRecord } from '../xapi/index.js';
import { applyEvents, emptyRecords } from './pool-records.js';
import { parsePathCount, poolView } from './pool-view.js';

describe('XAPI path counts', () => {
  it.each([
    // The shape a XenServer 6.x/7.x PBD carries (seen in a support script printing a real PBD record).
    ['[1, 1, -1, -1]', { active: 1, total: 1 }],
    ['[2, 4]', { active: 2, total: 4 }],
    // Python 2 longs, which XenCenter's pattern also accepts.
    ['[3L, 4L]', { active: 3, total: 4 }],
  ])('%s', (text, expected) => expect(parsePathCount(text)).toEqual(expected));

  it('ignores what is not a count', () => {
    expect(parsePathCount('true')).toBeUndefined();
    expect(parsePathCount('[]')).toBeUndefined();
  });
});

describe('poolView from event.from batches', () => {
  const ev = (cls: string, ref: string, snapshot: Record<string, unknown>, operation: 'add' | 'mod' | 'del' = 'add') => ({ id: '1', timestamp: '', class: cls, operation, ref, snapshot });
  const host = (name: string, updates: string[], metrics: string, pbds: string[] = []) => ({ uuid: `u-${name}`, name_label: name, hostname: name, address: '10.0.0.1', enabled: true, metrics, resident_VMs: [], software_version: { product_version: '8.2.1' }, updates, PBDs: pbds });

  it('tells which host lacks a hotfix, counts paths per SR and follows deletions', () => {
    const r = emptyRecords();
    applyEvents(r, [
      ev('pool', 'OpaqueRef:p', { name_label: 'lab', master: 'OpaqueRef:h1' }),
      ev('host', 'OpaqueRef:h1', host('a', ['OpaqueRef:u1', 'OpaqueRef:u2'], 'OpaqueRef:m1', ['OpaqueRef:pbd1'])),
      ev('host', 'OpaqueRef:h2', host('b', ['OpaqueRef:u1'], 'OpaqueRef:m2', ['OpaqueRef:pbd2'])),
      ev('host_metrics', 'OpaqueRef:m1', { live: true }),
      ev('host_metrics', 'OpaqueRef:m2', { live: false }),
      ev('pool_update', 'OpaqueRef:u1', { name_label: 'XS82E001', hosts: [] }),
      ev('pool_update', 'OpaqueRef:u2', { name_label: 'XS82E002', hosts: [] }),
      ev('sr', 'OpaqueRef:sr', { name_label: 'iscsi', type: 'lvmoiscsi', shared: true, PBDs: ['OpaqueRef:pbd1', 'OpaqueRef:pbd2'] }),
      ev('pbd', 'OpaqueRef:pbd1', { host: 'OpaqueRef:h1', SR: 'OpaqueRef:sr', currently_attached: true, other_config: { multipathed: 'true', 'mpath-36001405abc': '[2, 2]' } }),
      ev('pbd', 'OpaqueRef:pbd2', { host: 'OpaqueRef:h2', SR: 'OpaqueRef:sr', currently_attached: true, other_config: { multipathed: 'true', 'mpath-36001405abc': '[1, 2]' } }),
      ev('vm', 'OpaqueRef:v1', { name_label: 'web', power_state: 'Running' }),
      ev('vm', 'OpaqueRef:v2', { name_label: 'tpl', is_a_template: true }),
    ]);
    const v = poolView({ pool: 'lab', connected: true, error: '', updatedAt: '', records: r }, new Map());
    expect(v.master).toBe('a');
    expect(v.hosts.map((h) => [h.name, h.isMaster, h.live, h.missingHotfixes])).toEqual([
      ['a', true, true, []],
      ['b', false, false, ['XS82E002']],
    ]);
    expect(v.hotfixesUniform).toBe(false);
    expect(v.srs[0]?.hosts.map((h) => [h.host, h.paths])).toEqual([
      ['a', [{ scsiId: '36001405abc', active: 2, total: 2 }]],
      ['b', [{ scsiId: '36001405abc', active: 1, total: 2 }]],
    ]);
    expect([v.vmsRunning, v.vmsTotal]).toEqual([1, 1]);
    applyEvents(r, [{ id: '2', timestamp: '', class: 'host', operation: 'del', ref: 'OpaqueRef:h2' }]);
    expect(poolView({ pool: 'lab', connected: true, error: '', updatedAt: '', records: r }, new Map()).hotfixesUniform).toBe(true);
    expect(normalizeRecord('host', {}).updates).toEqual([]);
  });
});

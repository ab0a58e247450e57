import { describe, expect, it } from 'vitest';
import { normalizeRecord } from './normalize-record.js';
import { NULL_REF } from './ref.js';

describe('normalizeRecord', () => {
  it('turns XML-RPC strings into numbers and booleans', () => {
    const host = normalizeRecord('host', { memory_overhead: '115130368', API_version_major: '2', enabled: 'true' });
    expect(host.memory_overhead).toBe(115130368);
    expect(host.API_version_major).toBe(2);
    expect(host.enabled).toBe(true);
  });

  it('fills what an older release does not send', () => {
    const host = normalizeRecord('host', { name_label: 'old' });
    expect(host.control_domain).toBe(NULL_REF);
    expect(host.updates).toEqual([]);
    expect(host.software_version).toEqual({});
    expect(normalizeRecord('VM', { power_state: 'Weird' }).power_state).toBe('Halted');
  });

  it('keeps refs and drops non-refs', () => {
    const pbd = normalizeRecord('PBD', { host: 'OpaqueRef:abc', SR: '' });
    expect(pbd.host).toBe('OpaqueRef:abc');
    expect(pbd.SR).toBe(NULL_REF);
  });
});

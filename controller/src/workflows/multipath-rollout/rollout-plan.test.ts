import { beforeEach, describe, expect, it } from 'vitest';
import type { RollingPlan } from '../../placement/index.js';
import { hostIsDone, multipathSetting, rolloutHostPlans, type HostProbe } from './rollout-plan.js';
import type { SrPaths } from './rollout-host-ops.js';

const GiB = 1024 ** 3;
const san = (luns: Array<[number, number]>, attached = true, multipathed = true): SrPaths => ({
  pbd: 'OpaqueRef:pbd',
  sr: 'OpaqueRef:san',
  srName: 'san',
  type: 'lvmoiscsi',
  shared: true,
  attached,
  multipathed,
  luns: luns.map(([active, total], i) => ({ scsiId: `36589cfc00000${i}`, active, total })),
});

describe('multipathSetting: what changes on the host record (XenCenter: multipathing=true, multipathhandle=dmp)', () => {
  it('a XenServer 7.1 host as installed (platform 2.2.0): both keys change, through other_config', () => {
    expect(multipathSetting({ multipathing: 'false' }, '2.2.0')).toEqual({ changes: ['multipathing false -> true', 'multipathhandle (unset) -> dmp'], method: 'other_config' });
  });
  it('an XCP-ng 8.2 host (platform 3.2.1) with mpp as handle: only the handle, through host.set_multipathing', () => {
    expect(multipathSetting({ multipathing: 'true', multipathhandle: 'mpp' }, '3.2.1')).toEqual({ changes: ['multipathhandle mpp -> dmp'], method: 'set_multipathing' });
  });
  it('both set: nothing; Kolkata itself (2.5.50) has set_multipathing, 2.5.49 does not', () => {
    expect(multipathSetting({ multipathing: 'true', multipathhandle: 'dmp' }, '2.5.50')).toEqual({ changes: [], method: 'set_multipathing' });
    expect(multipathSetting({}, '2.5.49').method).toBe('other_config');
    expect(multipathSetting({ multipathing: 'TRUE', multipathhandle: 'dmp' }, '2.5.49').changes).toEqual(['multipathing TRUE -> true']);
  });
});

describe('hostIsDone: a host the rollout leaves in service', () => {
  const base: HostProbe = { ref: 'OpaqueRef:h1', uuid: 'u1', name: 'xs1', setting: { changes: [], method: 'other_config' }, srs: [san([[2, 2]])], apply: { changed: false, diff: '', targetPath: '/etc/multipath.conf' } };
  it('stanza in place, settings set, every LUN at 2 of 2 with 2 expected: done', () => {
    expect(hostIsDone(base, 2)).toBe(true);
  });
  it('any one thing left makes it a host to roll out', () => {
    expect(hostIsDone({ ...base, apply: { changed: true, diff: '+x', targetPath: '/etc/multipath.conf' } }, 2)).toBe(false);
    expect(hostIsDone({ ...base, setting: { changes: ['multipathhandle (unset) -> dmp'], method: 'other_config' } }, 2)).toBe(false);
    expect(hostIsDone({ ...base, srs: [san([[2, 2], [1, 2]])] }, 2)).toBe(false);
    expect(hostIsDone({ ...base, srs: [san([[2, 2]], true, false)] }, 2)).toBe(false);
    expect(hostIsDone({ ...base, srs: [san([], true, true)] }, 2)).toBe(false);
    expect(hostIsDone({ ...base, srs: [san([[2, 2]], false)] }, 2)).toBe(false);
    // 4 paths expected: 2 of 2 is short.
    expect(hostIsDone(base, 4)).toBe(false);
    // No answer from the agent: never taken for done.
    const { apply: _apply, ...noAgent } = base;
    expect(hostIsDone({ ...noAgent, agentError: 'UNAVAILABLE' }, 2)).toBe(false);
  });
  it('a host without shared SRs is done once the stanza and settings are', () => {
    expect(hostIsDone({ ...base, srs: [] }, 2)).toBe(true);
  });
});

describe('rolloutHostPlans: what each host gets, in the placement order', () => {
  // Hand-made plan: master xs1 goes first and its VM a moves to xs3 (which goes later: not final);
  // xs2 is done already; xs3's turn moves a (again) and b to xs1; room move r on xs3's wave.
  const plan: Pick<RollingPlan, 'hosts' | 'steps' | 'migrations'> = {
    hosts: [
      { ref: 'R3', uuid: 'u3', name: 'xs3', role: 'slave', order: 2, wave: 2, action: 'upgrade', version: '7.1.0', reason: '' },
      { ref: 'R2', uuid: 'u2', name: 'xs2', role: 'slave', order: 0, wave: 0, action: 'done', version: '7.1.0', reason: '' },
      { ref: 'R1', uuid: 'u1', name: 'xs1', role: 'master', order: 1, wave: 1, action: 'upgrade', version: '7.1.0', reason: '' },
    ],
    steps: [
      { step: 2, wave: 2, hostRef: 'R3', host: 'xs3', migrations: [], pinned: [{ vm: 'scratch', vmRef: 'V9', vmUuid: 'v9', host: 'xs3', hostRef: 'R3', code: 'VM_REQUIRES_SR', reason: '' }], freeAfterEvacuation: {} },
    ],
    migrations: [
      { step: 1, wave: 1, vm: 'a', vmRef: 'VA', vmUuid: 'va', from: 'xs1', fromRef: 'R1', to: 'xs3', toRef: 'R3', memoryBytes: 2 * GiB, requiredBytes: 2 * GiB, final: false, room: false },
      { step: 2, wave: 2, vm: 'r', vmRef: 'VR', vmUuid: 'vr', from: 'xs2', fromRef: 'R2', to: 'xs1', toRef: 'R1', memoryBytes: 1 * GiB, requiredBytes: 1 * GiB, final: true, room: true },
      { step: 2, wave: 2, vm: 'a', vmRef: 'VA', vmUuid: 'va', from: 'xs3', fromRef: 'R3', to: 'xs1', toRef: 'R1', memoryBytes: 2 * GiB, requiredBytes: 2 * GiB, final: true, room: false },
      { step: 2, wave: 2, vm: 'b', vmRef: 'VB', vmUuid: 'vb', from: 'xs3', fromRef: 'R3', to: 'xs2', toRef: 'R2', memoryBytes: 4 * GiB, requiredBytes: 4 * GiB, final: true, room: false },
    ],
  };
  const probe = (ref: string, name: string, extra: Partial<HostProbe> = {}): HostProbe => ({
    ref,
    uuid: ref.toLowerCase(),
    name,
    setting: { changes: ['multipathing false -> true', 'multipathhandle (unset) -> dmp'], method: 'other_config' },
    srs: [san([[0, 0]], true, false)].map((s) => ({ ...s, luns: [] })),
    apply: { changed: true, diff: '@@ -1 +1,4 @@\n+device {', targetPath: '/etc/multipath.conf' },
    ...extra,
  });
  const probes = new Map([
    ['R1', probe('R1', 'xs1')],
    ['R2', probe('R2', 'xs2', { setting: { changes: [], method: 'other_config' }, apply: { changed: false, diff: '', targetPath: '/etc/multipath.conf' } })],
    ['R3', probe('R3', 'xs3', { srs: [], agentError: 'UNAVAILABLE: no connection' })],
  ]);
  // Computed in each test, not at collection: Stryker's per-test coverage sees only code run in tests.
  let out: ReturnType<typeof rolloutHostPlans> = [];
  beforeEach(() => {
    out = rolloutHostPlans(plan, probes, new Map([['OpaqueRef:san', 'lvmoiscsi']]));
  });

  it('the order: xs1 (1), xs3 (2), then the host left alone', () => {
    expect(out.map((h) => [h.host, h.order, h.action, h.role])).toEqual([
      ['xs1', 1, 'rollout', 'master'],
      ['xs3', 2, 'rollout', 'slave'],
      ['xs2', 0, 'done', 'slave'],
    ]);
  });
  it("each host's moves: its own VMs, plus its wave's room moves first; none for the host left alone", () => {
    expect(out[0]?.moves).toEqual([{ vm: 'a', to: 'xs3', memoryBytes: 2 * GiB, room: false }]);
    expect(out[1]?.moves).toEqual([
      { vm: 'r', to: 'xs1', memoryBytes: 1 * GiB, room: true },
      { vm: 'a', to: 'xs1', memoryBytes: 2 * GiB, room: false },
      { vm: 'b', to: 'xs2', memoryBytes: 4 * GiB, room: false },
    ]);
    expect(out[2]?.moves).toEqual([]);
  });
  it('the stanza diff, the settings, the pinned VM, the SRs re-plugged, and the notes', () => {
    expect(out[0]).toMatchObject({ stanzaChanges: true, stanzaDiff: '@@ -1 +1,4 @@\n+device {', targetPath: '/etc/multipath.conf', multipathingChanges: ['multipathing false -> true', 'multipathhandle (unset) -> dmp'], xapiMethod: 'other_config', pinned: [] });
    expect(out[0]?.srs).toEqual([{ sr: 'san', type: 'lvmoiscsi', attached: true, multipathed: false, luns: [] }]);
    expect(out[0]?.notes).toEqual(['maintenance mode: disabled and evacuated, enabled again at the end; the VMs that left stay where they went']);
    expect(out[1]?.pinned).toEqual([{ vm: 'scratch', code: 'VM_REQUIRES_SR' }]);
    expect(out[1]?.notes).toEqual([
      'its agent did not answer: UNAVAILABLE: no connection',
      'maintenance mode: disabled and evacuated, enabled again at the end; the VMs that left stay where they went',
      'no shared iSCSI/HBA SR: nothing to re-plug, no paths to wait for',
    ]);
    expect(out[2]?.notes).toEqual(['nothing to change: the stanza is in place, multipathing is on and every LUN has its paths']);
    expect(out[2]?.stanzaChanges).toBe(false);
  });
});

describe('rolloutHostPlans: hosts without a probe, excluded, or without a step', () => {
  const plan: Pick<RollingPlan, 'hosts' | 'steps' | 'migrations'> = {
    hosts: [
      { ref: 'RA', uuid: 'ua', name: 'a-host', role: 'slave', order: 0, wave: 0, action: 'excluded', version: '8.2.1', reason: '' },
      { ref: 'RZ', uuid: 'uz', name: 'z-host', role: 'slave', order: 2, wave: 2, action: 'upgrade', version: '8.2.1', reason: '' },
      { ref: 'RM', uuid: 'um', name: 'm-host', role: 'master', order: 1, wave: 1, action: 'upgrade', version: '8.2.1', reason: '' },
      { ref: 'RB', uuid: 'ub', name: 'b-host', role: 'slave', order: 0, wave: 0, action: 'done', version: '8.2.1', reason: '' },
    ],
    steps: [],
    migrations: [],
  };
  const m = (): HostProbe => ({
    ref: 'RM',
    uuid: 'um',
    name: 'm-host',
    setting: multipathSetting({}, '3.2.1'),
    srs: [{ ...san([[1, 4], [4, 4]]), srName: 'fc', sr: 'OpaqueRef:fc', type: 'lvmohba' }],
    apply: { changed: false, diff: '', targetPath: '/etc/multipath/conf.d/starwind.conf' },
  });
  let out: ReturnType<typeof rolloutHostPlans> = [];
  beforeEach(() => {
    out = rolloutHostPlans(plan, new Map([['RM', m()]]), new Map([['OpaqueRef:fc', 'lvmohba']]));
  });

  it('turns first, then the hosts left alone by name', () => {
    expect(out.map((h) => h.host)).toEqual(['m-host', 'z-host', 'a-host', 'b-host']);
  });
  it('a probed host: its LUNs as SM reports them, the settings that change from unset', () => {
    expect(out[0]).toMatchObject({ targetPath: '/etc/multipath/conf.d/starwind.conf', stanzaChanges: false, stanzaDiff: '', xapiMethod: 'set_multipathing', multipathingChanges: ['multipathing (unset) -> true', 'multipathhandle (unset) -> dmp'], pinned: [] });
    expect(out[0]?.srs).toEqual([{ sr: 'fc', type: 'lvmohba', attached: true, multipathed: true, luns: ['mpath-36589cfc000000 [1, 4]', 'mpath-36589cfc000001 [4, 4]'] }]);
  });
  it('no probe: empty facts, never made up', () => {
    expect(out[1]).toEqual({
      host: 'z-host', uuid: 'uz', order: 2, role: 'slave', action: 'rollout', targetPath: '', stanzaChanges: false, stanzaDiff: '', multipathingChanges: [], xapiMethod: '', moves: [], pinned: [], srs: [],
      notes: ['maintenance mode: disabled and evacuated, enabled again at the end; the VMs that left stay where they went'],
    });
  });
  it('excluded and done hosts say so, and get no moves', () => {
    expect(out[2]).toMatchObject({ action: 'excluded', notes: ['excluded: not changed, not evacuated; it may receive VMs'], moves: [] });
    expect(out[3]).toMatchObject({ action: 'done', moves: [] });
  });

  it('an agent that did not answer: no stanza facts; an SR of a type not given: no type', () => {
    const { apply: _apply, ...rest } = m();
    const [p] = rolloutHostPlans(plan, new Map([['RM', { ...rest, agentError: 'DEADLINE_EXCEEDED' }]]), new Map());
    expect(p).toMatchObject({ host: 'm-host', targetPath: '', stanzaChanges: false, stanzaDiff: '' });
    expect(p?.srs.map((x) => x.type)).toEqual(['']);
    expect(p?.notes[0]).toBe('its agent did not answer: DEADLINE_EXCEEDED');
  });
});

import { describe, expect, it } from 'vitest';
import { XapiDb } from '../../xapi-db.js';
import { hostSeesSr, vmSrs } from './upgrade-sim-state.js';

/**
 * The evacuation checks' storage index (VM -> SRs of its disks, host -> attached SRs) is kept
 * until a VBD, VDI, PBD or VM changes, not rebuilt on every call: it must still follow each of
 * those changes, and survive the writes of other classes (every call's task).
 */
describe('the simulator storage index follows the rows it is built from', () => {
  it('sees disks and attachments added, unplugged and removed, across unrelated writes', () => {
    const db = new XapiDb();
    const host = db.create('host', { name_label: 'h1' });
    const sr1 = db.create('SR', { name_label: 'sr1' });
    const sr2 = db.create('SR', { name_label: 'sr2' });
    const pbd1 = db.create('PBD', { host, SR: sr1, currently_attached: true });
    const vm = db.create('VM', { name_label: 'vm1', resident_on: host });
    const vdi1 = db.create('VDI', { SR: sr1 });
    db.create('VBD', { VM: vm, VDI: vdi1, empty: false });
    expect(vmSrs(db, vm)).toEqual([sr1]);
    expect(hostSeesSr(db, host, sr1)).toBe(true);
    expect(hostSeesSr(db, host, sr2)).toBe(false);

    db.create('task', { name_label: 'a call' });
    expect(vmSrs(db, vm)).toEqual([sr1]);

    // A second disk on sr2 (VDI and VBD written), then sr2 plugged on the host (PBD created).
    const vdi2 = db.create('VDI', { SR: sr2 });
    const vbd2 = db.create('VBD', { VM: vm, VDI: vdi2, empty: false });
    expect(vmSrs(db, vm)).toEqual([sr1, sr2]);
    expect(hostSeesSr(db, host, sr2)).toBe(false);
    db.create('PBD', { host, SR: sr2, currently_attached: true });
    expect(hostSeesSr(db, host, sr2)).toBe(true);

    // Unplugged (a PBD written), a disk emptied (a VBD written), a VDI deleted.
    db.update('PBD', pbd1, { currently_attached: false });
    expect(hostSeesSr(db, host, sr1)).toBe(false);
    db.update('VBD', vbd2, { empty: true });
    expect(vmSrs(db, vm)).toEqual([sr1]);
    db.destroy('VDI', vdi1);
    expect(vmSrs(db, vm)).toEqual([]);
  });
});

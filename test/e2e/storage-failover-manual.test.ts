import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot } from '../src/fleet/fleet.js';
import { LabMonitor } from '../src/fleet/lab-monitor.js';
import { LAB_IDENTITY, StorageLab, type LabHost } from '../src/fleet/storage-lab.js';

/**
 * Issue 11: "Automatic failover is on only when the admin enables it per pool. Otherwise the
 * controller raises an alert and `xsctl storage failover --pool P --reason R` performs it under
 * the same checks." On the namespaced two-node lab (storage-failover-cli.test.ts has the setup)
 * with `automatic: false`: the master host is lost, the witness alerts and waits; the admin's
 * command without --yes moves nothing; with --yes the failover runs (IPMI fence, promotion,
 * XAPI recovered) and records the admin's reason; `storage status` shows it.
 */
const identity = `${LAB_IDENTITY.vendorId}/${LAB_IDENTITY.productId}/${LAB_IDENTITY.scsiSn}`;

interface Witness {
  automatic: boolean;
  storageMaster: string;
  alerts: string[];
  last?: { kind: string; state: string; from: string; to: string; reason: string; timelineJson: string };
}

describe.skipIf(!isRoot())('manual failover: automatic off, the alert, then `xsctl storage failover --reason`', () => {
  let lab: StorageLab;
  const witness = async () => JSON.parse((await lab.xsctl(['storage', 'witness', '--pool', 'lab', '--json'])).stdout) as Witness;
  const role = async (n: LabHost) => (await lab.kernelState(n))?.role ?? 'none';

  beforeAll(async () => {
    lab = await StorageLab.start({ automatic: false });
    await lab.startController();
  }, 400_000);

  afterAll(async () => {
    await lab?.close();
  }, 400_000);

  it('alerts and waits for the admin; the command says what it would do, then does it with the reason recorded', async () => {
    await lab.until('the witness sees xs1 serving', async () => ((await witness()).storageMaster === 'xs1' ? true : undefined), 120_000);
    expect((await witness()).automatic).toBe(false);
    const before = await lab.inquiry(5_000);
    expect(before === null ? null : `${before.vendor}/${before.product}/${before.serial}`).toBe(identity);
    const mon = new LabMonitor(lab);
    await lab.loseHost('xs1');
    mon.mark();
    // The witness alerts once the master has been silent past detectAfterMs (6 s in the lab) ...
    const alerted = await lab.until('the alert', async () => {
      const w = await witness();
      return w.alerts.length > 0 ? w : undefined;
    }, 120_000);
    expect(alerted.alerts.join('\n')).toMatch(/xs1/);
    // ... and promotes nobody by itself: a further 8 s, no workflow, xs2 still Secondary.
    await new Promise((r) => setTimeout(r, 8_000));
    expect((await witness()).last).toBeUndefined();
    expect(await role('xs2')).toBe('Secondary');

    const reason = 'xs1 lost power (rack 3 PDU)';
    // Without --yes: the checks run and name what it would fence and promote; nothing moves.
    const dry = await lab.xsctl(['storage', 'failover', '--pool', 'lab', '--reason', reason]);
    expect(dry.exitCode).not.toBe(0);
    expect(dry.stderr).toMatch(/fences xs1 and promotes xs2.*--yes/);
    expect((await witness()).last).toBeUndefined();
    // An empty reason is refused before anything is asked.
    const empty = await lab.xsctl(['storage', 'failover', '--pool', 'lab', '--reason', ' ', '--yes']);
    expect(empty.exitCode).not.toBe(0);
    expect(empty.stderr).toMatch(/--reason is empty/);

    const run = await lab.xsctl(['storage', 'failover', '--pool', 'lab', '--reason', reason, '--yes'], 400_000);
    expect(run.exitCode, run.stderr).toBe(0);
    // Live progress on stderr, step by step, ending with the timeline.
    expect(run.stderr).toMatch(/fence/);
    expect(run.stderr).toMatch(/timeline: /);
    const m = await mon.stop();
    const w = await witness();
    expect(w.last).toMatchObject({ kind: 'storage-failover', state: 'done', from: 'xs1', to: 'xs2', reason: `manual: ${reason}` });
    expect(Object.keys(JSON.parse(w.last?.timelineJson ?? '{}') as object)).toEqual(expect.arrayContaining(['detected', 'fenced', 'promoted', 'served', 'xapiRecovered']));
    // Fenced by the BMC, promoted, served on the floating IP with the same identity.
    expect((await readFile(lab.bmcs.get('xs1')!.stateFile, 'utf8')).trim()).toBe('0');
    expect(await role('xs2')).toBe('Primary');
    expect(await lab.ipHolders()).toEqual(['xs2']);
    const after = await lab.until('the LUN on the floating IP', () => lab.inquiry(5_000).then((x) => x ?? undefined), 60_000);
    expect(`${after.vendor}/${after.product}/${after.serial}`).toBe(identity);
    expect(m).toMatchObject({ dualPrimary: 0, dualFloatingIp: 0, promotionsWithoutUpToDate: 0, identities: [identity] });

    // `xsctl storage status` (as an admin reads it): the roles, the witness, the last failover and its reason.
    const status = await lab.xsctl(['storage', 'status', '--pool', 'lab']);
    // Exit 1 (FINDINGS, docs/CLI.md): xs1 is powered off, and said so under PROBLEMS.
    expect(status.exitCode, status.stderr).toBe(1);
    expect(status.stdout).toMatch(/PROBLEMS:[\s\S]*xs1/);
    expect(status.stdout).toMatch(/witness: storage master xs2; automatic failover off/);
    expect(status.stdout).toContain(`last failover: `);
    expect(status.stdout).toContain(`xs1 -> xs2 (done); reason: manual: ${reason}`);
  }, 600_000);
});

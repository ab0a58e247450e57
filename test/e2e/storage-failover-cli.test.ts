import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot } from '../src/fleet/fleet.js';
import { LabMonitor } from '../src/fleet/lab-monitor.js';
import { LAB_IDENTITY, StorageLab, type LabHost } from '../src/fleet/storage-lab.js';

/**
 * Switchover and failover as an admin drives them: the CLI -> the controller (its own process,
 * journal, witness) -> the agents of two namespaced hosts with real tgtd, real drbdadm over the
 * DRBD simulator in network mode, real ip/arping; XAPI is the simulator with one listener per
 * host; fencing is ipmitool against ipmi_sim, whose power-off takes the host down. The initiator
 * is libiscsi's iscsi-inq in its own namespace, on the floating IP.
 */
const identity = `${LAB_IDENTITY.vendorId}/${LAB_IDENTITY.productId}/${LAB_IDENTITY.scsiSn}`;

describe.skipIf(!isRoot())('storage switchover and failover through the CLI, controller and agents', () => {
  let lab: StorageLab;

  const roles = async () => {
    const out: Record<string, string> = {};
    for (const n of ['xs1', 'xs2'] as LabHost[]) out[n] = lab.powered[n] ? ((await lab.kernelState(n))?.role ?? '?') : 'off';
    return out;
  };
  const poolMaster = () => String(lab.sim.db.getRecord('host', lab.sim.db.masterRef())['name_label']);
  const witness = async () => JSON.parse((await lab.xsctl(['storage', 'witness', '--pool', 'lab', '--json'])).stdout) as { storageMaster: string; last?: { kind: string; state: string; from: string; to: string; reason: string; timelineJson: string } };

  beforeAll(async () => {
    lab = await StorageLab.start({ automatic: true });
    await lab.startController();
  }, 400_000);

  afterAll(async () => {
    await lab?.close();
  }, 400_000);

  it('without --yes only the checks run; nothing moves', async () => {
    const r = await lab.xsctl(['storage', 'switchover', '--pool', 'lab']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/send confirm/);
    expect(await roles()).toEqual({ xs1: 'Primary', xs2: 'Secondary' });
  }, 400_000);

  it('switches over xs1 -> xs2 and back, the initiator seeing the same LUN; the pool master follows', async () => {
    const mon = new LabMonitor(lab);
    const there = await lab.xsctl(['storage', 'switchover', '--pool', 'lab', '--yes']);
    expect(there.exitCode, there.stderr).toBe(0);
    expect(there.stderr).toMatch(/demote:xs1 .*done[\s\S]*promote:xs2 .*done[\s\S]*verify[\s\S]*designate-master[\s\S]*done/);
    expect(await roles()).toEqual({ xs1: 'Secondary', xs2: 'Primary' });
    expect(await lab.ipHolders()).toEqual(['xs2']);
    expect(poolMaster()).toBe('xs2');
    expect((await witness()).last).toMatchObject({ kind: 'storage-switchover', state: 'done', to: 'xs2' });
    const back = await lab.xsctl(['storage', 'switchover', '--pool', 'lab', '--yes']);
    expect(back.exitCode, back.stderr).toBe(0);
    expect(await roles()).toEqual({ xs1: 'Primary', xs2: 'Secondary' });
    expect(await lab.ipHolders()).toEqual(['xs1']);
    expect(poolMaster()).toBe('xs1');
    const m = await mon.stop();
    expect(m).toMatchObject({ dualPrimary: 0, dualFloatingIp: 0, promotionsWithoutUpToDate: 0, identities: [identity] });
    expect(m.promotions).toEqual(['xs2:UpToDate', 'xs1:UpToDate']);
    // Recorded for the report: the longest the initiator went without an answer.
    console.log(`switchover there and back: longest initiator gap ${m.longestGapMs} ms over ${m.probes} probes`);
    expect(m.answered).toBeGreaterThan(5);
  }, 400_000);

  it('refuses while the peer is not Connected, naming the host and the reason', async () => {
    await lab.fleet.cutLink('xs2', 'eth1');
    await lab.until('xs2 sees the replication link gone', async () => ((await lab.drbdState('xs2'))?.connection !== 'Connected' ? true : undefined), 40_000);
    // The master keeps the witness: no failover (its agent answers, rule 3 needs the link down AND the master lost).
    const r = await lab.xsctl(['storage', 'switchover', '--pool', 'lab', '--yes']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/STORAGE_PEER_NOT_CONNECTED|iscsi1 on xs2 is WFConnection, not Connected/);
    expect(await roles()).toEqual({ xs1: 'Primary', xs2: 'Secondary' });
    await lab.fleet.restoreLink('xs2', 'eth1');
    await lab.until('Connected again', async () => ((await lab.drbdState('xs2'))?.connection === 'Connected' && (await lab.drbdState('xs1'))?.connection === 'Connected' ? true : undefined), 60_000);
  }, 400_000);

  it('a switchover whose controller is SIGKILLed mid-run resumes on restart and finishes', async () => {
    await lab.stopController();
    // Journal writes: start, check intent/result, demote intent ... the kill lands after the demote's intent.
    await lab.startController({ XSCTL_TEST_KILL_AFTER_JOURNAL_WRITE: '4' });
    const r = await lab.xsctl(['storage', 'switchover', '--pool', 'lab', '--yes']);
    expect(r.exitCode).not.toBe(0);
    await lab.controller?.child.catch(() => undefined);
    lab.controller = null;
    await lab.startController();
    const w = await lab.until('the resumed switchover finishes', async () => {
      const s = await witness();
      return s.last?.kind === 'storage-switchover' && s.last.state === 'done' && s.last.to === 'xs2' ? s : undefined;
    }, 400_000);
    expect(w.last?.from).toBe('xs1');
    expect(await roles()).toEqual({ xs1: 'Secondary', xs2: 'Primary' });
    expect(await lab.ipHolders()).toEqual(['xs2']);
    expect(await lab.inquiry()).toEqual({ vendor: LAB_IDENTITY.vendorId, product: LAB_IDENTITY.productId, serial: LAB_IDENTITY.scsiSn });
    const log = await readFile(lab.controllerLog, 'utf8');
    expect(log).toMatch(/resumed workflows after a restart/);
    // Back to xs1 for the failover below (xs1 is storage and pool master).
    const back = await lab.xsctl(['storage', 'switchover', '--pool', 'lab', '--yes']);
    expect(back.exitCode, back.stderr).toBe(0);
    expect(poolMaster()).toBe('xs1');
  }, 400_000);

  it('unplanned: the master host dies; the witness fences it by IPMI, promotes xs2, moves the IP, recovers XAPI; the controller finds the new pool master', async () => {
    // The witness must have read the pool (its hosts and their addresses) while the master lived.
    await lab.until('the witness sees xs1 serving', async () => ((await witness()).storageMaster === 'xs1' ? true : undefined), 120_000);
    const mon = new LabMonitor(lab);
    const web1 = lab.sim.db.find('VM', (v) => v['name_label'] === 'web-1')[0]![0];
    const lostAt = Date.now();
    await lab.loseHost('xs1');
    mon.mark();
    const w = await lab.until('the failover finishes', async () => {
      const s = await witness();
      return s.last?.kind === 'storage-failover' && s.last.state === 'done' ? s : undefined;
    }, 400_000);
    const m = await mon.stop();
    expect(w.last).toMatchObject({ from: 'xs1', to: 'xs2' });
    expect(w.last?.reason).toMatch(/storage master xs1 lost/);
    const timeline = JSON.parse(w.last?.timelineJson ?? '{}') as Record<string, string>;
    expect(Object.keys(timeline)).toEqual(['lastHeartbeat', 'detected', 'fenced', 'promoted', 'served', 'xapiRecovered']);
    const at = Object.values(timeline).map((t) => Date.parse(t));
    expect(at).toEqual([...at].sort((a, b) => a - b));
    // lastHeartbeat is the master's last answer to the witness: at most a few polls before its death.
    expect(at[0]!).toBeGreaterThan(lostAt - 30_000);
    // detected is when the witness declared it lost: no earlier than the lab's detectAfterMs (6 s) of silence.
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(6_000);
    // Fenced by the BMC: ipmi_sim's chassis recorded the power-off.
    expect((await readFile(lab.bmcs.get('xs1')!.stateFile, 'utf8')).trim()).toBe('0');
    expect((await roles()).xs2).toBe('Primary');
    expect(await lab.ipHolders()).toEqual(['xs2']);
    expect(m).toMatchObject({ dualPrimary: 0, dualFloatingIp: 0, promotionsWithoutUpToDate: 0, identities: [identity] });
    expect(m.firstAnswerAfterMs).toBeGreaterThan(0);
    // XAPI in xapi's order: xs2 is the pool master, web-1 (xs1's) was reset and started on xs2.
    expect(poolMaster()).toBe('xs2');
    expect(lab.sim.db.getRecord('VM', web1)).toMatchObject({ power_state: 'Running', resident_on: lab.hostRef('xs2') });
    // The controller's configured XAPI URL is xs1's (dead): it finds the new master by itself.
    const hosts = await lab.xsctl(['hosts', '--pool', 'lab', '--json']);
    expect(hosts.exitCode, hosts.stderr).toBe(0);
    const rows = JSON.parse(hosts.stdout) as { hosts?: { nameLabel?: string; isMaster?: boolean }[] };
    expect(JSON.stringify(rows)).toMatch(/xs2/);
  }, 400_000);
});

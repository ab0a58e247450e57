import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { DrbdSyntax, SplitBrainState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { StepOutcome, StorageRole } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { CliError } from '../../output/cli-error.js';
import { parseNodeFlag, renderOffline, resourcesFromFlags } from '../drbd/drbd.js';
import { targetsFromFlags } from '../tgt/tgt.js';
import { loadSpecFile } from './spec-file.js';
import { renderAssertRole, renderPoolStorage } from './storage.js';
import { renderWitness } from './switchover-failover.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

describe('xsctl drbd config (offline)', () => {
  it('reads --node NAME=DISK@IP:PORT, IPv6 in brackets, port 7789 by default', () => {
    expect(parseNodeFlag('XCP1=/dev/cciss/c0d1@10.10.10.1:7789')).toEqual({ hostname: 'XCP1', disk: '/dev/cciss/c0d1', address: '10.10.10.1', port: 7789 });
    expect(parseNodeFlag('xs2=/dev/sdb@[fd00::2]:7790')).toEqual({ hostname: 'xs2', disk: '/dev/sdb', address: 'fd00::2', port: 7790 });
    expect(parseNodeFlag('xs2=/dev/sdb@10.0.0.2')).toMatchObject({ port: 7789 });
    expect(() => parseNodeFlag('xs2:/dev/sdb')).toThrow(CliError);
  });

  it('prints a drbd.conf that the real drbdadm 8.4 parses (secret from a file)', async () => {
    const dir = await tempDir('xsctl-cli-drbd-');
    await writeFile(join(dir, 'secret'), 'PUTyourSECREThere\n');
    const resources = await resourcesFromFlags({ resource: 'iscsi1', minor: '1', node: ['XCP1=/dev/sdb@10.10.10.1:7789', 'XCP2=/dev/sdb@10.10.10.2:7789'], sharedSecretFile: join(dir, 'secret') });
    const out = renderOffline(resources, '8.4');
    expect(out.syntax).toBe(DrbdSyntax.DRBD_SYNTAX_V84);
    expect(out.config).toContain('shared-secret "PUTyourSECREThere";');
    await writeFile(join(dir, 'drbd.conf'), out.config);
    const r = await execa('drbdadm', ['-c', join(dir, 'drbd.conf'), 'sh-nop'], { reject: false, env: { DRBD_DRIVER_VERSION_OVERRIDE: '8.4.11', __DRBD_NODE__: 'XCP2' } });
    expect(r.exitCode).toBe(0);
    expect(() => renderOffline(resources, '8.5')).toThrow(CliError);
  });
});

describe('storage spec files and xsctl tgt config', () => {
  it('reads secrets from files next to the spec and refuses them inline', async () => {
    const dir = await tempDir('xsctl-cli-spec-');
    await writeFile(join(dir, 'chap'), 'Xs-CHAP-secret-42\n');
    await writeFile(
      join(dir, 'storage.yaml'),
      [
        'drbdResources: [iscsi1]',
        'target:',
        '  tid: 1',
        '  iqn: iqn.2013-05.com.example:xsctl.iscsi1',
        '  luns: [{ lun: 10, backingStore: /dev/drbd1, scsiId: XSCTL-ISCSI1, scsiSn: XS0000000001, vendorId: XSCTL, productId: DRBD-HA-LUN }]',
        '  initiatorAddresses: [10.10.10.0/24]',
        '  incomingUser: { user: xsinit, passwordFile: chap }',
        'floatingIp: { address: 10.10.10.3, prefixLength: 24, interface: xapi1 }',
        '',
      ].join('\n'),
    );
    const spec = await loadSpecFile(join(dir, 'storage.yaml'));
    expect(spec.storage.target?.incomingUser).toEqual({ user: 'xsinit', password: 'Xs-CHAP-secret-42' });
    expect(spec.storage.floatingIp).toMatchObject({ address: '10.10.10.3', interface: 'xapi1' });
    await writeFile(join(dir, 'bad.yaml'), 'target: { incomingUser: { user: u, password: inline-secret-123 } }\n');
    await expect(loadSpecFile(join(dir, 'bad.yaml'))).rejects.toMatchObject({ code: 'SPEC_INVALID' });
    // The power-off claim that holds a survivor's self-fence is the controller's failover's alone.
    await writeFile(join(dir, 'power.yaml'), 'drbdResources: [iscsi1]\npeerSafety: { peerFenced: true, peerFencedByPower: true }\n');
    await expect(loadSpecFile(join(dir, 'power.yaml'))).rejects.toMatchObject({ code: 'SPEC_INVALID', message: expect.stringContaining('peerSafety.peerFencedByPower') });
    const targets = await targetsFromFlags({ spec: join(dir, 'storage.yaml'), tid: '1', lun: '1', initiatorAddress: [], initiatorName: [] });
    expect(targets[0]?.luns[0]?.scsiSn).toBe('XS0000000001');
  });

  it('insists on the full SCSI identity when built from flags', async () => {
    await expect(targetsFromFlags({ iqn: 'iqn.2013-05.com.example:x', tid: '1', lun: '10', backingStore: '/dev/drbd1', initiatorAddress: ['ALL'], initiatorName: [] })).rejects.toMatchObject({
      code: 'BAD_FLAG',
      message: 'missing --scsi-id, --scsi-sn, --vendor-id, --product-id',
    });
  });
});

describe('rendering', () => {
  const drbd = (patch: object) => ({ name: 'iscsi1', minor: 1, role: 'Secondary', peerRole: 'Primary', disk: 'UpToDate', peerDisk: 'UpToDate', connection: 'Connected', replication: 'Established', peer: '', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_NONE, splitBrainEvidence: '', ...patch });
  const status = (patch: object) => ({ hostname: '', drbd: [], drbdVersion: undefined, tgtdRunning: false, targets: [], floatingIpPresent: false, floatingIp: '10.10.10.3', apparentRole: 'slave', bootEnabled: [], warnings: [], haProcessesRunning: [], haLizardInstalled: false, floatingIpMac: '', ...patch });

  it('storage status: both nodes side by side, problems after the table', () => {
    const text = renderPoolStorage({
      pool: 'lab',
      hosts: [
        { host: 'xs1', isMaster: true, status: status({ drbd: [drbd({ role: 'Primary', peerRole: 'Secondary', replication: 'SyncSource', syncPercent: 42.4 })], tgtdRunning: true, floatingIpPresent: true, apparentRole: 'master', targets: [{ tid: 1, iqn: 'iqn.2013-05.com.example:x', driver: 'iscsi', state: 'ready', nexuses: [{ nexusId: 1, initiator: 'i', initiatorAlias: '', connections: [] }], luns: [], accounts: [], acls: [] }] }), errorCode: '', errorMessage: '' },
        { host: 'xs2', isMaster: false, status: status({ drbd: [drbd({})], bootEnabled: ['tgt'], warnings: ['tgt is enabled at boot: disable it, the storage role starts it (rule 8)'] }), errorCode: '', errorMessage: '' },
      ],
      problems: ['SPLIT BRAIN: example'],
    });
    expect(text.split('\n').slice(0, 11)).toEqual([
      '                  xs1 (pool master)                              xs2',
      'apparent role     master                                         slave',
      'drbd iscsi1 role  Primary/Secondary                              Secondary/Primary',
      '  disk            UpToDate/UpToDate                              UpToDate/UpToDate',
      '  connection      Connected                                      Connected',
      '  sync            SyncSource 42.4%                               -',
      '  split brain     none                                           none',
      'tgtd              running                                        stopped',
      'targets           1:iqn.2013-05.com.example:x ready, 1 sessions  -',
      'floating IP       10.10.10.3 here                                not here',
      'enabled at boot   -                                              tgt',
    ]);
    expect(text).toContain('\nPROBLEMS:\n  SPLIT BRAIN: example\n');
    expect(text).toContain('\nWarnings:\n  xs2: tgt is enabled at boot');
  });

  it('assert-role: each step with its outcome; the failed one named', () => {
    const text = renderAssertRole('xs2', {
      role: StorageRole.STORAGE_ROLE_MASTER,
      ok: false,
      failedStep: 'drbd-primary:iscsi1',
      unchanged: false,
      floatingIpAnsweredBy: [],
      steps: [
        { name: 'drbd-primary:iscsi1', outcome: StepOutcome.STEP_OUTCOME_FAILED, detail: 'refusing to promote iscsi1: the peer is Primary; demote it first', errorCode: 'DRBD_PEER_PRIMARY', durationMs: 40 },
        { name: 'tgtd', outcome: StepOutcome.STEP_OUTCOME_SKIPPED, detail: 'not reached: drbd-primary:iscsi1 failed', errorCode: '', durationMs: 0 },
      ],
    });
    expect(text).toBe(
      [
        'xs2: master FAILED at drbd-primary:iscsi1',
        'STEP                 OUTCOME  MS  DETAIL',
        'drbd-primary:iscsi1  failed   40  DRBD_PEER_PRIMARY: refusing to promote iscsi1: the peer is Primary; demote it first',
        'tgtd                 skipped  0   not reached: drbd-primary:iscsi1 failed',
        '',
      ].join('\n'),
    );
  });
});

describe('xsctl storage status: the witness', () => {
  const base = { pool: 'lab', automatic: true, storageMaster: 'xs1', hosts: [], alerts: [] };
  const last = { workflowId: 'wf-1', kind: 'storage-failover', state: 'failed', reason: 'storage master xs1 lost', from: 'xs1', to: 'xs2', timelineJson: '{}', at: '2026-12-05T03:00:00.000Z', error: '', errorCode: '' };

  it('a failed failover shows its typed code and the refusal naming the rule', () => {
    const error = "xs2's copy of iscsi1 is Inconsistent, not UpToDate: promoting it would serve stale data (rule 1)";
    const text = renderWitness({ ...base, last: { ...last, error, errorCode: 'STORAGE_SURVIVOR_NOT_UP_TO_DATE' } });
    expect(text).toContain(`FAILED (STORAGE_SURVIVOR_NOT_UP_TO_DATE): ${error}\n`);
  });

  it('a finished one has no FAILED line', () => {
    expect(renderWitness({ ...base, last: { ...last, state: 'done' } })).not.toContain('FAILED');
  });

  // A survivor promoted after IPMI powered its peer off holds its self-fence (issue 11): the admin sees it.
  const view = { hostname: 'xs2', drbd: [], replicationConnected: false, replicationReachable: false, managementReachable: false, heldRole: 'master', witnessSilenceMs: 0, selfFenced: false, selfFencedAt: '', observedAgeMs: 0, warnings: [], floatingIpPresent: true, floatingIpAnswersElsewhere: false, peerFencedHold: true, peerFencedHoldSince: '2026-12-05T14:02:03.456Z' };
  const host = (v: typeof view) => ({ ...base, last: undefined, hosts: [{ host: 'xs2', reachable: true, lastSeen: '2026-12-05T14:05:00.000Z', view: v, error: '' }] });

  it('the peer-fenced hold shows in the SELF-FENCED column with its start', () => {
    expect(renderWitness(host(view)).split('\n')[2]).toMatch(/^xs2 .* held: peer powered off \(since 14:02:03\)$/);
  });

  it('a self-fence shows its time, not a hold; neither shows no', () => {
    expect(renderWitness(host({ ...view, selfFenced: true, selfFencedAt: '2026-12-05T14:09:00.000Z' })).split('\n')[2]).toMatch(/ 2026-12-05T14:09:00.000Z$/);
    expect(renderWitness(host({ ...view, peerFencedHold: false, peerFencedHoldSince: '' })).split('\n')[2]).toMatch(/ no$/);
  });
});

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteNamespace } from '@xsctl/test/fleet/kill-namespace';
import type { PoolStorageConfig } from '../../config/pool-storage-config.js';
import { InitiatorCheckFailedError } from './storage-workflow-errors.js';
import { verifyFromInitiator } from './verify-initiator.js';

/**
 * The switchover's last check, "verify from an initiator's point of view" (issue 11): libiscsi's
 * iscsi-inq against the real tgtd, in a private network namespace (its portal stays off the host)
 * with a LUN whose vendor, product and serial are set by tgtadm as the agent sets them (rule 7).
 * A second namespace has no target at all.
 */
const root = process.getuid?.() === 0;
const id = randomBytes(3).toString('hex');
const ns = `xsctl-vi${id}`;
const empty = `xsctl-vi${id}-e`;
const IQN = 'iqn.2013-05.com.example:xsctl.verify';
// tgtd's control port names its socket (/var/run/tgtd/socket.N, shared by every namespace), so it is
// random; tgtd refuses -C above 32767 ('out of range', exit 34), and the storage lab takes 10000-19000.
const port = String(20_000 + Math.floor(Math.random() * 10_000));
let dir = '';

const tgtadm = (args: string[]) => execa('ip', ['netns', 'exec', ns, 'tgtadm', '-C', port, '--lld', 'iscsi', ...args]);

/** Only what verifyFromInitiator reads of the pool's storage section. */
function storage(o: { serial?: string; via?: string[]; timeoutMs?: number; probe?: boolean; luns?: boolean } = {}): PoolStorageConfig {
  return {
    spec: {
      target: { tid: 1, iqn: IQN, luns: o.luns === false ? [] : [{ lun: 1, backingStore: '', scsiId: 'XSCTL-V1', scsiSn: o.serial ?? 'XSVERIFY0001', vendorId: 'XSCTL', productId: 'VERIFY-LUN', bsType: '' }], initiatorAddresses: ['ALL'], initiatorNames: [], incomingUser: undefined },
      floatingIp: { address: '127.0.0.1', prefixLength: 8, interface: 'lo', garpCount: 0 },
    },
    initiatorProbe: o.probe === false ? null : { via: o.via ?? ['ip', 'netns', 'exec', ns], timeoutMs: o.timeoutMs ?? 10_000 },
  } as unknown as PoolStorageConfig;
}

describe.skipIf(!root)('verifyFromInitiator: what an initiator sees on the floating IP (real tgtd, iscsi-inq)', () => {
  beforeAll(async () => {
    for (const n of [ns, empty]) {
      await execa('ip', ['netns', 'add', n]);
      await execa('ip', ['-n', n, 'link', 'set', 'lo', 'up']);
    }
    dir = await mkdtemp(join(tmpdir(), 'xsctl-verify-'));
    const image = join(dir, 'lun1.img');
    await writeFile(image, Buffer.alloc(8 * 1024 * 1024));
    await execa('ip', ['netns', 'exec', ns, 'tgtd', '-C', port]);
    for (let i = 0; ; i++) {
      if ((await tgtadm(['--op', 'show', '--mode', 'target']).catch(() => null)) !== null) break;
      if (i > 50) throw new Error('tgtd did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    await tgtadm(['--op', 'new', '--mode', 'target', '--tid', '1', '--targetname', IQN]);
    await tgtadm(['--op', 'new', '--mode', 'logicalunit', '--tid', '1', '--lun', '1', '--backing-store', image]);
    await tgtadm(['--op', 'update', '--mode', 'logicalunit', '--tid', '1', '--lun', '1', '--params', 'scsi_id=XSCTL-V1,scsi_sn=XSVERIFY0001,vendor_id=XSCTL,product_id=VERIFY-LUN']);
    await tgtadm(['--op', 'bind', '--mode', 'target', '--tid', '1', '--initiator-address', 'ALL']);
  }, 30_000);

  afterAll(async () => {
    for (const n of [ns, empty]) await deleteNamespace(n);
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('returns the identity the LUN answers with when it is the one the spec fixes', async () => {
    const r = await verifyFromInitiator(storage(), AbortSignal.timeout(30_000));
    expect(r).toMatchObject({ identity: { vendor: 'XSCTL', product: 'VERIFY-LUN', serial: 'XSVERIFY0001' } });
  }, 30_000);

  it('another serial is a failed check at once (rule 7), not a retry until the timeout', async () => {
    const err = await verifyFromInitiator(storage({ serial: 'XSVERIFY0002', timeoutMs: 60_000 }), AbortSignal.timeout(30_000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InitiatorCheckFailedError);
    expect(err).toMatchObject({ code: 'STORAGE_INITIATOR_CHECK_FAILED', address: '127.0.0.1', reason: 'saw XSCTL/VERIFY-LUN/XSVERIFY0001, expected XSCTL/VERIFY-LUN/XSVERIFY0002' });
  }, 30_000);

  it('nobody on the address: retried, then a failed check naming the bound and the last failure', async () => {
    const err = await verifyFromInitiator(storage({ via: ['ip', 'netns', 'exec', empty], timeoutMs: 1_500 }), AbortSignal.timeout(30_000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InitiatorCheckFailedError);
    expect((err as InitiatorCheckFailedError).reason).toMatch(/^no answer within 1500 ms \(iscsi-inq failed \(exit \d+\)\)$/);
  }, 30_000);

  it('is skipped, saying why, without a probe configured or a LUN in the spec', async () => {
    await expect(verifyFromInitiator(storage({ probe: false }), AbortSignal.timeout(5_000))).resolves.toEqual({ skipped: 'no initiatorProbe configured' });
    await expect(verifyFromInitiator(storage({ luns: false }), AbortSignal.timeout(5_000))).resolves.toEqual({ skipped: 'no LUN in the spec' });
  });
});

import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { StorageSetupOptions } from '@xsctl/proto/gen/xsctl/controller/v1/storage_setup';
import { Journal } from '../../journal/journal.js';
import type { ControllerContext } from '../../server/controller-context.js';
import { storageSetupService } from './storage-setup-service.js';

/** A context that fails any use past the options check: a refused request must not get that far. */
function refusingContext(): { ctx: ControllerContext; asked: string[] } {
  const asked: string[] = [];
  const ctx = {
    journal: new Journal(':memory:'),
    logger: pino({ level: 'silent' }),
    pool: (name: string) => {
      asked.push(name);
      throw new Error(`pool ${name} asked for`);
    },
  } as unknown as ControllerContext;
  return { ctx, asked };
}

const call = { signal: new AbortController().signal } as never;

describe("the power-off claim is the controller's failover's alone (issue 11's peer-fenced hold)", () => {
  it('Plan and Start refuse options.spec.storage.peerSafety.peerFencedByPower before reading the pool', async () => {
    const { ctx, asked } = refusingContext();
    const svc = storageSetupService(ctx);
    const options = StorageSetupOptions.fromPartial({ pool: 'lab', spec: { storage: { drbdResources: ['iscsi1'], peerSafety: { peerFenced: true, peerFencedByPower: true } } } });
    await expect(svc.plan({ options }, call)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'options.spec.storage.peerSafety.peerFencedByPower' });
    await expect((svc.start({ options, confirm: true }, call) as AsyncGenerator<unknown>).next()).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'options.spec.storage.peerSafety.peerFencedByPower' });
    expect(asked).toEqual([]);
    // Without the claim the same options get past the check (to the pool, here refused).
    const plain = StorageSetupOptions.fromPartial({ pool: 'lab', spec: { storage: { drbdResources: ['iscsi1'], peerSafety: { peerFenced: true } } } });
    await expect(svc.plan({ options: plain }, call)).rejects.toThrow('pool lab asked for');
    expect(asked).toEqual(['lab']);
  });
});

describe("the pool's failover timer must leave DRBD time to see a dead master (rule 3; drbd-net-timers.ts)", () => {
  /** A pool with a storage section whose detectAfterMs is given; planSetup past the check is refused by a marker. */
  function poolContext(detectAfterMs: number | undefined): ControllerContext {
    const failover = detectAfterMs === undefined ? undefined : { automatic: true, detectAfterMs, selfFenceAfterMs: 200, selfFenceTeardownMs: 200, holdDownMs: 0, pollIntervalMs: 500 };
    return {
      journal: new Journal(':memory:'),
      logger: pino({ level: 'silent' }),
      pool: (name: string) => ({ name, hosts: [], storage: failover === undefined ? undefined : { failover } }),
      poolHosts: () => {
        throw new Error('past the check');
      },
    } as unknown as ControllerContext;
  }
  const options = StorageSetupOptions.fromPartial({ pool: 'lab', spec: { storage: { drbdResources: ['iscsi1'] } } });
  // ping-int 1 s + ping-timeout 0.5 s, and 0.5 s for the survivor's report: 2000 ms.
  it.each([500, 1_999])('Plan and Start refuse detectAfterMs %i with SETUP_DRBD_DETECTION_TOO_SLOW before touching a host', async (ms) => {
    const svc = storageSetupService(poolContext(ms));
    const refused = { code: 'SETUP_DRBD_DETECTION_TOO_SLOW', detectAfterMs: ms, neededMs: 2_000, drbdSeesDeadPeerMs: 1_500 };
    await expect(svc.plan({ options }, call)).rejects.toMatchObject(refused);
    await expect((svc.start({ options, confirm: true }, call) as AsyncGenerator<unknown>).next()).rejects.toMatchObject(refused);
  });

  it.each([2_000, 3_000, undefined])('detectAfterMs %s (3000 is the default; none: no storage section) gets past the check', async (ms) => {
    const svc = storageSetupService(poolContext(ms));
    const plan = svc.plan({ options }, call);
    await expect(plan).rejects.toThrow('past the check');
  });
});

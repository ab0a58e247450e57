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

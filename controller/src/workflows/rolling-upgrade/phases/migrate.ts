import { CapacityState } from '../../../placement/capacity-state.js';
import { mayGo } from '../../../placement/roles.js';
import { buildPoolModel } from '../../../pool-model/pool-model.js';
import { readPoolInput } from '../../../pool-model/read-pool-input.js';
import { asRef } from '../../../xapi/ref.js';
import { XapiError } from '../../../xapi/xapi-error.js';
import type { StepIo } from '../../engine/workflow-engine.js';
import type { PlannedRun } from '../run-context.js';
import { isTransient } from '../retry.js';
import { CannotEvacuateError } from '../upgrade-errors.js';
import type { MoveOutcome } from './host-stage.js';
import type { RecheckedMove } from './wave-recheck.js';

/**
 * One live migration as a journaled step. After a crash the step asks XAPI: the task it noted
 * (followed to its end), else where the VM is now. A migration XAPI refuses or that fails is
 * retried once, on a fresh placement when the destination no longer fits (re-placed once).
 */
export async function migrateStep(run: PlannedRun, name: string, host: string, m: RecheckedMove, network: string): Promise<MoveOutcome> {
  const { ctx, xapi, signal } = run;
  const vmRef = asRef<'VM'>(m.vmRef);
  const landed = async (): Promise<MoveOutcome | undefined> => {
    // The controller may have died after XAPI started the migration but before noting its task:
    // while the VM is busy, wait for that operation to end, then look where it is.
    await waitVmIdle(run, m);
    const vm = await run.read(() => xapi.getRecord('VM', vmRef, { signal }));
    if (vm.power_state === 'Running' && vm.resident_on === m.toRef) return { moved: true, vm: m.vm, from: m.from, to: m.to, bytes: m.bytes };
    if (vm.power_state === 'Running' && vm.resident_on !== m.fromRef) return { moved: true, vm: m.vm, from: m.from, to: vm.resident_on, bytes: m.bytes, note: 'placed elsewhere on retry' };
    if (vm.power_state !== 'Running' || vm.resident_on !== m.fromRef) return { moved: false, vm: m.vm, from: m.from, to: m.to, bytes: 0, note: `not moved: the VM is ${vm.power_state} elsewhere` };
    return undefined;
  };
  return ctx.step<MoveOutcome>(name, {
    host,
    intent: { vm: m.vm, from: m.from, to: m.to, bytes: m.bytes, room: m.room },
    check: async (recorded, io) => {
      const task = recorded['task'];
      if (typeof task === 'string') {
        const status = await run.read(() => xapi.taskStatus(asRef<'task'>(task), { signal }));
        if (status?.status === 'pending') await xapi.awaitTask('VM.pool_migrate', asRef<'task'>(task), { signal, onProgress: (f) => io.progress({ phase: 'migrate', vm: m.vm, to: m.to, fraction: f }) }).catch(() => undefined);
      }
      return landed();
    },
    run: async (io) => {
      const vm = await run.read(() => xapi.getRecord('VM', vmRef, { signal }));
      if (vm.power_state !== 'Running' || vm.resident_on !== m.fromRef) return { moved: false, vm: m.vm, from: m.from, to: m.to, bytes: 0, note: `not moved: the VM is ${vm.power_state} elsewhere` };
      let to = m.toRef;
      for (let attempt = 0; ; attempt++) {
        try {
          await migrateOnce(run, io, m, to, network);
          return { moved: true, vm: m.vm, from: m.from, to: to === m.toRef ? m.to : to, bytes: m.bytes, ...(attempt > 0 ? { note: `attempt ${attempt + 1}` } : {}) };
        } catch (err) {
          if (attempt > 0 || isTransient(err) || signal.aborted || !(err instanceof XapiError)) throw err;
          const where = await landed();
          if (where !== undefined) return where;
          to = (await replace(run, m, to, err)) ?? to;
          ctx.emit('warning', { host, message: `${m.vm}: migration to ${m.to} failed (${err.code}); trying ${to === m.toRef ? 'again' : `another host (${to})`}` });
        }
      }
    },
  });
}

async function migrateOnce(run: PlannedRun, io: StepIo, m: RecheckedMove, to: string, network: string): Promise<void> {
  io.progress({ phase: 'migrate', vm: m.vm, to: m.to, fraction: 0 });
  const options: Record<string, string> = { live: 'true', ...(network === '' ? {} : { network }) };
  await run.xapi.callAsync('VM.pool_migrate', [asRef<'VM'>(m.vmRef), asRef<'host'>(to), options], {
    signal: run.signal,
    onTask: (task) => io.note({ task, to }),
    onProgress: (f) => io.progress({ phase: 'migrate', vm: m.vm, to: m.to, fraction: f }),
  });
}

/** Where the VM can go now, when the planned destination refused it for room (the same engine as the plan). */
async function replace(run: PlannedRun, m: RecheckedMove, failed: string, err: XapiError): Promise<string | undefined> {
  if (!['HOST_NOT_ENOUGH_FREE_MEMORY', 'HOST_OFFLINE', 'HOST_NOT_LIVE', 'HOST_DISABLED', 'VM_MIGRATE_FAILED'].includes(err.code)) return undefined;
  const model = buildPoolModel(await run.read(() => readPoolInput(run.xapi, { signal: run.signal, evacuationOf: [] })), { memoryPolicy: run.params.memoryPolicy });
  const state = CapacityState.of(model);
  const vm = model.vms.find((v) => v.ref === m.vmRef);
  const from = model.hosts.find((h) => h.ref === m.fromRef);
  if (vm === undefined || from === undefined) return undefined;
  const sequence = run.plan.hosts.filter((h) => h.action === 'upgrade');
  const wave = sequence.find((h) => h.ref === m.fromRef)?.wave ?? 0;
  const upgraded = new Set([...run.plan.hosts.filter((h) => h.action === 'done').map((h) => h.ref), ...sequence.filter((h) => h.wave < wave).map((h) => h.ref)]);
  const roles = {
    upgraded,
    down: new Set(sequence.filter((h) => h.wave === wave).map((h) => h.ref)),
    later: new Map(sequence.filter((h) => h.wave > wave).map((h) => [h.ref, h.order] as const)),
    excluded: new Set(run.plan.hosts.filter((h) => h.action === 'excluded').map((h) => h.ref)),
  };
  const options = model.hosts.filter((h) => h.ref !== failed && mayGo(vm, from, h, roles) && state.free(h.ref) >= vm.requiredBytes);
  options.sort((a, b) => Number(roles.upgraded.has(b.ref)) - Number(roles.upgraded.has(a.ref)) || state.free(a.ref) - state.free(b.ref));
  return options[0]?.ref;
}

async function waitVmIdle(run: PlannedRun, m: RecheckedMove): Promise<void> {
  let waited = 0;
  for (;;) {
    const ops = await run.read(() => run.xapi.call('VM.get_current_operations', [asRef<'VM'>(m.vmRef)], { signal: run.signal }));
    if (Object.keys(ops).length === 0) return;
    if (waited > 3_600_000) throw new CannotEvacuateError(m.from, [`VM ${m.vm} stays busy with ${Object.values(ops).join(', ')}`]);
    await run.sleep(run.params.pollIntervalMs, run.signal);
    waited += run.params.pollIntervalMs;
  }
}

import { StorageServiceDefinition, type StorageSpec } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { StorageSetupOptions, type StorageSetupEvent, type StorageSetupServiceImplementation, type StorageSetupStepState } from '@xsctl/proto/gen/xsctl/controller/v1/storage_setup';
import type { HostStorageStatus } from '@xsctl/proto/gen/xsctl/controller/v1/storage';
import { NotFoundError, ValidationError, XsctlError } from '@xsctl/common/errors/index';
import { peerIdentity } from '@xsctl/common/grpc/index';
import type { ControllerContext } from '../../server/controller-context.js';
import type { WorkflowRow } from '../../workflows/engine/workflow-store.js';
import { splitSecrets, type SetupHost, type SetupParams } from '../../workflows/storage-setup/setup-spec.js';
import { checkDrbdDetection } from '../../workflows/storage-setup/drbd-detection-check.js';
import { planSetup, setupVaultFor, STORAGE_SETUP } from '../../workflows/storage-setup/storage-setup-workflow.js';
import { workflowEvents } from '../upgrade/upgrade-events.js';
import { workflowEngineFor } from '../upgrade/upgrade-service.js';
import { ConfirmationRequiredError } from '../confirmation-required-error.js';
import { str } from '../../xapi/coerce.js';

/** The dry run found reasons the setup cannot run as asked. */
class SetupPlanRefusedError extends XsctlError {
  readonly code = 'PRECONDITION_FAILED';
}

/** The storage spec without the CHAP account: the status reads the target and IP, it needs no password. */
function statusSpec(o: StorageSetupOptions): StorageSpec | undefined {
  const s = o.spec?.storage;
  return s === undefined || s.target === undefined ? s : { ...s, target: { ...s.target, incomingUser: undefined } };
}

function optionsOf(o: StorageSetupOptions | undefined): StorageSetupOptions {
  if (o === undefined || o.pool === '') throw new ValidationError('options.pool', 'name the pool');
  if (o.spec === undefined) throw new ValidationError('options.spec', 'the setup spec (xsctl storage setup --spec FILE)');
  if (o.spec.storage?.peerSafety?.peerFencedByPower === true) throw new ValidationError('options.spec.storage.peerSafety.peerFencedByPower', "set only by the controller's failover, after its fencer read the peer's power state back off");
  return o;
}

/** `lvm:xs1` -> ['lvm', 'xs1']; `initial-sync` -> ['initial-sync', '']. */
function splitStep(name: string): [string, string] {
  const i = name.indexOf(':');
  return i < 0 ? [name, ''] : [name.slice(0, i), name.slice(i + 1)];
}

function toEvent(e: { id: number; workflowId: string; at: string; kind: string; host: string; step: string; message: string; dataJson: string; state: string }): StorageSetupEvent {
  const data = JSON.parse(e.dataJson) as Record<string, unknown>;
  const [step] = splitStep(e.step);
  return {
    id: e.id,
    workflowId: e.workflowId,
    at: e.at,
    kind: e.kind,
    step: e.step === '' ? '' : step,
    host: e.host,
    message: e.message,
    code: str(data['code']),
    percent: typeof data['percent'] === 'number' ? data['percent'] : 0,
    state: e.kind === 'workflow-finished' ? str(data['state']) || e.state : e.state,
  };
}

export function storageSetupService(ctx: ControllerContext): StorageSetupServiceImplementation {
  const engine = workflowEngineFor(ctx);
  const vault = setupVaultFor(ctx);
  /** The latest setup of the pool that a re-run with the same options continues. */
  const continuable = (pool: string, safeJson: string): WorkflowRow | undefined => {
    const last = engine.store.list({ pool, kind: STORAGE_SETUP, limit: 1 })[0];
    if (last === undefined || (last.state !== 'failed' && last.state !== 'paused')) return undefined;
    return JSON.stringify((last.params as SetupParams).options) === safeJson ? last : undefined;
  };

  return {
    async plan(request, { signal }) {
      const options = optionsOf(request.options);
      const pool = ctx.pool(options.pool);
      checkDrbdDetection(pool.name, pool.storage?.failover);
      return planSetup(ctx, pool, options, signal);
    },

    async *start(request, context) {
      const options = optionsOf(request.options);
      const pool = ctx.pool(options.pool);
      checkDrbdDetection(pool.name, pool.storage?.failover);
      // Dry run first, always: its problems (a missing --create-md) stop the setup before it starts.
      const plan = await planSetup(ctx, pool, options, context.signal);
      if (plan.problems.length > 0) throw new SetupPlanRefusedError(`the storage setup of ${pool.name} cannot run as asked: ${plan.problems.join('; ')}`);
      if (!request.confirm) throw new ConfirmationRequiredError('the storage setup changes both hosts: send confirm (xsctl --yes); use Plan to see what it would do');
      const { options: safe, secrets } = splitSecrets(options);
      const params: SetupParams = { options: StorageSetupOptions.toJSON(safe) };
      vault.set(pool.name, secrets);
      const again = continuable(pool.name, JSON.stringify(params.options));
      const row = again === undefined ? engine.start(STORAGE_SETUP, pool.name, params, peerIdentity(context)?.name ?? 'unknown') : engine.resume(again.id);
      const after = again === undefined ? 0 : (engine.events(row.id).at(-1)?.id ?? 0);
      for await (const e of workflowEvents(engine, row.id, after, context.signal)) yield { event: toEvent(e) };
    },

    async status(request, { signal }) {
      let row: WorkflowRow | undefined;
      if (request.workflowId !== '') row = engine.get(request.workflowId);
      else {
        if (request.pool === '') throw new ValidationError('pool', 'name the pool or the workflow id');
        row = engine.store.list({ pool: request.pool, kind: STORAGE_SETUP, limit: 1 })[0];
      }
      if (row === undefined) throw new NotFoundError('storage setup on pool', request.pool);
      const steps: StorageSetupStepState[] = engine.steps(row.id).map((s) => {
        const [step, host] = splitStep(s.name);
        const outcome = (s.outcome ?? {}) as Record<string, unknown>;
        const status = s.status === 'started' ? 'running' : s.status;
        return { step, host: host || s.host, status, detail: s.status === 'failed' ? str(outcome['error']) : JSON.stringify(s.outcome ?? {}), code: str(outcome['code']) };
      });
      const recorded = (engine.steps(row.id).find((s) => s.name === 'hosts')?.outcome as { hosts?: SetupHost[] } | undefined)?.hosts ?? [];
      const options = StorageSetupOptions.fromJSON((row.params as SetupParams).options);
      const pool = ctx.pool(row.pool);
      const live = await ctx.poolHosts(pool, signal).catch(() => []);
      const hosts: HostStorageStatus[] = [];
      for (const h of recorded) {
        const agent = live.find((x) => x.nameLabel === h.name)?.agent;
        try {
          if (agent === undefined) throw new NotFoundError('host', h.name);
          const r = await agent.client(StorageServiceDefinition).getStorageStatus({ spec: statusSpec(options) }, { signal });
          hosts.push({ host: h.name, isMaster: h.isMaster, status: r.status, errorCode: '', errorMessage: '' });
        } catch (err) {
          hosts.push({ host: h.name, isMaster: h.isMaster, status: undefined, errorCode: err instanceof XsctlError ? err.code : 'AGENT_UNREACHABLE', errorMessage: err instanceof Error ? err.message : String(err) });
        }
      }
      return { pool: row.pool, workflowId: row.id, state: row.state, error: row.error, steps, hosts };
    },
  };
}

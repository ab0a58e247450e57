import { displayVersion } from '../../../pool-model/versions.js';
import { asRef, type Ref } from '../../../xapi/ref.js';
import { XapiError } from '../../../xapi/xapi-error.js';
import type { StepIo } from '../../engine/workflow-engine.js';
import { WorkflowHalted } from '../../engine/workflow-errors.js';
import { inParallel, isTransient, xapiCode } from '../retry.js';
import { ConfirmationRequired, upgradeActions, type ActionContext } from '../upgrade-actions.js';
import { CannotEvacuateError, HostBootTimeoutError, StorageNotBackError } from '../upgrade-errors.js';
import type { HostRun, HostStage } from './host-stage.js';
import { migrateStep } from './migrate.js';
import { parsePaths } from './wave-recheck.js';

const hostRef = (h: HostRun): Ref<'host'> => asRef<'host'>(h.host.ref);

/**
 * No new VMs on it. `auto_enable=false` (XenServer 8 / XCP-ng 8.3, xapi_host.ml disable) keeps it
 * disabled across its reboot: with HA off, xapi otherwise enables a host as soon as it boots,
 * before its storage is checked. Older releases reject the second argument; `keep-disabled`
 * then disables the host again right after its boot.
 */
export const disableStage: HostStage = {
  name: 'disable',
  async run(h) {
    const { ctx, xapi, signal } = h.run;
    await ctx.step(`${h.key}:disable`, {
      host: h.host.name,
      check: async () => ((await h.run.read(() => xapi.getRecord('host', hostRef(h), { signal }))).enabled ? undefined : { disabled: true }),
      run: async () => {
        try {
          await h.run.read(() => xapi.call('host.disable', [hostRef(h), false], { signal }));
          return { disabled: true, autoEnable: false };
        } catch (err) {
          if (!(err instanceof XapiError && err.code === 'MESSAGE_PARAMETER_COUNT_MISMATCH')) throw err;
          await h.run.read(() => xapi.call('host.disable', [hostRef(h)], { signal }));
          return { disabled: true, autoEnable: true };
        }
      },
      compensation: () => ({ name: `enable-host:${h.host.uuid}`, args: { hostRef: h.host.ref, host: h.host.name } }),
    });
  },
};

/** Its VMs to their destinations, several at once. */
export const evacuateStage: HostStage = {
  name: 'migrate',
  async run(h) {
    const mine = h.migrations.filter((m) => !m.room && m.fromRef === h.host.ref);
    await inParallel(mine, h.run.params.maxParallel, async (m) => {
      const outcome = await migrateStep(h.run, `${h.key}:migrate:${m.vmUuid}`, h.host.name, m, h.run.params.migrationNetwork);
      if (outcome.moved) h.moves.push({ ...outcome, step: h.host.order });
    });
  },
};

/**
 * VMs that cannot leave (overridden blockers): a clean shutdown within the time limit, else a hard
 * one (as Xen Orchestra does: the admin consented to them going down); a paused VM can only be
 * shut down hard, and comes back paused.
 */
export const shutdownPinnedStage: HostStage = {
  name: 'shutdown',
  async run(h) {
    const { ctx, xapi, signal, params } = h.run;
    await inParallel(h.pinned, 8, async (p) => {
      const vmRef = asRef<'VM'>(p.vmRef);
      await ctx.step(`${h.key}:shutdown:${p.vmUuid}`, {
        host: h.host.name,
        intent: { vm: p.vm, code: p.code },
        check: async () => ((await h.run.read(() => xapi.getRecord('VM', vmRef, { signal }))).power_state === 'Halted' ? { halted: true, paused: p.powerState === 'Paused' } : undefined),
        run: async () => {
          const vm = await h.run.read(() => xapi.getRecord('VM', vmRef, { signal }));
          if (vm.power_state === 'Halted') return { halted: true, paused: false, how: 'already halted' };
          let how = 'clean';
          if (vm.power_state === 'Running') {
            try {
              await xapi.callAsync('VM.clean_shutdown', [vmRef], { signal, timeoutMs: params.shutdownTimeoutSeconds * 1000 });
            } catch (err) {
              if (signal.aborted || isTransient(err) && xapiCode(err) !== 'XAPI_TIMEOUT') throw err;
              how = `hard (clean shutdown: ${xapiCode(err) || String(err)})`;
              await xapi.callAsync('VM.hard_shutdown', [vmRef], { signal });
            }
          } else {
            how = 'hard (paused)';
            await xapi.callAsync('VM.hard_shutdown', [vmRef], { signal });
          }
          return { halted: true, paused: vm.power_state === 'Paused', how };
        },
        compensation: (o) => ({ name: `start-vm:${p.vmUuid}`, args: { vmRef: p.vmRef, hostRef: h.host.ref, vm: p.vm, paused: o.paused } }),
      });
    });
  },
};

/** The upgrade itself. */
const action: HostStage = {
  name: 'action',
  async run(h) {
    const { ctx, xapi, params } = h.run;
    const act = upgradeActions[params.action];
    const actionCtx = (io: StepIo): ActionContext => ({ xapi, poolRef: h.run.poolRef, io, options: params.actionOptions, confirmedAfter: (since) => ctx.resumedSince(since), pinnedUpdates: ctx.outcome<{ hash?: string }>('updates:sync')?.hash ?? '' });
    await ctx.step(`${h.key}:action`, {
      host: h.host.name,
      intent: { action: act.name },
      check: (recorded, io) => act.check(h.host, recorded, actionCtx(io)),
      run: async (io) => {
        try {
          return await act.run(h.host, actionCtx(io));
        } catch (err) {
          if (err instanceof ConfirmationRequired) {
            ctx.emit('confirmation-required', { host: h.host.name, message: err.instructions });
            throw new WorkflowHalted('paused');
          }
          throw err;
        }
      },
    });
  },
};

interface HostState {
  enabled: boolean;
  live: boolean;
  bootTime: string;
  agentStartTime: string;
  address: string;
  software: Record<string, string>;
  shuttingDown: boolean;
}

async function hostState(h: HostRun): Promise<HostState> {
  const { xapi, signal } = h.run;
  const r = await xapi.getRecord('host', hostRef(h), { signal });
  const m = await xapi.getRecord('host_metrics', r.metrics, { signal }).catch(() => undefined);
  return {
    enabled: r.enabled,
    live: m?.live === true,
    bootTime: r.other_config['boot_time'] ?? '',
    agentStartTime: r.other_config['agent_start_time'] ?? '',
    address: r.address,
    software: { ...r.software_version },
    shuttingDown: Object.values(r.current_operations).includes('shutdown'),
  };
}

/**
 * What the installed update asks for (XenServer 8 update guidance, host.apply_updates' answer): a
 * toolstack restart alone means no reboot (xe-toolstack-restart, host.restart_agent).
 */
function toolstackOnly(h: HostRun): boolean {
  const outcome = h.run.ctx.outcome<{ guidance?: unknown }>(`${h.key}:action`);
  const guidance = (Array.isArray(outcome?.guidance) ? outcome.guidance : []).flat().map(String);
  return guidance.includes('restart_toolstack') && !guidance.includes('reboot_host');
}

const rebooted = (h: HostRun, s: HostState): boolean =>
  toolstackOnly(h) || h.baseline.bootTime === '' ? s.agentStartTime !== h.baseline.agentStartTime : s.bootTime !== h.baseline.bootTime;

const reboot: HostStage = {
  name: 'reboot',
  async run(h) {
    const { ctx, xapi, signal, params } = h.run;
    const act = upgradeActions[params.action];
    await ctx.step(`${h.key}:reboot`, {
      host: h.host.name,
      check: async () => {
        const s = await h.run.read(() => hostState(h));
        return rebooted(h, s) || !s.live || s.shuttingDown ? { requested: true } : undefined;
      },
      run: async () => {
        if (!act.rebootAfter) return { requested: false, note: 'the installer rebooted the host' };
        if (toolstackOnly(h)) {
          await h.run.read(() => xapi.call('host.restart_agent', [hostRef(h)], { signal }));
          return { requested: true, toolstackOnly: true };
        }
        const vms = await h.run.read(() => xapi.getAllRecords('VM', { signal }));
        const still = [...vms.values()].filter((v) => v.resident_on === h.host.ref && !v.is_control_domain && (v.power_state === 'Running' || v.power_state === 'Paused'));
        if (still.length > 0) throw new CannotEvacuateError(h.host.name, [`still running before the reboot: ${still.map((v) => v.name_label).join(', ')}`]);
        await h.run.read(() => xapi.call('host.reboot', [hostRef(h)], { signal }));
        return { requested: true };
      },
    });
  },
};

/** Back: boot_time (or agent_start_time) changed, live, agent answering. */
const waitBoot: HostStage = {
  name: 'wait-boot',
  async run(h) {
    const { ctx, deps, params } = h.run;
    const back = async (): Promise<{ ok: boolean; message: string; outcome?: Record<string, unknown> }> => {
      let s: HostState;
      try {
        s = await hostState(h);
      } catch (err) {
        if (isTransient(err)) return { ok: false, message: `XAPI is not answering (${xapiCode(err)})${h.host.role === 'master' ? ': the master is restarting' : ''}` };
        throw err;
      }
      if (!rebooted(h, s)) return { ok: false, message: s.live ? 'not rebooted yet' : 'going down' };
      if (!s.live) return { ok: false, message: 'booted, XAPI not live yet' };
      if (params.agentCheck && deps.probeAgent !== undefined) {
        try {
          await deps.probeAgent(ctx.pool, { uuid: h.host.uuid, name: h.host.name, address: s.address }, h.run.signal);
        } catch (err) {
          return { ok: false, message: `live, waiting for its agent (${err instanceof Error ? err.message : String(err)})` };
        }
      }
      return { ok: true, message: 'back', outcome: { bootTime: s.bootTime, version: displayVersion(s.software), software: s.software } };
    };
    await ctx.step(`${h.key}:wait-boot`, {
      host: h.host.name,
      check: async () => (await back()).outcome,
      run: async (io) => {
        let waited = 0;
        let last = '';
        for (;;) {
          const r = await back();
          if (r.ok) return { ...r.outcome, waitedSeconds: Math.round(waited / 1000) };
          if (r.message !== last) ctx.emit('waiting', { host: h.host.name, message: r.message, waitedSeconds: Math.round(waited / 1000) }, { persist: false });
          last = r.message;
          io.progress({ phase: 'wait-boot', message: r.message, waitedSeconds: Math.round(waited / 1000), timeoutSeconds: params.hostBootTimeoutSeconds });
          if (waited >= params.hostBootTimeoutSeconds * 1000) throw new HostBootTimeoutError(h.host.name, Math.round(waited / 1000), r.message);
          await h.run.sleep(params.pollIntervalMs, h.run.signal);
          waited += params.pollIntervalMs;
        }
      },
    });
  },
};

/**
 * A release without auto_enable=false enables the host by itself once xapi is up and its storage
 * plugged (xapi_host_helpers consider_enabling_host), before the run has checked anything. host.disable
 * on a host that is already disabled does nothing (xapi_host.ml disable), so the run waits for
 * xapi's enable and disables it again then: from that call on xapi leaves it disabled
 * (user_requested_host_disable). A host xapi never enables stays disabled anyway.
 */
const keepDisabled: HostStage = {
  name: 'keep-disabled',
  async run(h) {
    const { ctx, xapi, signal, params } = h.run;
    const disabled = ctx.outcome<{ autoEnable?: boolean }>(`${h.key}:disable`);
    if (disabled?.autoEnable !== true) return;
    await ctx.step(`${h.key}:keep-disabled`, {
      host: h.host.name,
      run: async () => {
        let waited = 0;
        for (;;) {
          const s = await h.run.read(() => hostState(h));
          if (s.enabled) {
            await h.run.read(() => xapi.call('host.disable', [hostRef(h)], { signal }));
            return { redisabled: true, waitedSeconds: Math.round(waited / 1000) };
          }
          if (waited >= params.storageTimeoutSeconds * 1000) return { redisabled: false, waitedSeconds: Math.round(waited / 1000) };
          await h.run.sleep(params.pollIntervalMs, signal);
          waited += params.pollIntervalMs;
        }
      },
    });
  },
};

/**
 * Storage back: the PBDs attached before the reboot attached again, and every multipathed LUN with
 * as many active paths as before. As XenCenter does (Host.CheckAndPlugPBDs), PBDs still unplugged
 * after a while are plugged by hand; then it waits.
 */
const storage: HostStage = {
  name: 'storage',
  async run(h) {
    const { ctx, xapi, signal, params } = h.run;
    const missing = async (): Promise<{ lines: string[]; unplugged: string[] }> => {
      const lines: string[] = [];
      const unplugged: string[] = [];
      for (const pbd of h.baseline.pbds) {
        if (!pbd.attached) continue;
        const now = await xapi.getRecord('PBD', asRef<'PBD'>(pbd.ref), { signal });
        if (!now.currently_attached) {
          lines.push(`PBD of SR ${pbd.sr} not plugged`);
          unplugged.push(pbd.ref);
          continue;
        }
        const paths = parsePaths(now.other_config);
        for (const [lun, before] of Object.entries(pbd.paths)) if ((paths[lun] ?? 0) < before) lines.push(`${lun}: ${paths[lun] ?? 0} of ${before} paths`);
      }
      return { lines, unplugged };
    };
    await ctx.step(`${h.key}:storage`, {
      host: h.host.name,
      check: async () => ((await h.run.read(missing)).lines.length === 0 ? { pbds: h.baseline.pbds.length } : undefined),
      run: async (io) => {
        let waited = 0;
        let plugged = false;
        for (;;) {
          const m = await h.run.read(missing);
          if (m.lines.length === 0) return { pbds: h.baseline.pbds.length, pluggedByHand: plugged };
          io.progress({ phase: 'storage', message: m.lines.join('; '), waitedSeconds: Math.round(waited / 1000) });
          // XenCenter waits two minutes for xapi to plug them at boot, then plugs what is left.
          if (!plugged && waited >= Math.min(120_000, (params.storageTimeoutSeconds * 1000) / 2) && m.unplugged.length > 0) {
            plugged = true;
            for (const pbd of m.unplugged) await xapi.callAsync('PBD.plug', [asRef<'PBD'>(pbd)], { signal }).catch((err: unknown) => ctx.emit('warning', { host: h.host.name, message: `PBD.plug ${pbd}: ${xapiCode(err) || String(err)}` }));
          }
          if (waited >= params.storageTimeoutSeconds * 1000) throw new StorageNotBackError(h.host.name, m.lines);
          await h.run.sleep(params.pollIntervalMs, signal);
          waited += params.pollIntervalMs;
        }
      },
    });
  },
};

export const enableStage: HostStage = {
  name: 'enable',
  async run(h) {
    const { ctx, xapi, signal } = h.run;
    await ctx.step(`${h.key}:enable`, {
      host: h.host.name,
      check: async () => ((await h.run.read(() => xapi.getRecord('host', hostRef(h), { signal }))).enabled ? { enabled: true } : undefined),
      run: async () => {
        await h.run.read(() => xapi.call('host.enable', [hostRef(h)], { signal }));
        return { enabled: true };
      },
      releases: [`enable-host:${h.host.uuid}`],
    });
  },
};

/** Pinned VMs back on their host, a few at a time (a host that just booted takes a boot storm badly). */
export const startPinnedStage: HostStage = {
  name: 'start',
  async run(h) {
    const { ctx, xapi, signal, params } = h.run;
    await inParallel(h.pinned, params.startConcurrency, async (p) => {
      const vmRef = asRef<'VM'>(p.vmRef);
      const paused = ctx.outcome<{ paused?: boolean }>(`${h.key}:shutdown:${p.vmUuid}`)?.paused === true;
      await ctx.step(`${h.key}:start:${p.vmUuid}`, {
        host: h.host.name,
        intent: { vm: p.vm, paused },
        check: async () => ((await h.run.read(() => xapi.getRecord('VM', vmRef, { signal }))).power_state !== 'Halted' ? { started: true } : undefined),
        run: async () => {
          await h.run.read(() => xapi.callAsync('VM.start_on', [vmRef, hostRef(h), paused, false], { signal }));
          return { started: true, paused };
        },
        releases: [`start-vm:${p.vmUuid}`],
      });
    });
    const after = await h.run.read(() => xapi.getRecord('host', hostRef(h), { signal }));
    h.result = { name: h.host.name, order: h.host.order, versionBefore: h.baseline.version, versionAfter: displayVersion(after.software_version) };
  },
};

/**
 * Empty the host and install: an update that installs under running guests runs while the VMs
 * leave (it takes effect at the reboot), which takes the install off the critical path; the ISO
 * installer needs the host empty first.
 */
const evacuateAndInstall: HostStage = {
  name: 'evacuate-and-install',
  async run(h) {
    if (upgradeActions[h.run.params.action].needsEmptyHost) {
      await evacuateStage.run(h);
      await shutdownPinnedStage.run(h);
      await action.run(h);
      return;
    }
    const [install, empty] = await Promise.allSettled([action.run(h), (async () => {
      await evacuateStage.run(h);
      await shutdownPinnedStage.run(h);
    })()]);
    if (empty.status === 'rejected') throw empty.reason;
    if (install.status === 'rejected') throw install.reason;
  },
};

/** A host's turn, in order. The stage list is the seam for steps of other workflows (see HostStage). */
export const defaultHostStages: readonly HostStage[] = [disableStage, evacuateAndInstall, reboot, waitBoot, keepDisabled, storage, enableStage, startPinnedStage];

import { MultipathServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/multipath';
import type { AgentConnection } from '../../agents/agent-connection.js';
import { asRef } from '../../xapi/index.js';
import { WorkflowHalted } from '../engine/workflow-errors.js';
import { disableStage, enableStage, evacuateStage, shutdownPinnedStage, startPinnedStage, type HostRun, type HostStage } from '../rolling-upgrade/index.js';
import { HostLeftMaintenanceError, MultipathPathsMissingError } from './rollout-errors.js';
import { hostSrPaths, replugPbds, setMultipathingOn, shortOfPaths, unplugPbds } from './rollout-host-ops.js';
import type { RolloutParams } from './rollout-params.js';

/** What the rollout's own stages need beyond the rolling upgrade's run. */
export interface RolloutEnv {
  params: RolloutParams;
  /** The host's agent (looked up by uuid when the stage runs: a restarted controller has new connections). */
  agentFor(host: { uuid: string; name: string }, signal: AbortSignal): Promise<AgentConnection>;
}

/** The compensation that plugs a host's PBDs back after an abort or a failure between unplug and replug. */
export const REPLUG_PBDS = 'replug-pbds:';

const hostRef = (h: HostRun) => asRef<'host'>(h.host.ref);
const sharedSr = (sr: { shared: boolean }): boolean => sr.shared;

/**
 * Before the host leaves service: its agent answers and takes the profile (a dry run of the
 * apply, which runs multipath -t on the candidate and fails with MULTIPATH_CONFIG_REJECTED as the
 * write would). A host whose agent is down or whose multipath -t refuses the stanza is not
 * disabled and emptied only to fail at the stanza. Not
 * journaled (it changes nothing); skipped once the stanza step has run.
 */
function preflight(env: RolloutEnv): HostStage {
  return {
    name: 'preflight',
    async run(h) {
      const { ctx, signal } = h.run;
      if (ctx.outcome(`${h.key}:apply-stanza`) !== undefined) return;
      const agent = await env.agentFor(h.host, signal);
      const r = await agent.client(MultipathServiceDefinition).apply({ profile: env.params.profile, confirm: false, layout: env.params.layout, skipReconfigure: true }, { signal });
      ctx.emit('preflight', { host: h.host.name, message: `${h.host.name}: agent answers; ${r.targetPath} ${r.changed ? 'gets the stanza' : 'has the stanza'}` }, { persist: false });
    },
  };
}

/** StarWind steps 45-47: the profile's stanza through the agent's validated apply (multipath -t, multipathd reconfigure). */
function applyStanza(env: RolloutEnv): HostStage {
  return {
    name: 'apply-stanza',
    async run(h) {
      const { ctx, signal } = h.run;
      const { profile, layout } = env.params;
      // The apply compares with the file first: run again after a crash, it finds the stanza in place.
      await ctx.step(`${h.key}:apply-stanza`, {
        host: h.host.name,
        intent: { profile },
        run: async () => {
          const agent = await env.agentFor(h.host, signal);
          const r = await agent.client(MultipathServiceDefinition).apply({ profile, confirm: true, layout, skipReconfigure: false }, { signal });
          return { changed: r.changed, targetPath: r.targetPath, backupPath: r.backupPath, validation: r.validation?.mode ?? '', reconfigured: r.reconfigured, reconfigureDetail: r.reconfigureDetail };
        },
      });
    },
  };
}

/**
 * XenCenter's first move (EditMultipathAction.cs): the attached PBDs unplugged, here those of the
 * shared SRs (the ones that have paths to gain). The host must still be in maintenance: a running
 * VM with a disk on the SR makes xapi refuse with VDI_IN_USE (xapi_pbd.ml), and a host enabled by
 * hand may have received one. Each PBD is noted before its unplug, so a restarted controller
 * knows which ones to plug back.
 */
function unplug(): HostStage {
  return {
    name: 'unplug',
    async run(h) {
      const { ctx, xapi, signal } = h.run;
      await ctx.step(`${h.key}:unplug`, {
        host: h.host.name,
        check: async (recorded) => {
          const noted = Array.isArray(recorded['pbds']) ? recorded['pbds'].map(String) : [];
          if (noted.length === 0) return undefined;
          // It ran in part: finish it over the noted PBDs and the ones still attached (unplug of a detached PBD does nothing).
          const rest = await unplugPbds(xapi, h.host.ref, sharedSr, signal);
          return { pbds: [...new Set([...noted, ...rest])] };
        },
        run: async (io) => {
          if ((await h.run.read(() => xapi.getRecord('host', hostRef(h), { signal }))).enabled) throw new HostLeftMaintenanceError(h.host.name);
          const pbds: string[] = [];
          await unplugPbds(xapi, h.host.ref, sharedSr, signal, (pbd) => {
            pbds.push(pbd);
            io.note({ pbds: [...pbds] });
          });
          return { pbds };
        },
        compensation: (o) => ({ name: `${REPLUG_PBDS}${h.host.uuid}`, args: { pbds: o.pbds, host: h.host.name } }),
      });
    },
  };
}

/** StarWind step 50, as XenCenter does it: multipathing=true, multipathhandle=dmp on the host. */
function multipathOn(): HostStage {
  return {
    name: 'multipath-on',
    async run(h) {
      const { ctx, xapi, signal } = h.run;
      await ctx.step<{ method: string; changed: boolean }>(`${h.key}:multipath-on`, {
        host: h.host.name,
        check: async () => {
          const r = await h.run.read(() => xapi.getRecord('host', hostRef(h), { signal }));
          return r.other_config['multipathing'] === 'true' && r.other_config['multipathhandle'] === 'dmp' ? { method: 'found set', changed: true } : undefined;
        },
        run: () => setMultipathingOn(xapi, hostRef(h), signal),
      });
    },
  };
}

/** The same PBDs plugged back: SM attaches them through multipath now. */
function replug(): HostStage {
  return {
    name: 'replug',
    async run(h) {
      const { ctx, xapi, signal } = h.run;
      const pbds = ctx.outcome<{ pbds: string[] }>(`${h.key}:unplug`)?.pbds ?? [];
      // PBD.plug of an attached PBD does nothing (xapi_pbd.ml): safe to run again.
      await ctx.step(`${h.key}:replug`, {
        host: h.host.name,
        intent: { pbds },
        run: async () => ({ plugged: await replugPbds(xapi, pbds, signal) }),
        releases: [`${REPLUG_PBDS}${h.host.uuid}`],
      });
    },
  };
}

/**
 * Every LUN of the host's shared iSCSI/HBA SRs at the expected active paths (SM's
 * mpath-<SCSIid> = "[active, total]" in the PBD's other_config). When they do not come, the
 * rollout pauses with the host still in maintenance: nothing is compensated, the admin fixes the
 * paths and re-runs the command, which waits again.
 */
function waitPaths(env: RolloutEnv): HostStage {
  return {
    name: 'wait-paths',
    async run(h) {
      const { ctx, xapi, signal } = h.run;
      const { expectedPaths, pathTimeoutSeconds, pollIntervalMs } = env.params;
      const summary = (srs: Awaited<ReturnType<typeof hostSrPaths>>) => ({ srs: srs.map((s) => ({ sr: s.srName, luns: s.luns.map((l) => `${l.scsiId} [${l.active}, ${l.total}]`) })) });
      try {
        await ctx.step(`${h.key}:wait-paths`, {
          host: h.host.name,
          intent: { expected: expectedPaths },
          check: async () => {
            const srs = (await h.run.read(() => hostSrPaths(xapi, h.host.ref, signal))).filter(sharedSr);
            return shortOfPaths(srs, expectedPaths).length === 0 ? summary(srs) : undefined;
          },
          run: async (io) => {
            let waited = 0;
            for (;;) {
              const srs = (await h.run.read(() => hostSrPaths(xapi, h.host.ref, signal))).filter(sharedSr);
              const short = shortOfPaths(srs, expectedPaths);
              if (short.length === 0) return summary(srs);
              if (waited >= pathTimeoutSeconds * 1000) throw new MultipathPathsMissingError(h.host.name, expectedPaths, short, waited);
              io.progress({ phase: 'wait-paths', message: short.join('; '), waitedSeconds: Math.round(waited / 1000), timeoutSeconds: pathTimeoutSeconds });
              await h.run.sleep(pollIntervalMs, signal);
              waited += pollIntervalMs;
            }
          },
        });
      } catch (err) {
        if (!(err instanceof MultipathPathsMissingError)) throw err;
        ctx.emit('paths-missing', { host: h.host.name, code: err.code, message: `${err.message}. Fix the paths, then run the same \`xsctl multipath rollout ... --yes\` again: it waits again and goes on` });
        throw new WorkflowHalted('paused');
      }
    },
  };
}

/**
 * A host's turn: maintenance mode in (the rolling upgrade's disable and evacuation, pinned VMs
 * shut down), the stanza, XenCenter's unplug / multipathing / plug, the paths, maintenance mode
 * out (enabled; pinned VMs started again). The VMs that left stay where they went.
 */
export function rolloutHostStages(env: RolloutEnv): readonly HostStage[] {
  return [preflight(env), disableStage, evacuateStage, shutdownPinnedStage, applyStanza(env), unplug(), multipathOn(), replug(), waitPaths(env), enableStage, startPinnedStage];
}

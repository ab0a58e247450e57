import type { DrbdAdjust, DrbdVersion } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import type { AgentContext } from '../server/agent-context.js';
import { drbdadm, readStatus } from './drbd-ops.js';
import { redactDrbdSecrets } from './render-drbd-conf.js';

/**
 * Of `names`, the resources the kernel has up (a minor with a configuration), read before
 * drbd.conf is replaced: /proc/drbd on 8.x, events2 on 9, minors named through the current file.
 * A resource that is not up needs no adjust: the boot/role path's `up` loads the new file.
 */
export async function upResources(ctx: AgentContext, names: readonly string[], signal?: AbortSignal, known?: DrbdVersion): Promise<string[]> {
  const snap = await readStatus(ctx, null, signal, known);
  const up = new Set(snap.resources.filter((r) => r.role !== 'Unconfigured').map((r) => r.name));
  return names.filter((n) => up.has(n));
}

/**
 * drbdadm -d prints one drbdsetup command line per change; before them it may print the
 * "register the current config file?" prompt and its forced answer (see shAnswer in drbd-ops.ts).
 */
export function dryRunCommands(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.endsWith('?') && !/^\*\*\*.*\*\*\*$/.test(l))
    .map(redactDrbdSecrets);
}

/**
 * `drbdadm -d adjust` for each up resource, and when `apply`, the real `drbdadm adjust` after it:
 * the running kernel keeps the options it was brought up with (the net section's keep-alive)
 * until then. `confFile` is a candidate file to compare with (a dry run before the write);
 * null means the file in place. A dry run that prints nothing skips the real adjust.
 */
export async function adjustUpResources(ctx: AgentContext, resources: readonly string[], confFile: string | null, apply: boolean, signal?: AbortSignal): Promise<DrbdAdjust[]> {
  const out: DrbdAdjust[] = [];
  for (const resource of resources) {
    const conf = confFile === null ? [] : ['-c', confFile];
    const dry = await drbdadm(ctx, resource, [...conf, '-d', 'adjust', resource], signal);
    const commands = dryRunCommands(dry.stdout);
    const applied = apply && commands.length > 0;
    if (applied) await drbdadm(ctx, resource, ['adjust', resource], signal);
    out.push({ resource, commands, applied });
  }
  return out;
}

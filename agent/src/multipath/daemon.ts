import type { CommandRunner } from '../exec/command-runner.js';
import type { MultipathFlavor } from './flavors.js';

export interface DaemonState {
  enabled: boolean;
  running: boolean;
  detail: string;
}

/** `chkconfig --list multipathd`: "multipathd  0:off 1:off 2:on 3:on 4:on 5:on 6:off". Enabled = on in runlevel 3. */
export function parseChkconfigList(stdout: string): boolean {
  const line = stdout.split('\n').find((l) => /^\s*multipathd\b/.test(l));
  return line !== undefined && /\b3:on\b/.test(line);
}

export interface DaemonCommand {
  command: 'systemctl' | 'chkconfig' | 'service';
  args: string[];
}

/** What it takes to have multipathd enabled at boot and running; nothing when it already is. */
export function planEnableDaemon(state: Pick<DaemonState, 'enabled' | 'running'>, init: MultipathFlavor['init']): DaemonCommand[] {
  const out: DaemonCommand[] = [];
  if (init === 'systemd') {
    if (!state.enabled) out.push({ command: 'systemctl', args: ['enable', 'multipathd'] });
    if (!state.running) out.push({ command: 'systemctl', args: ['start', 'multipathd'] });
  } else {
    if (!state.enabled) out.push({ command: 'chkconfig', args: ['multipathd', 'on'] });
    if (!state.running) out.push({ command: 'service', args: ['multipathd', 'start'] });
  }
  return out;
}

export async function readDaemonState(runner: CommandRunner, init: MultipathFlavor['init'], signal?: AbortSignal): Promise<DaemonState> {
  const opts = { okExitCodes: [1, 2, 3, 4], timeoutMs: 10_000, ...(signal === undefined ? {} : { signal }) };
  try {
    if (init === 'systemd') {
      const en = await runner.run('systemctl', ['is-enabled', 'multipathd'], opts);
      const ac = await runner.run('systemctl', ['is-active', 'multipathd'], opts);
      const enabledWord = en.stdout.trim();
      const activeWord = ac.stdout.trim();
      return { enabled: en.exitCode === 0 && /^(enabled|static|alias|indirect|generated)/.test(enabledWord), running: ac.exitCode === 0 && activeWord === 'active', detail: `systemd: ${enabledWord || '?'}, ${activeWord || '?'}` };
    }
    const list = await runner.run('chkconfig', ['--list', 'multipathd'], opts);
    const status = await runner.run('service', ['multipathd', 'status'], opts);
    return { enabled: parseChkconfigList(list.stdout), running: status.exitCode === 0, detail: `sysv: ${status.stdout.trim().split('\n')[0] ?? ''}` };
  } catch (err) {
    return { enabled: false, running: false, detail: `unknown: ${(err as Error).message}` };
  }
}

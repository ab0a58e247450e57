import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IpmiTarget } from '../config/pool-storage-config.js';

/**
 * The controller's one door to ipmitool (IPMI over LAN to a host's BMC). Arguments are an array
 * (no shell); the password goes through the environment (`-E` reads IPMI_PASSWORD), never on the
 * command line where `ps` would show it, and never in an error or a log.
 */
export interface IpmitoolResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export function ipmitoolArgs(t: IpmiTarget, command: readonly string[]): string[] {
  const args = ['-I', t.interface, '-H', t.address, '-p', String(t.port), '-U', t.user, '-E', '-L', t.privilege];
  if (t.interface === 'lanplus') args.push('-C', String(t.cipherSuite));
  // One try per call, bounded: the fencer retries and confirms on its own terms.
  args.push('-R', '1', '-N', '2');
  return [...args, ...command];
}

export function runIpmitool(t: IpmiTarget, command: readonly string[], options: { signal?: AbortSignal; timeoutMs?: number; program?: string } = {}): Promise<IpmitoolResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      options.program ?? 'ipmitool',
      ipmitoolArgs(t, command),
      { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', IPMI_PASSWORD: t.password }, timeout: options.timeoutMs ?? 10_000, signal: options.signal, encoding: 'utf8', maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err !== null && typeof err.code !== 'number') {
          reject(new Error(`ipmitool ${command.join(' ')} on ${t.address}: ${err.killed ? 'timed out' : err.message.replaceAll(t.password, '[redacted]')}`));
          return;
        }
        resolve({ exitCode: err === null ? 0 : Number(err.code), stdout, stderr: stderr.replaceAll(t.password, '[redacted]') });
      },
    );
    child.stdin?.end();
  });
}

/**
 * Several commands in one ipmitool run, so one RMCP+ session (ipmitool opens the session at its
 * first request and closes it at exit: ipmi_main.c), through `exec FILE` (ipmishell.c
 * ipmi_exec_main, in ipmitool since 1.8.x and in CentOS 7's 1.8.18): it runs every line, even
 * after one failed, and exits with the last failure's code, so the caller reads the outputs, not
 * the exit code. Not `shell` (readline, prompts on stdout; absent without readline) and not
 * `exec /dev/stdin`: a build with --enable-file-security (Fedora's and RHEL's) opens only a
 * regular file with one link (helper.c ipmi_open_file), so the commands go into a private
 * temporary file, removed afterwards. They are fixed words of ours: exec's parser treats '#' as a
 * comment and quotes specially, so anything but plain lower-case words is refused.
 */
export async function runIpmitoolBatch(t: IpmiTarget, commands: readonly (readonly string[])[], options: { signal?: AbortSignal; timeoutMs?: number; program?: string } = {}): Promise<IpmitoolResult> {
  for (const c of commands) {
    if (c.length === 0 || c.some((w) => !/^[a-z][a-z0-9-]*$/.test(w))) throw new Error(`ipmitool exec: refusing command ${JSON.stringify(c)}: plain lower-case words only`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'xsctl-ipmitool-'));
  try {
    const file = join(dir, 'commands');
    await writeFile(file, commands.map((c) => `${c.join(' ')}\n`).join(''), { mode: 0o600 });
    return await runIpmitool(t, ['exec', file], options);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `chassis power status` answers "Chassis Power is on|off". */
export function parsePowerStatus(stdout: string): 'on' | 'off' | null {
  // In a batch (runIpmitoolBatch) the last answer counts.
  const m = [...stdout.matchAll(/Chassis Power is (on|off)/gi)].at(-1);
  return m === undefined ? null : (m[1]!.toLowerCase() as 'on' | 'off');
}

/** `chassis power off` accepted: ipmi_chassis.c prints "Chassis Power Control: Down/Off" only on success. */
export function powerOffAccepted(stdout: string): boolean {
  return /^Chassis Power Control: Down\/Off$/m.test(stdout);
}

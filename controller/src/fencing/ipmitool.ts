import { execFile } from 'node:child_process';
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

/** `chassis power status` answers "Chassis Power is on|off". */
export function parsePowerStatus(stdout: string): 'on' | 'off' | null {
  const m = /Chassis Power is (on|off)/i.exec(stdout);
  return m === null ? null : (m[1]!.toLowerCase() as 'on' | 'off');
}

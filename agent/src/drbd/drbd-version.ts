import { readFile } from 'node:fs/promises';
import { DrbdSyntax, type DrbdVersion } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import type { AgentContext } from '../server/agent-context.js';

/** `KEY=value` lines of `drbdadm --version` (values may have backslash-escaped spaces). */
export function parseDrbdadmVersion(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z_]+)=(.*)$/.exec(line);
    if (m?.[1] !== undefined) out[m[1]] = (m[2] ?? '').replace(/\\(.)/g, '$1').trim();
  }
  return out;
}

/** `version: 8.4.0 (api:1/proto:86-100)` from /proc/drbd. */
export function procDrbdVersion(text: string): string | null {
  return /^version:\s*([0-9]+\.[0-9]+(?:\.[0-9]+)?)/m.exec(text)?.[1] ?? null;
}

/** The drbd.conf dialect a version takes: the kernel module decides, not the utils. */
export function syntaxForVersion(version: string): DrbdSyntax {
  const m = /^([0-9]+)\.([0-9]+)/.exec(version);
  if (m === null) return DrbdSyntax.DRBD_SYNTAX_UNSPECIFIED;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (major >= 9) return DrbdSyntax.DRBD_SYNTAX_V9;
  if (major === 8 && minor >= 4) return DrbdSyntax.DRBD_SYNTAX_V84;
  if (major === 8) return DrbdSyntax.DRBD_SYNTAX_V83;
  return DrbdSyntax.DRBD_SYNTAX_UNSPECIFIED;
}

function versionFromCode(code: string | undefined): string | null {
  if (code === undefined) return null;
  const n = Number.parseInt(code, 16);
  if (!Number.isFinite(n) || n === 0) return null;
  return `${(n >> 16) & 0xff}.${(n >> 8) & 0xff}.${n & 0xff}`;
}

/**
 * Decides the version from what the host shows, most authoritative first: the loaded module
 * (/proc/drbd), the kernel version drbdadm reports, the drbdadm API (88 = 8.3, 1 = 8.4, 2 = 9),
 * the utils version.
 */
export function decideDrbdVersion(procText: string | null, drbdadmText: string | null): DrbdVersion {
  const kv = drbdadmText === null ? {} : parseDrbdadmVersion(drbdadmText);
  const utilsVersion = kv['DRBDADM_VERSION'] ?? '';
  const fromProc = procText === null ? null : procDrbdVersion(procText);
  if (fromProc !== null) return { kernelVersion: fromProc, utilsVersion, syntax: syntaxForVersion(fromProc), source: 'proc-drbd' };
  const fromKernel = kv['DRBD_KERNEL_VERSION'] && kv['DRBD_KERNEL_VERSION'] !== '0' ? kv['DRBD_KERNEL_VERSION'] : versionFromCode(kv['DRBD_KERNEL_VERSION_CODE']);
  if (fromKernel) return { kernelVersion: fromKernel, utilsVersion, syntax: syntaxForVersion(fromKernel), source: 'drbdadm-kernel' };
  const api = kv['DRBDADM_API_VERSION'];
  const byApi: Record<string, DrbdSyntax> = { '88': DrbdSyntax.DRBD_SYNTAX_V83, '1': DrbdSyntax.DRBD_SYNTAX_V84, '2': DrbdSyntax.DRBD_SYNTAX_V9 };
  if (api !== undefined && byApi[api] !== undefined) return { kernelVersion: '', utilsVersion, syntax: byApi[api], source: 'drbdadm-api' };
  if (utilsVersion !== '') return { kernelVersion: '', utilsVersion, syntax: syntaxForVersion(utilsVersion), source: 'drbdadm-utils' };
  return { kernelVersion: '', utilsVersion: '', syntax: DrbdSyntax.DRBD_SYNTAX_UNSPECIFIED, source: 'none' };
}

export async function readProcDrbd(ctx: AgentContext): Promise<string | null> {
  return readFile(ctx.root.resolve('/proc/drbd'), 'utf8').catch(() => null);
}

export async function detectDrbdVersion(ctx: AgentContext, signal?: AbortSignal): Promise<DrbdVersion> {
  const proc = await readProcDrbd(ctx);
  let drbdadm: string | null = null;
  if (proc === null || procDrbdVersion(proc) === null) {
    // drbdadm prints the version block on stdout and exits 0; older builds exit 20 after it.
    const res = await ctx.runner.run('drbdadm', ['--version'], { signal, timeoutMs: 10_000, okExitCodes: [1, 20] }).catch(() => null);
    drbdadm = res === null ? null : res.stdout;
  }
  return decideDrbdVersion(proc, drbdadm);
}

export const syntaxName: Readonly<Record<DrbdSyntax, string>> = {
  [DrbdSyntax.DRBD_SYNTAX_UNSPECIFIED]: 'unknown',
  [DrbdSyntax.DRBD_SYNTAX_V83]: '8.3',
  [DrbdSyntax.DRBD_SYNTAX_V84]: '8.4',
  [DrbdSyntax.DRBD_SYNTAX_V9]: '9',
  [DrbdSyntax.UNRECOGNIZED]: 'unknown',
};

export function syntaxFromName(name: string): DrbdSyntax | null {
  if (name === '8.3') return DrbdSyntax.DRBD_SYNTAX_V83;
  if (name === '8.4') return DrbdSyntax.DRBD_SYNTAX_V84;
  if (name === '9' || name === '9.0' || name === '9.1' || name === '9.2') return DrbdSyntax.DRBD_SYNTAX_V9;
  return null;
}

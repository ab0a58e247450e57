import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CommandFailedError } from '../exec/command-errors.js';
import { resolveWriteTarget } from '../fs/resolve-write-target.js';
import { writeFileAtomic } from '../fs/write-file-atomic.js';
import type { AgentContext } from '../server/agent-context.js';
import { renderFirewallRules, type FirewallConfig } from './firewall.js';
import { FirewallChainNotFoundError, FirewallFileInvalidError } from './network-errors.js';
import { busyOr } from './iptables.js';

/**
 * The dom0 way to keep firewall rules (the how-to's step 2: "vi /etc/sysconfig/iptables, insert the
 * rule just above the REJECT line, service iptables restart"): the iptables service loads this
 * file with iptables-restore at boot and on restart. The file is iptables-save output; we add our
 * `-A CHAIN ...` lines inside `*filter`, just above the chain's first REJECT (or after its last
 * rule), and change nothing else. The syntax is the one iptables 1.4.21 (CentOS 7 dom0) restores:
 * plain `-A` lines with `-m tcp --dport`, which every iptables-save since 1.3 writes.
 */
export const iptablesSavePath = '/etc/sysconfig/iptables';

export interface IptablesMerge {
  text: string;
  added: string[];
  present: string[];
}

const norm = (line: string) => line.trim().replace(/\s+/g, ' ');

/** Pure: the file with our rules added where the how-to puts its own. */
export function mergeIptablesSave(text: string, fw: FirewallConfig): IptablesMerge {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => l.trim() === '*filter');
  if (start < 0) throw new FirewallFileInvalidError(iptablesSavePath, 'no *filter table');
  let end = lines.findIndex((l, i) => i > start && l.trim() === 'COMMIT');
  if (end < 0) throw new FirewallFileInvalidError(iptablesSavePath, 'the *filter table has no COMMIT');
  const declared = lines.slice(start, end).some((l) => l.startsWith(`:${fw.chain} `));
  if (!declared) throw new FirewallChainNotFoundError(fw.chain, `not declared in ${iptablesSavePath}`);
  const existing = new Set(lines.slice(start, end).map(norm));
  const ours = renderFirewallRules(fw);
  const added = ours.filter((r) => !existing.has(norm(r)));
  const present = ours.filter((r) => existing.has(norm(r)));
  if (added.length === 0) return { text, added, present };
  const inChain = (l: string) => l.startsWith(`-A ${fw.chain} `);
  const reject = lines.findIndex((l, i) => i > start && i < end && inChain(l) && /\s-j\s+REJECT\b/.test(l));
  let at = reject;
  if (at < 0) {
    const last = lines.map((l, i) => (i > start && i < end && inChain(l) ? i : -1)).filter((i) => i >= 0).at(-1);
    at = last === undefined ? end : last + 1;
  }
  lines.splice(at, 0, ...added);
  end += added.length;
  return { text: lines.join(eol), added, present };
}

export interface PersistResult {
  path: string;
  changed: boolean;
  added: string[];
  present: string[];
  /** Host path of the previous file, '' when nothing was written. */
  backup: string;
}

/** Adds the rules to /etc/sysconfig/iptables (dry run unless `confirm`), checked by `iptables-restore --test` first. */
export async function persistFirewall(ctx: AgentContext, fw: FirewallConfig, confirm: boolean, signal?: AbortSignal): Promise<PersistResult> {
  // A symlinked file is followed only inside the root (PATH_ESCAPES_ROOT otherwise), before it is
  // read: the write had no confinement, so a link leaving the root was written through (found by
  // the fuzz campaign's symlink traps once the trap held a valid ruleset).
  const target = await resolveWriteTarget(ctx.root.resolve(iptablesSavePath), ctx.root.root);
  const before = await readFile(target, 'utf8').catch((err: unknown) => {
    throw new FirewallFileInvalidError(iptablesSavePath, 'cannot be read (the iptables service restores it at boot)', { cause: err });
  });
  const merged = mergeIptablesSave(before, fw);
  if (merged.added.length === 0) return { path: iptablesSavePath, changed: false, added: [], present: merged.present, backup: '' };
  try {
    // Parses the whole ruleset as the boot-time restore will, without committing it.
    await ctx.runner.run('iptables-restore', ['--test'], { input: merged.text, signal, timeoutMs: 15_000 });
  } catch (err) {
    // Exit 4: CentOS 7's iptables-restore (1.4.21-18 on) takes the xtables lock at `*filter` even
    // with --test; its `-w` is a backport upstream 1.4.21 rejects, so the check goes without it
    // and a busy lock is said as such, not as a rejected file.
    const busy = busyOr(err, 'iptables-restore', ['--test']);
    if (busy !== err) throw busy;
    if (err instanceof CommandFailedError) throw new FirewallFileInvalidError(iptablesSavePath, `iptables-restore --test rejects the edited file: ${err.stderr.trim().split('\n')[0] ?? ''}`, { cause: err });
    throw err;
  }
  if (!confirm) return { path: iptablesSavePath, changed: true, added: merged.added, present: merged.present, backup: '' };
  const res = await writeFileAtomic(target, merged.text, { mode: 0o600, backupDir: ctx.root.resolve(join(ctx.stateDir, 'backups')), confineTo: ctx.root.root, signal });
  ctx.logger.info({ path: iptablesSavePath, added: merged.added }, 'firewall rules persisted');
  return { path: iptablesSavePath, changed: true, added: merged.added, present: merged.present, backup: res.backup === null ? '' : ctx.root.hostPath(res.backup) };
}

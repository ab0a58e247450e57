import { ConfigError } from '@xsctl/common/errors/index';
import { renderDrbdMultipathBlacklist } from '../drbd/render-multipath-blacklist.js';
import type { AgentContext } from '../server/agent-context.js';
import { commitMultipathFile, type CommitOutcome } from './commit-multipath-file.js';
import { ConfSyntaxError, detectIndentUnit, entryList, findSections, leadingWhitespace, parseMultipathConf, renderKeyValue, serializeMultipathConf } from './multipath-conf.js';
import type { MultipathPlatformInfo } from './platform.js';
import { confDirPath, listConfDir, mainConfPath, readOptionalFile } from './read-config.js';
import { unifiedDiff } from './unified-diff.js';

/** The drop-in the conf.d layout gets (XCP-ng 8 reads every *.conf* there). */
export const drbdBlacklistDropIn = `${confDirPath}/xsctl-drbd-blacklist.conf`;
const drbdDevnode = '^drbd[0-9]+';

export interface BlacklistOutcome {
  targetPath: string;
  changed: boolean;
  dryRun: boolean;
  diff: string;
  /** Where drbd devices were already blacklisted, when nothing had to change. */
  alreadyIn: string;
  commit: CommitOutcome | null;
}

/**
 * Whether a file's blacklist already keeps drbd devices out: a `devnode` whose pattern matches
 * drbd0 and drbd15 (multipath-tools patterns are POSIX EREs; the ones written for this, like the
 * stock `^(ram|raw|loop|...|drbd)[0-9]*`, read the same as JavaScript regexes).
 */
export function blacklistsDrbd(content: string): boolean {
  const doc = parseMultipathConf(content);
  return findSections(doc, 'blacklist').some((s) =>
    entryList(doc, s).some(([k, v]) => {
      if (k !== 'devnode') return false;
      try {
        const re = new RegExp(v);
        return re.test('drbd0') && re.test('drbd15');
      } catch {
        return false;
      }
    }),
  );
}

/** Adds `devnode "^drbd[0-9]+"` to the first blacklist section, or a blacklist section at the end. */
export function addDrbdToBlacklist(content: string): string {
  const doc = parseMultipathConf(content);
  const unit = detectIndentUnit(doc);
  const section = findSections(doc, 'blacklist')[0];
  const eol = doc.lines.find((l) => l.eol !== '')?.eol ?? '\n';
  if (section === undefined) {
    const sep = content === '' || content.endsWith('\n') ? '' : eol;
    return `${content}${sep}${content === '' ? '' : eol}blacklist {${eol}${renderKeyValue(unit, 'devnode', drbdDevnode)}${eol}}${eol}`;
  }
  const base = leadingWhitespace(doc.lines[section.open]?.text ?? '');
  const at = section.close;
  doc.lines.splice(at, 0, { text: renderKeyValue(base + unit, 'devnode', drbdDevnode), eol, kind: 'kv', tokens: [], commentAt: -1, key: 'devnode', value: drbdDevnode });
  return serializeMultipathConf(doc);
}

/**
 * Rule 8 and the how-to: multipath must never claim a drbd device. Main-file hosts get the devnode
 * in multipath.conf's blacklist; conf.d hosts (XCP-ng 8) a drop-in. Nothing changes when a file
 * already blacklists drbd. Dry run unless `confirm`; a write is validated by multipath -t.
 */
export async function applyDrbdBlacklist(ctx: AgentContext, platform: MultipathPlatformInfo, confirm: boolean, signal?: AbortSignal): Promise<BlacklistOutcome> {
  const files = [mainConfPath, ...(await listConfDir(ctx.root)).map((n) => `${confDirPath}/${n}`)];
  for (const f of files) {
    const content = await readOptionalFile(ctx.root.resolve(f), signal);
    if (content === null) continue;
    try {
      if (blacklistsDrbd(content)) return { targetPath: f, changed: false, dryRun: !confirm, diff: '', alreadyIn: f, commit: null };
    } catch (err) {
      if (err instanceof ConfSyntaxError) throw new ConfigError(f, `${err.message} (fix the file by hand; xsctl does not edit a file it cannot parse)`, { cause: err });
      throw err;
    }
  }
  const conf = platform.flavor.layout === 'conf-d';
  const targetPath = conf ? drbdBlacklistDropIn : mainConfPath;
  const oldContent = await readOptionalFile(ctx.root.resolve(targetPath), signal);
  const newContent = conf ? renderDrbdMultipathBlacklist() : addDrbdToBlacklist(oldContent ?? '');
  const diff = unifiedDiff(oldContent ?? '', newContent, oldContent === null ? '/dev/null' : targetPath, targetPath);
  if (!confirm) return { targetPath, changed: true, dryRun: true, diff, alreadyIn: '', commit: null };
  const commit = await commitMultipathFile(ctx, platform.flavor, targetPath, oldContent, newContent, false, 'drbd multipath blacklist', signal);
  ctx.logger.info({ path: targetPath }, 'multipath blacklist for drbd devices written');
  return { targetPath, changed: true, dryRun: false, diff, alreadyIn: '', commit };
}

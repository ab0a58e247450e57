import { ConfigError } from '@xsctl/common/errors/index';
import type { AgentContext } from '../server/agent-context.js';
import { checkCandidate, commitMultipathFile, type Validation } from './commit-multipath-file.js';
import type { Layout } from './flavors.js';
import { mergeDeviceStanza, renderDeviceFile } from './merge-stanza.js';
import { ConfSyntaxError } from './multipath-conf.js';
import type { MultipathPlatformInfo } from './platform.js';
import type { MultipathProfileDef } from './profiles.js';
import { confDirPath, deviceEntriesOf, listConfDir, mainConfPath, readOptionalFile } from './read-config.js';
import { translateStanza, type TranslationNote } from './translate-stanza.js';
import { unifiedDiff } from './unified-diff.js';

export interface ApplyRequest {
  profile: MultipathProfileDef;
  confirm: boolean;
  /** undefined: the platform's layout. */
  layout?: Layout;
  skipReconfigure: boolean;
}

export interface ApplyOutcome {
  targetPath: string;
  layout: Layout;
  changed: boolean;
  dryRun: boolean;
  diff: string;
  backupPath: string;
  /** multipath -t on the candidate: the dry run's check, or the write's check after writing. */
  validation: Validation | null;
  reconfigured: boolean;
  reconfigureDetail: string;
  notes: TranslationNote[];
  warnings: string[];
  stanza: [string, string][];
}

/** The drop-in a profile family writes: switching dell-md36xx-rdac -> -alua rewrites the same file. */
export function dropInName(profile: MultipathProfileDef): string {
  const family = profile.name.replace(/-(rdac|alua)$/, '');
  return `xsctl-${family}.conf`;
}

function syntaxToConfigError(file: string, err: unknown): never {
  if (err instanceof ConfSyntaxError) throw new ConfigError(file, `${err.message} (fix the file by hand; xsctl does not edit a file it cannot parse)`, { cause: err });
  throw err;
}

/**
 * Dry run: the diff, and multipath -t on the candidate in a private mount namespace compared with
 * the current files (a rejection fails with MultipathConfigRejectedError, nothing written). With
 * confirm: the same check, atomic write with a backup, multipath -t again; any stderr line the baseline did not have puts the old file back
 * and fails the call. Then `multipathd reconfigure`. A second apply finds nothing to change.
 */
export async function applyProfile(ctx: AgentContext, platform: MultipathPlatformInfo, req: ApplyRequest, signal?: AbortSignal): Promise<ApplyOutcome> {
  const flavor = platform.flavor;
  const layout = req.layout ?? flavor.layout;
  const translation = translateStanza(req.profile.shipped, flavor);
  const stanza = translation.stanza;
  const vendor = stanza.find(([k]) => k === 'vendor')?.[1] ?? '';
  const product = stanza.find(([k]) => k === 'product')?.[1] ?? '';
  const warnings: string[] = [...(req.profile.verification.verified ? [] : [`profile ${req.profile.name}: ${req.profile.verification.note}`]), ...req.profile.remarks];

  let targetPath: string;
  let oldContent: string | null;
  let newContent: string;
  if (layout === 'main-file') {
    targetPath = mainConfPath;
    oldContent = await readOptionalFile(ctx.root.resolve(targetPath), signal);
    try {
      const merged = mergeDeviceStanza(oldContent ?? '', stanza, { remove: translation.remove });
      newContent = merged.content;
      warnings.push(...merged.warnings);
      for (const e of deviceEntriesOf(targetPath, newContent)) {
        if (e.vendor === vendor && e.product !== product && e.line !== merged.line) {
          warnings.push(`${targetPath}:${e.line} has another ${vendor} entry (product "${e.product}") that may match the same devices`);
        }
      }
    } catch (err) {
      syntaxToConfigError(targetPath, err);
    }
  } else {
    targetPath = `${confDirPath}/${dropInName(req.profile)}`;
    oldContent = await readOptionalFile(ctx.root.resolve(targetPath), signal);
    newContent = renderDeviceFile(
      [
        `Written by xsctl: multipath profile ${req.profile.name} (${req.profile.title}).`,
        `Source: ${req.profile.source}.`,
        `Translated for ${flavor.label}.`,
        'Only one device entry applies to a device with this multipath-tools: keep no other entry for it.',
        'Do not edit: `xsctl multipath apply` rewrites this file.',
      ],
      stanza,
    );
    // Other files that hold an entry for the same device shadow or are shadowed by this one.
    const others = [mainConfPath, ...(await listConfDir(ctx.root)).map((n) => `${confDirPath}/${n}`)].filter((p) => p !== targetPath);
    for (const p of others) {
      const content = await readOptionalFile(ctx.root.resolve(p), signal);
      if (content === null) continue;
      try {
        for (const e of deviceEntriesOf(p, content)) {
          if (e.vendor === vendor) warnings.push(`${p}:${e.line} also has a device entry for ${vendor}/${e.product || '.*'}: only one entry applies per device, remove it`);
        }
      } catch (err) {
        if (err instanceof ConfSyntaxError) warnings.push(`${p}: ${err.message}`);
        else throw err;
      }
    }
  }

  const changed = oldContent !== newContent;
  const diff = unifiedDiff(oldContent ?? '', newContent, oldContent === null ? '/dev/null' : targetPath, targetPath);
  const outcome: ApplyOutcome = {
    targetPath,
    layout,
    changed,
    dryRun: !req.confirm,
    diff,
    backupPath: '',
    validation: null,
    reconfigured: false,
    reconfigureDetail: '',
    notes: translation.notes,
    warnings,
    stanza,
  };
  if (!changed) return outcome;
  if (!req.confirm) {
    // The dry run runs the write's own candidate check (read-only): a stanza the write would
    // refuse fails here with the same error, before a rollout takes a host out of service for it.
    const verdict = await checkCandidate(ctx, targetPath, newContent, signal);
    outcome.validation = verdict.validation;
    if (verdict.validation === null) warnings.push(`multipath -t could not check the candidate here (${verdict.couldNotRun}): the write validates it after writing and puts the old file back if rejected`);
    return outcome;
  }

  const committed = await commitMultipathFile(ctx, flavor, targetPath, oldContent, newContent, req.skipReconfigure, `multipath profile ${req.profile.name}`, signal);
  outcome.backupPath = committed.backupPath;
  outcome.validation = committed.validation;
  outcome.reconfigured = committed.reconfigured;
  outcome.reconfigureDetail = committed.reconfigureDetail;
  warnings.push(...committed.warnings);
  return outcome;
}

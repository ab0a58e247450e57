import type { TargetSpecOptions } from '../target/target-spec.js';
import { chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { StorageFirewallSpec } from '@xsctl/proto/gen/xsctl/agent/v1/floating_ip';
import { StorageSpec, type StorageRoleTiming, type WriteStorageRoleConfigRequest, type WriteStorageRoleConfigResponse } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { writeFileAtomic } from '../fs/write-file-atomic.js';
import { normalizeFirewall } from '../network/firewall.js';
import type { AgentContext } from '../server/agent-context.js';
import { integerInRange } from '../validate/validators.js';
import { normalizeStorageSpec } from './assert-role.js';
import { storageRoleConfigPath, storageRoleDefaults } from './boot-role.js';

/** Where the CHAP secret of the role config lives (0600), named by `passwordFile` in the YAML. */
export const storageRoleSecretPath = '/etc/xsctl/chap-secret';

function timingOf(t: StorageRoleTiming | undefined): Record<string, number> {
  const pick = (key: keyof typeof storageRoleDefaults, v: number | undefined, min: number) => integerInRange(`timing.${key}`, v === undefined || v === 0 ? storageRoleDefaults[key] : v, min, 3_600_000);
  return {
    hysteresisMs: pick('hysteresisMs', t?.hysteresisMs, 0),
    connectWaitMs: pick('connectWaitMs', t?.connectWaitMs, 0),
    retryInitialMs: pick('retryInitialMs', t?.retryInitialMs, 10),
    retryMaxMs: pick('retryMaxMs', t?.retryMaxMs, 10),
  };
}

/**
 * Renders storage.yaml from validated parts (every value has passed the spec's allow-lists; the
 * YAML library quotes what needs quoting) and the secret file's content. Pure.
 */
export function renderStorageRoleConfig(req: Pick<WriteStorageRoleConfigRequest, 'spec' | 'firewall' | 'timing'>, options: TargetSpecOptions = {}): { yaml: string; secret: string | null } {
  normalizeStorageSpec(req.spec, options);
  const spec = StorageSpec.toJSON(req.spec as StorageSpec) as Record<string, unknown>;
  const target = spec['target'] as Record<string, unknown> | undefined;
  const user = target?.['incomingUser'] as Record<string, unknown> | undefined;
  let secret: string | null = null;
  if (user !== undefined && typeof user['password'] === 'string' && user['password'] !== '') {
    secret = `${user['password']}\n`;
    delete user['password'];
    user['passwordFile'] = storageRoleSecretPath.slice(storageRoleSecretPath.lastIndexOf('/') + 1);
  }
  // A fence claim or a failover reason is stale at the next boot: the loader refuses them, so never write them.
  const safety = spec['peerSafety'] as Record<string, unknown> | undefined;
  if (safety !== undefined) {
    delete safety['peerFenced'];
    delete safety['peerFencedByPower'];
    delete safety['failoverReason'];
  }
  const doc: Record<string, unknown> = { ...timingOf(req.timing), ...spec };
  if (req.firewall !== undefined) {
    normalizeFirewall(req.firewall);
    doc['firewall'] = StorageFirewallSpec.toJSON(req.firewall);
  }
  const head = '# Written by xsctl storage setup: the storage role this host re-asserts when the agent starts\n# (rules 9 and 11; docs/storage-safety-rules.md). Change the spec and re-run the setup.\n';
  return { yaml: head + stringify(doc), secret };
}

export async function writeStorageRoleConfig(ctx: AgentContext, req: WriteStorageRoleConfigRequest, signal?: AbortSignal): Promise<WriteStorageRoleConfigResponse> {
  const { yaml, secret } = renderStorageRoleConfig(req, ctx);
  const target = ctx.root.resolve(storageRoleConfigPath);
  const secretTarget = ctx.root.resolve(storageRoleSecretPath);
  const before = await readFile(target, 'utf8').catch(() => null);
  const secretBefore = secret === null ? null : await readFile(secretTarget, 'utf8').catch(() => null);
  const changed = before !== yaml || (secret !== null && secretBefore !== secret);
  const out = { path: storageRoleConfigPath, changed, written: false, backup: '', content: yaml };
  if (!req.confirm || !changed) return out;
  const backupDir = ctx.root.resolve(join(ctx.stateDir, 'backups'));
  if (secret !== null && secretBefore !== secret) await writeFileAtomic(secretTarget, secret, { mode: 0o600, confineTo: ctx.root.root, signal });
  // A secret file the admin created by hand may be readable by others: it holds a CHAP secret.
  if (secret !== null) await chmod(secretTarget, 0o600);
  const res = await writeFileAtomic(target, yaml, { mode: 0o600, backupDir, confineTo: ctx.root.root, signal });
  ctx.logger.info({ path: storageRoleConfigPath, resources: req.spec?.drbdResources }, 'storage role config written');
  return { ...out, written: true, backup: res.backup === null ? '' : ctx.root.hostPath(res.backup) };
}

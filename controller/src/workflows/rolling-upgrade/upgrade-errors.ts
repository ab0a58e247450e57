import { XsctlError, type XsctlErrorOptions } from '@xsctl/common/errors/index';

export interface BlockerSummary {
  check: string;
  host: string;
  vm: string;
  message: string;
}

/** Prechecks or the plan found blockers the admin did not override. Nothing was changed. */
export class UpgradeBlockedError extends XsctlError {
  readonly code = 'UPGRADE_BLOCKED';

  constructor(readonly blockers: readonly BlockerSummary[]) {
    super(
      `the rolling upgrade is blocked by ${blockers.length} finding(s): ${blockers
        .slice(0, 5)
        .map((b) => `${b.check} on ${b.host}${b.vm === '' ? '' : ` (${b.vm})`}`)
        .join('; ')}${blockers.length > 5 ? '; ...' : ''}. Fix them, or override a named check with --override CHECK`,
    );
  }
}

/** A host did not come back from its reboot in time. */
export class HostBootTimeoutError extends XsctlError {
  readonly code = 'HOST_BOOT_TIMEOUT';

  constructor(
    readonly host: string,
    readonly waitedSeconds: number,
    readonly lastSeen: string,
  ) {
    super(`${host} has not come back ${waitedSeconds} s after its reboot (${lastSeen}); it stays disabled. Check its console, then \`xsctl upgrade resume\` or \`xsctl upgrade abort\``);
  }
}

/** A host came back but its storage (PBDs, multipath paths) did not. */
export class StorageNotBackError extends XsctlError {
  readonly code = 'STORAGE_NOT_BACK';

  constructor(
    readonly host: string,
    readonly missing: readonly string[],
  ) {
    super(`${host} is back but its storage is not: ${missing.join('; ')}. It stays disabled`);
  }
}

/** The host to upgrade cannot be emptied right now. */
export class CannotEvacuateError extends XsctlError {
  readonly code = 'CANNOT_EVACUATE_HOST';

  constructor(
    readonly host: string,
    readonly reasons: readonly string[],
    options?: XsctlErrorOptions,
  ) {
    super(`${host} cannot be evacuated: ${reasons.join('; ')}`, options);
  }
}

/** After the run, hosts still differ in version or hotfixes. */
export class UpgradeNotUniformError extends XsctlError {
  readonly code = 'UPGRADE_NOT_UNIFORM';

  constructor(readonly differences: readonly string[]) {
    super(`the pool is not uniform after the upgrade: ${differences.join('; ')}`);
  }
}

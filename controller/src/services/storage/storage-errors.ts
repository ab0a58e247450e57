import { XsctlError } from '@xsctl/common/errors/index';

/** Rule 4 at pool level: another host of the pool reports the resource Primary. */
export class PrimaryElsewhereError extends XsctlError {
  readonly code = 'STORAGE_PRIMARY_ELSEWHERE';

  constructor(
    readonly resource: string,
    readonly host: string,
  ) {
    super(`DRBD ${resource} is Primary on ${host}: demote it there first (or assert the slave role on it)`);
  }
}

/** Split-brain recovery needs exactly one other host holding the resource. */
export class SplitBrainPairError extends XsctlError {
  readonly code = 'STORAGE_SPLIT_BRAIN_PAIR';

  constructor(
    readonly resource: string,
    readonly candidates: readonly string[],
  ) {
    super(`cannot tell the survivor of ${resource}: ${candidates.length === 0 ? 'no other host has it' : `several hosts have it (${candidates.join(', ')})`}`);
  }
}

/** Nothing to resolve: neither host reports a split brain for the resource. */
export class NoSplitBrainError extends XsctlError {
  readonly code = 'STORAGE_NO_SPLIT_BRAIN';

  constructor(readonly resource: string) {
    super(`no split brain reported for ${resource} on either host; refusing to discard data`);
  }
}

/**
 * The how-to's first prerequisite of a split-brain recovery: "ensure that the XenServer pool is not
 * split ... both hosts have entered into the Master role". Then the good logical volumes of both
 * masters are merged by hand first; discarding one side now would lose what only it holds.
 */
export class PoolSplitError extends XsctlError {
  readonly code = 'STORAGE_POOL_SPLIT';

  constructor(readonly masters: readonly string[]) {
    super(`the pool is split: ${masters.join(' and ')} each say they are pool master (/etc/xensource/pool.conf); merge the good logical volumes onto one master and rejoin the other first (the how-to), then resolve the split brain`);
  }
}

/** The how-to's second prerequisite: "All HA processes should be stopped during this operation." */
export class HaRunningError extends XsctlError {
  readonly code = 'STORAGE_HA_RUNNING';

  constructor(readonly running: readonly string[]) {
    super(`HA is running (${running.join('; ')}): stop every HA process before a split-brain recovery (the how-to), e.g. \`service ha-lizard stop\`, \`service iscsi-ha stop\`, \`xe pool-ha-disable\``);
  }
}

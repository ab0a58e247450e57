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

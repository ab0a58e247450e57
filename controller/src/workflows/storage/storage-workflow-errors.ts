import { XsctlError, type XsctlErrorOptions } from '@xsctl/common/errors/index';

/** A switchover or failover refused before anything changed; `reason` names why. */
export class StorageRoleChangeRefusedError extends XsctlError {
  readonly code: string;

  constructor(
    readonly reason: 'peer-not-up-to-date' | 'peer-not-connected' | 'split-brain' | 'no-storage-master' | 'peer-alive' | 'survivor-not-up-to-date' | 'no-storage-config' | 'old-master-serving' | 'floating-ip-elsewhere' | 'master-present',
    readonly host: string,
    message: string,
    options?: XsctlErrorOptions,
  ) {
    super(message, options);
    this.code = `STORAGE_${reason.toUpperCase().replaceAll('-', '_')}`;
  }
}

/** A role assertion on one host stopped at a step (rule 5: stop at the first failure). */
export class StorageRoleFailedError extends XsctlError {
  readonly code = 'STORAGE_ROLE_FAILED';

  constructor(
    readonly host: string,
    readonly role: string,
    readonly failedStep: string,
    readonly stepError: string,
  ) {
    super(`${host}: ${role} role failed at ${failedStep}${stepError === '' ? '' : ` (${stepError})`}`);
  }
}

/** The initiator did not see the LUN, or saw another identity, on the floating IP (rule 7). */
export class InitiatorCheckFailedError extends XsctlError {
  readonly code = 'STORAGE_INITIATOR_CHECK_FAILED';

  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(`the initiator check on ${address} failed: ${reason}`);
  }
}

/**
 * host.declare_dead answered HOST_IS_LIVE for a host the fencer read back powered off: xapi
 * reached it (xapi_host.ml is_host_alive asks a host still marked live), so the fence's reading
 * is wrong or the BMC is another machine's. Nothing of that host's is reset or restarted.
 */
export class FencedHostAnswersError extends XsctlError {
  readonly code = 'STORAGE_FENCED_HOST_ANSWERS';

  constructor(
    readonly host: string,
    options?: XsctlErrorOptions,
  ) {
    super(`${host} was fenced by power (read back off) but its xapi still answers (host.declare_dead: HOST_IS_LIVE): its VMs are left as XAPI sees them; check the BMC wiring`, options);
  }
}

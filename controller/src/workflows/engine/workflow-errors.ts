import { XsctlError, type XsctlErrorOptions } from '@xsctl/common/errors/index';

/** A second workflow on a pool that already has an active one. */
export class WorkflowConflictError extends XsctlError {
  readonly code = 'WORKFLOW_CONFLICT';

  constructor(
    readonly pool: string,
    readonly activeId: string,
    readonly activeKind: string,
    readonly activeState: string,
    options?: XsctlErrorOptions,
  ) {
    super(`pool ${pool} already has an active workflow${activeId === '' ? '' : ` (${activeKind} ${activeId}, ${activeState})`}: wait for it, or pause/abort it first`, options);
  }
}

/** pause/resume/abort asked of a workflow in a state that does not allow it. */
export class WorkflowStateError extends XsctlError {
  readonly code = 'PRECONDITION_FAILED';

  constructor(
    readonly workflowId: string,
    readonly state: string,
    readonly wanted: string,
  ) {
    super(`workflow ${workflowId} is ${state}: cannot ${wanted}`);
  }
}

/** The admin aborted the workflow; compensations run. */
export class WorkflowAbortedError extends XsctlError {
  readonly code = 'CANCELLED';

  constructor(readonly workflowId: string) {
    super(`workflow ${workflowId} was aborted`);
  }
}

/**
 * Not a failure: the engine stopped running a workflow (controller shutting down, paused, or a
 * simulated crash). Nothing is compensated; the workflow resumes from the journal.
 */
export class WorkflowHalted extends Error {
  constructor(readonly reason: 'shutdown' | 'paused' | 'crash') {
    super(`workflow halted: ${reason}`);
    this.name = 'WorkflowHalted';
  }
}

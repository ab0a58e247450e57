import { XsctlError, type XsctlErrorOptions } from '@xsctl/common/errors/index';

/** A path (through a symlink) leads outside the directory the agent may change. */
export class PathEscapeError extends XsctlError {
  readonly code = 'PATH_ESCAPES_ROOT';

  constructor(
    readonly path: string,
    readonly resolved: string,
    readonly confinedTo: string,
    options?: XsctlErrorOptions,
  ) {
    super(`${path} leads to ${resolved}, outside ${confinedTo}: refusing to follow the link`, options);
  }
}

/** A symlink chain too long (or a loop). */
export class SymlinkLoopError extends XsctlError {
  readonly code = 'SYMLINK_LOOP';

  constructor(
    readonly path: string,
    options?: XsctlErrorOptions,
  ) {
    super(`${path}: too many levels of symbolic links`, options);
  }
}

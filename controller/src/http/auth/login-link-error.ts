import { XsctlError } from '@xsctl/common/errors/index';

export type LoginLinkProblem = 'malformed' | 'bad-signature' | 'expired' | 'already-used';

/** A dashboard login link that cannot open a session. */
export class LoginLinkError extends XsctlError {
  readonly code = 'LOGIN_LINK_INVALID';

  constructor(readonly problem: LoginLinkProblem) {
    super(`the login link is ${problem === 'bad-signature' ? 'not signed by this controller (or the controller restarted)' : problem.replace('-', ' ')}: run \`xsctl dashboard open\` for a new one`);
  }
}

/** The controller runs without its HTTPS side (no http.listen in its config). */
export class DashboardDisabledError extends XsctlError {
  readonly code = 'DASHBOARD_DISABLED';

  constructor() {
    super('the controller serves no dashboard: set http.listen in its config');
  }
}

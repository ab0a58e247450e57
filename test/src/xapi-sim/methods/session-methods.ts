import { timingSafeEqual } from 'node:crypto';
import { formatXapiDate } from '../clock.js';
import type { Credentials, MethodRegistry } from '../method-registry.js';
import { XapiFailure } from '../xapi-failure.js';
import { newRef, NULL_REF } from '../xapi-value.js';
import { stringArg } from './args.js';

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function checkCredentials(expected: Credentials, user: string, password: string): boolean {
  return sameSecret(expected.user, user) && sameSecret(expected.password, password);
}

export function registerSessionMethods(registry: MethodRegistry): void {
  // (uname, pwd, version, originator): the last two have defaults in the datamodel, so clients
  // may send 2 to 4 arguments (more are ignored by the generated server).
  registry.register('session.login_with_password', {
    session: false,
    handler: (ctx, args) => {
      const user = stringArg(args, 0);
      const password = stringArg(args, 1);
      if (!checkCredentials(ctx.server.credentials, user, password)) {
        throw new XapiFailure('SESSION_AUTHENTICATION_FAILED', [user, 'Authentication failure']);
      }
      ctx.db.addClass('session');
      const now = formatXapiDate(ctx.clock.now());
      const ref = newRef();
      ctx.db.create(
        'session',
        {
          uuid: ref.slice('OpaqueRef:'.length),
          this_host: ctx.db.masterRef(),
          this_user: NULL_REF,
          last_active: now,
          pool: false,
          other_config: {},
          is_local_superuser: true,
          subject: NULL_REF,
          validation_time: now,
          auth_user_sid: '',
          auth_user_name: user,
          rbac_permissions: [],
          tasks: [],
          parent: NULL_REF,
          originator: typeof args[3] === 'string' ? args[3] : '',
        },
        ref,
      );
      return ref;
    },
  });

  registry.register('session.logout', {
    handler: (ctx) => {
      ctx.db.destroy('session', ctx.sessionRef);
    },
  });
}

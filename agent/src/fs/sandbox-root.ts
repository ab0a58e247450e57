import { isAbsolute, join, normalize, relative, sep } from 'node:path';
import { ValidationError } from '@xsctl/common/errors/index';

/**
 * Every path the agent touches goes through here, so tests and the demo can run against a
 * sandbox tree and a request can never name a path outside the root.
 */
export class SandboxRoot {
  readonly root: string;

  constructor(root: string) {
    if (!isAbsolute(root)) throw new ValidationError('root', 'must be an absolute path');
    this.root = normalize(root);
  }

  /** Maps an absolute host path such as `/etc/multipath.conf` into the root. */
  resolve(hostPath: string): string {
    if (!isAbsolute(hostPath)) throw new ValidationError('path', `${hostPath} is not absolute`);
    const full = normalize(join(this.root, hostPath));
    const rel = relative(this.root, full);
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new ValidationError('path', `${hostPath} leaves the root`);
    }
    return full;
  }

  /** The host path of a file under the root (inverse of resolve). */
  hostPath(fullPath: string): string {
    const rel = relative(this.root, fullPath);
    if (rel.startsWith('..') || isAbsolute(rel)) throw new ValidationError('path', `${fullPath} is outside the root`);
    return `/${rel.split(sep).join('/')}`;
  }
}

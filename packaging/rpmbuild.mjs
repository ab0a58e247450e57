// rpmbuild -bb of one spec in packaging/rpm/ around a payload tree its caller assembled.
import { execFileSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Builds packaging/rpm/<spec> with xsctl_version, xsctl_release, xsctl_payload and the extra
 * `defines`; copies NAME-VERSION-RELEASE.x86_64.rpm into `out` and returns its path.
 */
export function rpmbuild({ spec, version, release, payload, work, out, defines = {} }) {
  const top = join(work, 'rpmbuild');
  const all = { _topdir: top, _rpmdir: `${top}/RPMS`, xsctl_version: version, xsctl_release: release, xsctl_payload: payload, ...defines,
    // EL7's rpm 4.11 reads gzip, bzip2 and xz payloads, not zstd (Debian's default); gzip is the quickest.
    _binary_payload: 'w6.gzdio' };
  execFileSync('rpmbuild', ['-bb', '--target', 'x86_64', ...Object.entries(all).flatMap(([k, v]) => ['--define', `${k} ${v}`]), join(repo, 'packaging', 'rpm', spec)], { stdio: ['ignore', 'ignore', 'inherit'] });
  const name = `${basename(spec, '.spec')}-${version}-${release}.x86_64.rpm`;
  copyFileSync(join(top, 'RPMS', 'x86_64', name), join(out, name));
  return join(out, name);
}

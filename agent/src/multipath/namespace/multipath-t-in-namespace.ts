/**
 * Runs `multipath -t` against a sandbox root's multipath.conf and conf.d, inside the new mount
 * namespace that `unshare --mount` made for this process: the host's /etc is never changed. The
 * agent's CommandRunner invokes it as
 *   unshare --mount -- NODE THIS.js CONF CONF_DIR SCRATCH_DIR
 * A dom0's unshare (util-linux 2.23) has no --propagation (added in 2.27, util-linux f0f22e9c6) and
 * leaves the copied mounts shared with the host's: this program makes them private itself
 * (`mount --make-rprivate /`, in util-linux 2.23) before it mounts anything.
 *
 * A fixed program, no shell: every program runs from an argument array (execFileSync/spawnSync),
 * the three arguments are only ever used as paths. It imports nothing but Node built-ins, so it
 * runs on its own after `unshare` has exec'd it. It is the one product file allowed to import
 * `node:child_process` (see eslint.config.js): the agent's CommandRunner is async and cannot be
 * used from here, where each step must finish before the next and the last one's stdout, stderr
 * and exit code are passed through as `exec multipath -t` would.
 *
 * Exit codes: 64 usage, 66 a path is missing, 70 not in a private mount namespace (or not private), the failing
 * mount's status (or 1) when a mount fails, 127 multipath not found, else multipath's own.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';

const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', LC_ALL: 'C' };

function fail(code: number, message: string): never {
  process.stderr.write(`multipath-t-in-namespace: ${message}\n`);
  process.exit(code);
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** `mount ARGS...`; a failure ends this program with mount's status, as `set -e` did. */
function mount(args: readonly string[]): void {
  try {
    execFileSync('mount', args, { stdio: ['ignore', 'inherit', 'inherit'], env });
  } catch (err) {
    const status = (err as { status?: number | null }).status;
    fail(typeof status === 'number' && status !== 0 ? status : 1, `mount ${args.join(' ')} failed`);
  }
}

const args = process.argv.slice(2);
if (args.length !== 3) fail(64, 'usage: multipath-t-in-namespace CONF CONF_DIR SCRATCH_DIR');
const [conf, confd, scratch] = args as [string, string, string];
if (!isFile(conf)) fail(66, `not a file: ${conf}`);
if (!isDir(confd)) fail(66, `not a directory: ${confd}`);
if (!isDir(scratch)) fail(66, `not a directory: ${scratch}`);

// Refuse to mount anything in the host's namespace: ours must differ from init's (/proc/1) and from
// the parent's (the agent that ran `unshare`, which exec'd us). Some sandboxes deny reading
// /proc/1/ns/mnt even to root; the parent's is then the reference. Neither readable: refuse.
function mountNs(pid: string): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return null;
  }
}
const own = mountNs('self');
const references = [mountNs('1'), mountNs(String(process.ppid))].filter((r): r is string => r !== null);
if (own === null || references.length === 0) fail(70, 'cannot read the mount namespaces to compare; refusing to mount');
if (references.includes(own)) fail(70, 'refusing to run outside a private mount namespace');
// Our copies of the host's mounts are still in the host's peer groups when unshare left them
// shared (2.23 has no --propagation; newer ones make them private already): cut them off first.
mount(['--make-rprivate', '/']);
// ... and every mount must now be private, or our mounts would propagate to a peer group outside.
const shared = readFileSync('/proc/self/mountinfo', 'utf8')
  .split('\n')
  .filter((l) => / shared:\d+/.test(l.split(' - ')[0] ?? ''));
if (shared.length > 0) fail(70, `refusing to mount: ${shared.length} mount(s) still shared (after mount --make-rprivate /)`);

if (!isFile('/etc/multipath.conf') || !isDir('/etc/multipath/conf.d')) {
  // No mount points on this machine: lay a throw-away overlay over /etc to create them.
  mount(['-t', 'tmpfs', 'xsctl-mpt', scratch]);
  mkdirSync(join(scratch, 'upper'));
  mkdirSync(join(scratch, 'work'));
  mount(['-t', 'overlay', 'xsctl-mpt', '-o', `lowerdir=/etc,upperdir=${join(scratch, 'upper')},workdir=${join(scratch, 'work')}`, '/etc']);
  if (!existsSync('/etc/multipath.conf')) writeFileSync('/etc/multipath.conf', '');
  mkdirSync('/etc/multipath/conf.d', { recursive: true });
}
mount(['--bind', conf, '/etc/multipath.conf']);
mount(['--bind', confd, '/etc/multipath/conf.d']);

const r = spawnSync('multipath', ['-t'], { stdio: ['ignore', 'inherit', 'inherit'], env });
if (r.error !== undefined) fail((r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 127 : 126, `multipath: ${r.error.message}`);
if (r.signal !== null) fail(128 + constants.signals[r.signal], `multipath killed by ${r.signal}`);
process.exit(r.status ?? 1);

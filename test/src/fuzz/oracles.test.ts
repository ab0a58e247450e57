import { describe, expect, it } from 'vitest';
import { argvProblems, classify, isReadOnlyCall, namedField, writesOutsideAllowList } from './oracles.js';
import { reparseTargetsConf, valuesInFile } from './reparse.js';
import { diffTrees, type Snapshot } from './sandbox-tree.js';

/** The fuzz oracles must be able to fail: each is fed what it exists to catch. */
describe('fuzz oracles', () => {
  const takesValue = (command: string, arg: string) => (command === 'drbdadm' && arg === '-c' ? 'takes-value' : command === 'drbdadm' && arg === '--force' ? 'flag' : null);

  it('flags argv elements with CR, LF, NUL, a .. component, or a value starting with -', () => {
    const problems = (args: string[]) => argvProblems([{ command: 'drbdadm', args }], takesValue).map((p) => p.problem);
    expect(problems(['-c', '/etc/drbd.conf', 'up', 'r0'])).toEqual([]);
    expect(problems(['up', 'r0\n'])).toEqual(['contains CR, LF or NUL']);
    expect(problems(['up', 'r\r0'])).toEqual(['contains CR, LF or NUL']);
    expect(problems(['up', 'r\x000'])).toEqual(['contains CR, LF or NUL']);
    expect(problems(['-c', '/etc/../../x', 'up'])).toEqual(['has a .. path component']);
    expect(problems(['-c', '-x', 'up'])).toEqual(['value of -c starts with -']);
    expect(problems(['up', '--discard-my-data'])).toEqual(['starts with - where a value is expected']);
    expect(problems(['--force', 'up', 'r0'])).toEqual([]);
  });

  it('tells typed failures (a code from the one table, with its status) from untyped ones', () => {
    expect(classify(0, '')).toEqual({ kind: 'ok' });
    expect(classify(3, 'VALIDATION_FAILED: invalid tid: x')).toMatchObject({ kind: 'typed', code: 'VALIDATION_FAILED' });
    expect(classify(13, 'INTERNAL: internal error (see the server log)')).toMatchObject({ kind: 'untyped' });
    expect(classify(13, 'Error deserializing request')).toMatchObject({ kind: 'untyped' });
    // A known code with another status than the table's is not typed either.
    expect(classify(13, 'VALIDATION_FAILED: invalid tid: x')).toMatchObject({ kind: 'untyped' });
    expect(namedField('invalid targets[0].luns[1].backingStore: expected')).toBe('backingStore');
    expect(namedField('no field here')).toBeNull();
  });

  it('finds changed paths and the ones outside a method allow-list', () => {
    const before: Snapshot = new Map([
      ['/etc', { type: 'dir', mode: 0o755, content: '' }],
      ['/etc/drbd.conf', { type: 'file', mode: 0o644, content: 'a' }],
      ['/etc/passwd', { type: 'file', mode: 0o644, content: 'p' }],
    ]);
    const after: Snapshot = new Map([
      ['/etc', { type: 'dir', mode: 0o755, content: '' }],
      ['/etc/drbd.conf', { type: 'file', mode: 0o600, content: 'b' }],
      ['/etc/passwd', { type: 'link', mode: 0, content: '/outside' }],
      ['/var/lib/xsctl-agent/backups/drbd.conf.1', { type: 'file', mode: 0o600, content: 'a' }],
    ]);
    const changed = diffTrees(before, after);
    expect(changed).toEqual(['/etc/drbd.conf', '/etc/passwd', '/var/lib/xsctl-agent/backups/drbd.conf.1']);
    expect(writesOutsideAllowList(changed, ['/etc/drbd.conf'])).toEqual(['/etc/passwd']);
  });

  it('counts only reading commands as a dry run', () => {
    expect(isReadOnlyCall({ command: 'drbdadm', args: ['sh-minor', 'r0'] })).toBe(true);
    expect(isReadOnlyCall({ command: 'drbdadm', args: ['up', 'r0'] })).toBe(false);
    expect(isReadOnlyCall({ command: 'iptables', args: ['-w', '-C', 'INPUT', '-j', 'ACCEPT'] })).toBe(true);
    expect(isReadOnlyCall({ command: 'iptables', args: ['-w', '-I', 'INPUT', '1', '-j', 'ACCEPT'] })).toBe(false);
    expect(isReadOnlyCall({ command: 'tgtadm', args: ['--op', 'new', '--mode', 'target'] })).toBe(false);
    expect(isReadOnlyCall({ command: 'ip', args: ['addr', 'add', '10.0.0.3/24', 'dev', 'eth1'] })).toBe(false);
  });

  it('reads a targets.conf back through the real tgt-admin and sees a CHAP secret it drops', async () => {
    const conf = (secondSecret: string) =>
      `default-driver iscsi\n<target iqn.2026-12.com.example:a>\n    initiator-address 10.0.0.0/24\n    incominguser chapuser FirstSecret123\n</target>\n<target iqn.2026-12.com.example:b>\n    initiator-address 10.0.0.0/24\n    incominguser chapuser ${secondSecret}\n</target>\n`;
    const request = { targets: [{ incomingUser: { user: 'chapuser', password: 'FirstSecret123' } }, { incomingUser: { user: 'chapuser', password: 'OtherSecret456' } }] };
    expect(valuesInFile(conf('OtherSecret456'), request).sort()).toEqual(['FirstSecret123', 'OtherSecret456', 'chapuser']);
    // tgt-admin creates the account once: the second secret never reaches tgtadm.
    expect(await reparseTargetsConf(conf('OtherSecret456'), request)).toMatchObject({ ok: false, changed: ['OtherSecret456'] });
    expect(await reparseTargetsConf(conf('FirstSecret123'), { targets: [request.targets[0]] })).toMatchObject({ ok: true });
  });
});

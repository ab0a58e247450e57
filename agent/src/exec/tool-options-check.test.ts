import { describe, expect, it } from 'vitest';
import { checkToolArgs, compareVersions } from './tool-options.js';

/**
 * checkToolArgs at its boundaries: an option is `-x` or `--name[=value]`, a listed option that takes
 * a value swallows the next argument (unless written `--name=value`), `-` alone and every other
 * argument are positional, and a tool with subcommands must be called with one of its words as
 * the leading positional arguments (a whole word, never a prefix of one).
 */
describe('checkToolArgs', () => {
  it('accepts listed options, with and without their values', () => {
    expect(checkToolArgs('arping', ['-q', '-c', '2', '-w', '3', '-I', 'xenbr1', '10.0.0.9'])).toBeNull();
    expect(checkToolArgs('blkid', ['-p', '-o', 'export', '/dev/sdb'])).toBeNull();
    expect(checkToolArgs('sg_vpd', ['-p', '0x83', '-H', '/dev/sda'])).toBeNull();
  });
  it('refuses an option the table does not list, naming it, even after listed ones', () => {
    expect(checkToolArgs('arping', ['-q', '-b', '10.0.0.9'])).toEqual({ arg: '-b', reason: 'arping -b is not in the tool-option table' });
    expect(checkToolArgs('sg_vpd', ['--inhex=/dev/sda'])).toEqual({ arg: '--inhex=/dev/sda', reason: 'sg_vpd --inhex=/dev/sda is not in the tool-option table' });
    expect(checkToolArgs('sg_vpd', ['--page=0x83'])).toMatchObject({ arg: '--page=0x83' });
  });
  it('a value that looks like an option belongs to the option before it; a flag does not swallow the next argument', () => {
    expect(checkToolArgs('arping', ['-I', '-U', '10.0.0.9'])).toBeNull();
    expect(checkToolArgs('arping', ['-q', '-x'])).toMatchObject({ arg: '-x' });
    expect(checkToolArgs('blkid', ['-p', '-z'])).toMatchObject({ arg: '-z' });
  });
  it('`-` alone is positional, and so is any argument not starting with a dash', () => {
    expect(checkToolArgs('arping', ['-'])).toBeNull();
    expect(checkToolArgs('arping', ['x-y'])).toBeNull();
  });
  it('an option written --name=value is looked up by its name; a short option with = is looked up whole', () => {
    expect(checkToolArgs('blkid', ['-o=export'])).toMatchObject({ arg: '-o=export' });
    // getopt_long's `--name=value` (tgtadm parses its options with getopt_long): the part before
    // the first `=` is looked up, the value after it is the option's own, so the next argument is
    // the next option and is checked as one.
    expect(checkToolArgs('tgtadm', ['--op=show', '--mode=target'])).toBeNull();
    expect(checkToolArgs('tgtadm', ['--op=show', '-x'])).toEqual({ arg: '-x', reason: 'tgtadm -x is not in the tool-option table' });
    expect(checkToolArgs('tgtadm', ['--op=new=x', '--mode', 'target'])).toBeNull();
    expect(checkToolArgs('tgtadm', ['--opx=show'])).toEqual({ arg: '--opx=show', reason: 'tgtadm --opx=show is not in the tool-option table' });
  });
  it('subcommands: a whole listed word, or a word followed by its arguments', () => {
    expect(checkToolArgs('ip', ['addr', 'show', 'dev', 'eth0'])).toBeNull();
    expect(checkToolArgs('ip', ['addr', 'show'])).toBeNull();
    expect(checkToolArgs('ip', ['addr', 'flush', 'dev', 'eth0'])).toEqual({ arg: 'addr flush dev eth0', reason: 'ip addr flush dev is not a subcommand in the tool-option table' });
    expect(checkToolArgs('ip', ['addr', 'showx'])).toMatchObject({ arg: 'addr showx' });
    expect(checkToolArgs('ip', ['addr'])).toMatchObject({ arg: 'addr', reason: 'ip addr is not a subcommand in the tool-option table' });
    expect(checkToolArgs('ip', ['xaddr', 'show'])).toMatchObject({ arg: 'xaddr show' });
    expect(checkToolArgs('ip', [])).toBeNull();
  });
  it('`--` ends the options only for a tool that runs another program (unshare)', () => {
    expect(checkToolArgs('unshare', ['--mount', '--', 'multipath', '-t', '-x'])).toBeNull();
    expect(checkToolArgs('unshare', ['--mount', '--', 'multipath'])).toBeNull();
    expect(checkToolArgs('unshare', ['--bogus', '--', 'x'])).toMatchObject({ arg: '--bogus' });
    expect(checkToolArgs('arping', ['--', '-b'])).toMatchObject({ arg: '--' });
    expect(checkToolArgs('systemctl', ['is-active', '--', 'tgtd'])).toMatchObject({ arg: '--' });
  });
  it('a tool without a table entry is refused', () => {
    expect(checkToolArgs('nosuch' as never, [])).toEqual({ arg: 'nosuch', reason: 'nosuch has no entry in the tool-option table' });
  });
});

describe('compareVersions', () => {
  it.each([
    ['1.4.11', '1.4.9', 1], ['1.4.9', '1.4.11', -1], ['1.4', '1.4.0', 0], ['1.4.0.1', '1.4', 1], ['1.4', '1.4.0.1', -1],
    ['20160308', '20020927', 1], ['4.2.6p5', '4.2.6', 1], ['8.4-1', '8.4', 1], ['2', '10', -1], ['x', '0', 0], ['1.x.2', '1.0.2', 0],
  ])('%s vs %s -> %i', (a, b, d) => {
    expect(compareVersions(a, b)).toBe(d);
  });
});

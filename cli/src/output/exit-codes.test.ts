import { execa } from 'execa';
import { join } from 'node:path';
import { Status } from 'nice-grpc-common';
import { describe, expect, it } from 'vitest';
import { RemoteError } from '@xsctl/common/errors/index';
import { coloursEnabled } from './colour.js';
import { exitCodeFor, exitCodeForWorkflowEnd, exitCodeForWorkflowState } from './exit-codes.js';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'xsctl.js');
const xsctl = async (args: string[]): Promise<number> =>
  (await execa(process.execPath, [bin, ...args], { env: { PATH: process.env['PATH'] ?? '', XSCTL_CONFIG: '/nonexistent/cli.yaml' }, extendEnv: false, reject: false })).exitCode ?? -1;

describe('exit codes (docs/CLI.md)', () => {
  it('maps controller answers to the documented codes', () => {
    const remote = (status: Status, code: string) => new RemoteError(code, status, 'x');
    expect(exitCodeFor(remote(Status.UNAVAILABLE, 'UNAVAILABLE'))).toBe(2);
    expect(exitCodeFor(remote(Status.PERMISSION_DENIED, 'PERMISSION_DENIED'))).toBe(3);
    expect(exitCodeFor(remote(Status.RESOURCE_EXHAUSTED, 'RATE_LIMITED'))).toBe(3);
    expect(exitCodeFor(remote(Status.ALREADY_EXISTS, 'WORKFLOW_CONFLICT'))).toBe(5);
    expect(exitCodeFor(remote(Status.INTERNAL, 'COMMAND_FAILED'))).toBe(7);
    expect([exitCodeForWorkflowState('done'), exitCodeForWorkflowState('failed'), exitCodeForWorkflowState('aborted'), exitCodeForWorkflowState('paused')]).toEqual([0, 4, 4, 6]);
    // A command that ran the workflow (storage setup/switchover/failover --yes): the docs' table, and 7 for a stream that broke before the end.
    expect(['done', 'failed', 'aborted', 'paused', 'running', ''].map(exitCodeForWorkflowEnd)).toEqual([0, 4, 4, 6, 7, 7]);
  });

  it('usage errors exit 2, help and version 0 (the real CLI)', { timeout: 180_000 }, async () => {
    expect(await xsctl(['hosts', '--no-such-flag'])).toBe(2);
    expect(await xsctl(['no-such-command'])).toBe(2);
    expect(await xsctl([])).toBe(2);
    expect(await xsctl(['decode', 'no-such-format', '-'])).toBe(2);
    // No controller configured: a usage problem, not a finding.
    expect(await xsctl(['hosts'])).toBe(2);
    expect(await xsctl(['--help'])).toBe(0);
    expect(await xsctl(['upgrade', 'watch', '--help'])).toBe(0);
    expect(await xsctl(['--version'])).toBe(0);
  });
});

describe('colours', () => {
  it('only on a TTY, never with NO_COLOR, never for TERM=dumb', () => {
    expect(coloursEnabled({ isTTY: true }, {})).toBe(true);
    expect(coloursEnabled({ isTTY: false }, {})).toBe(false);
    expect(coloursEnabled({}, {})).toBe(false);
    expect(coloursEnabled({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    // An empty NO_COLOR does not count (no-color.org).
    expect(coloursEnabled({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
    expect(coloursEnabled({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
    expect(coloursEnabled({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { CliError } from '../../output/cli-error.js';
import { daysOf, renderClean } from './blobs.js';

describe('xsctl blobs', () => {
  it('reads ages in days or weeks', () => {
    expect(daysOf(undefined)).toBe(90);
    expect(daysOf('90d')).toBe(90);
    expect(daysOf('12w')).toBe(84);
    expect(daysOf('30')).toBe(30);
    expect(() => daysOf('0d')).toThrow(CliError);
    expect(() => daysOf('3 months')).toThrow(/--older-than/);
  });

  it('says a dry run moved nothing and how to undo a real one', () => {
    const base = { files: 3, bytes: 3 * 2 ** 20, links: 9, skippedExternalLinks: 1, sample: ['/var/lib/xcp/blobs/messages/1306414984.12345'] };
    const dry = renderClean({ host: 'xs1', result: { ...base, dryRun: true, quarantineId: '', quarantineDir: '' } }, 90);
    expect(dry).toContain('xs1: dry run: would move 3 message file(s) older than 90 days (3.0 MiB) and 9 link(s)');
    expect(dry).toContain('1 link(s) leave the blobs tree: never touched');
    const done = renderClean({ host: 'xs1', result: { ...base, dryRun: false, quarantineId: 'q-20240601T120000Z-ab12', quarantineDir: '/var/lib/xsctl-agent/blob-quarantine/q-20240601T120000Z-ab12' } }, 90);
    expect(done).toContain('undo: xsctl blobs undo --host xs1 --id q-20240601T120000Z-ab12 --yes');
  });
});

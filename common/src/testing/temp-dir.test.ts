import { stat } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './temp-dir.js';

const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);

let inBeforeAll = '';

describe('tempDir', () => {
  let inTest = '';
  let failing = '';

  beforeAll(async () => {
    inBeforeAll = await tempDir('xsctl-tempdir-test-');
  });

  it('creates the directory with the prefix', async () => {
    inTest = await tempDir('xsctl-tempdir-test-');
    expect(inTest).toMatch(/\/xsctl-tempdir-test-[A-Za-z0-9]{6}$/);
    expect(await exists(inTest)).toBe(true);
    expect(await exists(inBeforeAll)).toBe(true);
  });

  it.fails('a failing test', async () => {
    failing = await tempDir('xsctl-tempdir-test-');
    throw new Error('fails on purpose');
  });

  it('removed the directories of the tests before, passed or failed, but not the suite one', async () => {
    expect(inTest).not.toBe('');
    expect(failing).not.toBe('');
    expect(await exists(inTest)).toBe(false);
    expect(await exists(failing)).toBe(false);
    expect(await exists(inBeforeAll)).toBe(true);
  });
});

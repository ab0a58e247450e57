import type { JournalWriteHook } from './workflow-store.js';

/**
 * Test hook: with XSCTL_TEST_KILL_AFTER_JOURNAL_WRITE=N the controller SIGKILLs itself right after
 * its Nth committed step write (an intent or an outcome), so a test can stop it at every step
 * boundary of a real run and check that the restarted controller finishes the job. Counted per
 * process. XSCTL_TEST_JOURNAL_WRITES=1 prints each write to stderr, to learn N's range.
 */
export function killHookFromEnv(env: NodeJS.ProcessEnv = process.env): JournalWriteHook | undefined {
  const target = Number(env['XSCTL_TEST_KILL_AFTER_JOURNAL_WRITE'] ?? '');
  const trace = env['XSCTL_TEST_JOURNAL_WRITES'] === '1';
  if (!(Number.isInteger(target) && target > 0) && !trace) return undefined;
  return (count, what) => {
    if (trace) process.stderr.write(`journal-write ${count} ${what.phase} ${what.step}\n`);
    if (count === target) process.kill(process.pid, 'SIGKILL');
  };
}

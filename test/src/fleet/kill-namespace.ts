import { execa } from 'execa';

/** SIGKILLs every process still running inside network namespace `ns` (tgtd, arping, iscsi-inq ...). */
export async function killNamespaceProcesses(ns: string): Promise<void> {
  const pids = await execa('ip', ['netns', 'pids', ns], { reject: false });
  for (const pid of String(pids.stdout).split(/\s+/).filter((p) => /^\d+$/.test(p))) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Kills what still runs inside `ns`, then deletes it; a namespace already gone is no error. */
export async function deleteNamespace(ns: string): Promise<void> {
  await killNamespaceProcesses(ns);
  await execa('ip', ['netns', 'del', ns], { reject: false });
}

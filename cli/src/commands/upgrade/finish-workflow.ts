import type { UpgradeServiceClient } from '@xsctl/proto/gen/xsctl/controller/v1/upgrade';
import type { DeadlineOptions } from '@xsctl/common/grpc/index';
import { exitCodeForWorkflowState } from '../../output/exit-codes.js';
import { progress } from '../../output/output.js';
import { renderSummary, type ProgressDisplay } from './render-upgrade.js';

/** The states in which a workflow may still move: `--pool` picks the pool's one in these first. */
export const activeStates: ReadonlySet<string> = new Set(['running', 'paused', 'aborting']);

/**
 * After a live display's stream ended (`upgrade --rolling --yes`, `upgrade watch`, `pause|resume|abort
 * --watch`): the workflow's record as it is now, the display's notes, the summary on stdout, what
 * to run next, and the exit code of its state.
 */
export async function finishWorkflow(client: UpgradeServiceClient<DeadlineOptions>, workflowId: string, display: ProgressDisplay, json: boolean): Promise<void> {
  const end = (await client.status({ pool: '', workflowId })).workflows[0];
  if (end === undefined) return;
  if (!json) {
    for (const n of display.notes) process.stderr.write(`${n}\n`);
    process.stdout.write(renderSummary(end));
    if (end.state === 'paused') progress(`paused: \`xsctl upgrade resume --id ${end.id}\` continues`);
    if (end.state === 'running') progress(`still running: \`xsctl upgrade watch --id ${end.id}\` re-attaches`);
  }
  process.exitCode = exitCodeForWorkflowState(end.state);
}

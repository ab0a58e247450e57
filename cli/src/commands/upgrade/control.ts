import type { UpgradeWorkflow } from '@xsctl/proto/gen/xsctl/controller/v1/upgrade';
import { withController } from '../../client/connect-controller.js';
import type { GlobalFlags } from '../../config/cli-config.js';
import { CliError } from '../../output/cli-error.js';
import { printJson, progress } from '../../output/output.js';
import { ProgressDisplay } from './render-upgrade.js';
import { finishWorkflow } from './finish-workflow.js';
import { stderrPaint } from '../../output/colour.js';
import { upgradeClient } from './upgrade-client.js';

export interface ControlFlags {
  pool?: string;
  id?: string;
  json?: boolean;
  watch?: boolean;
}

export type ControlVerb = 'pause' | 'resume' | 'abort';

/** pause, resume and abort share their flags: the workflow by --id, or the pool's (active or latest) one. */
export async function runControl(verb: ControlVerb, flags: ControlFlags, global: GlobalFlags): Promise<void> {
  if (flags.pool === undefined && flags.id === undefined) throw new CliError('BAD_FLAG', 'which upgrade?', 'give --pool NAME or --id WORKFLOW');
  await withController(global, async ({ channel }) => {
    const client = upgradeClient(channel);
    const request = { pool: flags.pool ?? '', workflowId: flags.id ?? '' };
    const res = verb === 'pause' ? await client.pause(request) : verb === 'resume' ? await client.resume(request) : await client.abort(request);
    const w = res.workflow as UpgradeWorkflow;
    if (flags.json === true && flags.watch !== true) {
      printJson(w);
      return;
    }
    progress(`${verb}: workflow ${w.id} on pool ${w.pool} is ${w.state}${w.request === '' ? '' : ` (${w.request} requested)`}`);
    if (flags.watch !== true) return;
    const display = new ProgressDisplay(process.stderr.isTTY === true, (s) => process.stderr.write(s), stderrPaint());
    for await (const { event } of client.watch({ pool: '', workflowId: w.id, afterEventId: w.lastEventId })) {
      if (event === undefined) continue;
      if (flags.json === true) process.stdout.write(`${JSON.stringify(event)}\n`);
      else display.handle(event);
    }
    await finishWorkflow(client, w.id, display, flags.json === true);
  });
}

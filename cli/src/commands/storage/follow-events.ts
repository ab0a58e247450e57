import { exitCodeForWorkflowEnd } from '../../output/exit-codes.js';

/**
 * Follows a storage workflow's event stream: one JSON line per event on stdout with `--json`,
 * else the event's progress line on stderr. Sets the exit code from the final state.
 */
export async function followEvents<E>(events: AsyncIterable<{ event?: E }>, json: boolean, lineOf: (e: E) => string | null, stateOf: (e: E, previous: string) => string): Promise<string> {
  let state = '';
  for await (const { event } of events) {
    if (event === undefined) continue;
    state = stateOf(event, state);
    if (json) process.stdout.write(`${JSON.stringify(event)}\n`);
    else {
      const line = lineOf(event);
      if (line !== null) process.stderr.write(`${line}\n`);
    }
  }
  process.exitCode = exitCodeForWorkflowEnd(state);
  return state;
}

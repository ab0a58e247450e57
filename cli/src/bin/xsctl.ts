#!/usr/bin/env node
import { CommanderError } from 'commander';
import { buildProgram } from '../program.js';
import { describeFailure } from '../client/describe-failure.js';
import { Status } from 'nice-grpc-common';
import { RemoteError } from '@xsctl/common/errors/index';
import { loadCliConfig, type GlobalFlags } from '../config/cli-config.js';
import { probeTls, type ProbeResult } from '../client/probe-tls.js';
import { ExitCode, exitCodeFor } from '../output/exit-codes.js';

const program = buildProgram();

program.parseAsync(process.argv).catch(async (err: unknown) => {
  if (err instanceof CommanderError) {
    // Commander printed the message (or the help) already.
    process.exit(err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? ExitCode.OK : ExitCode.USAGE);
  }
  const flags = program.opts<GlobalFlags>();
  const controller = flags.controller ?? process.env['XSCTL_CONTROLLER'];
  let probe: ProbeResult | undefined;
  if (err instanceof RemoteError && err.grpcStatus === Status.UNAVAILABLE) {
    probe = await loadCliConfig(flags).then(probeTls, () => undefined);
  }
  process.stderr.write(`xsctl: ${describeFailure(err, controller, probe)}\n`);
  process.exit(exitCodeFor(err));
});

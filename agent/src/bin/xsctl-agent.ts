#!/usr/bin/env node
import { Command } from 'commander';
import { XsctlError } from '@xsctl/common/errors/index';
import { agentVersion } from '../version.js';
import { registerAgentCommands } from '../commands/register-agent-commands.js';

const program = new Command('xsctl-agent').version(agentVersion).description('xsctl agent for a XenServer / XCP-ng dom0');
registerAgentCommands(program);
program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof XsctlError) {
    process.stderr.write(`xsctl-agent: ${err.code}: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`xsctl-agent: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

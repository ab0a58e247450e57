import type { Command } from 'commander';
import { DashboardServiceDefinition } from '@xsctl/proto/gen/xsctl/controller/v1/dashboard';
import { serviceClient, withController } from '../../client/connect-controller.js';
import type { GlobalFlags } from '../../config/cli-config.js';
import { printJson, progress } from '../../output/output.js';

/** `xsctl dashboard open`: a one-time login link for a browser that has no client certificate. */
export function registerDashboard(program: Command): void {
  const dashboard = program.command('dashboard').description('the controller\'s read-only web dashboard');
  dashboard
    .command('open')
    .description('print a one-time login link (signed by the controller) that opens a short dashboard session with your role')
    .option('--viewer', 'open the session as a viewer even if your certificate is an operator\'s')
    .option('--json', 'print JSON')
    .action(async (flags: { viewer?: boolean; json?: boolean }, cmd: Command) => {
      const link = await withController(cmd.optsWithGlobals<GlobalFlags>(), async ({ channel }) =>
        serviceClient(channel, DashboardServiceDefinition, 15_000).createLoginLink({ viewerOnly: flags.viewer === true }),
      );
      if (flags.json === true) {
        printJson(link);
        return;
      }
      process.stdout.write(`${link.url}\n`);
      progress(`open it once before ${link.expiresAt}; the session lasts ${link.sessionMinutes} min as ${link.role}`);
      progress('the dashboard\'s certificate is issued by the project CA: trust ca.crt in your browser (see docs/DASHBOARD.md)');
    });
}

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandRunnerOptions } from '@xsctl/agent/exec/command-runner';

/** The simulator program (a Node script with a shebang; drbdadm execs it as drbdsetup and drbdmeta). */
export function drbdSimPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'drbd-sim.mjs');
  // From dist/drbd-sim the script still lives in src/drbd-sim.
  return existsSync(beside) ? beside : join(here, '..', '..', 'src', 'drbd-sim', 'drbd-sim.mjs');
}

export interface DrbdSimOptions {
  /** The `on NAME` this node plays (__DRBD_NODE__). */
  node: string;
  /** Kernel version to pretend: 8.3.x, 8.4.x or 9.x (DRBD_DRIVER_VERSION_OVERRIDE). */
  kernelVersion: string;
  /** Host directory the agent uses as its root; the simulated /proc/drbd and kernel log go there. */
  root: string;
  /** State shared by the simulated nodes of one cluster. */
  simDir: string;
}

/**
 * CommandRunner settings that make a real drbdadm drive the simulator: `-c ROOT/etc/drbd.conf -s SIM -m SIM`,
 * the node name and kernel version in the environment, and drbdsetup itself mapped to the simulator.
 */
export function drbdSimRunnerOptions(o: DrbdSimOptions): Pick<CommandRunnerOptions, 'paths' | 'prefixArgs' | 'env'> {
  const sim = drbdSimPath();
  return {
    paths: { drbdsetup: sim, drbdmeta: sim },
    prefixArgs: { drbdadm: ['-c', join(o.root, 'etc/drbd.conf'), '-s', sim, '-m', sim] },
    env: {
      __DRBD_NODE__: o.node,
      DRBD_DRIVER_VERSION_OVERRIDE: o.kernelVersion,
      XSCTL_DRBD_SIM_DIR: o.simDir,
      XSCTL_DRBD_SIM_PROC: join(o.root, 'proc/drbd'),
      XSCTL_DRBD_SIM_KERNLOG: join(o.root, 'var/log/kern.log'),
      PATH: `${dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    },
  };
}

#!/usr/bin/env node
// Chassis control for OpenIPMI's ipmi_sim (lan.conf `chassis_control`): ipmi_sim runs it as
// `bmc-chassis.mjs CONFIG get power` (prints power:1|0) and `... set power 0|1`. Powering a
// fleet host off does what losing power does to a dom0: every process in its namespace dies
// (tgtd, the DRBD link processes), runtime addresses (the floating IP) go, the DRBD kernel state
// is gone without an orderly `down` (the simulator's --crash: no state change reaches the peer, no
// new data generation, the metadata stays as it was, a Primary's primary indicator set), and its
// cables carry nothing (switch ports down).
// Powering on plugs the cables back; the test harness starts the agent again (a boot).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const [configFile, op, parm, value] = process.argv.slice(2);
const c = JSON.parse(readFileSync(configFile, 'utf8'));
const power = () => (existsSync(c.stateFile) ? readFileSync(c.stateFile, 'utf8').trim() : '1');
const run = (cmd, args, env) => {
  try {
    return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'], env: env ?? process.env, timeout: 10_000 }).toString();
  } catch {
    return '';
  }
};

function powerOff() {
  for (const port of c.ports) run('ip', ['-n', c.switchNs, 'link', 'set', port, 'down']);
  for (const pid of run('ip', ['netns', 'pids', c.ns]).split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const [iface, keep] of Object.entries(c.keep)) {
    const shown = run('ip', ['-n', c.ns, '-o', '-4', 'addr', 'show', 'dev', iface]);
    for (const m of shown.matchAll(/inet (\S+)/g)) if (m[1].split('/')[0] !== keep) run('ip', ['-n', c.ns, 'addr', 'del', m[1], 'dev', iface]);
  }
  run(process.execPath, [c.sim.script, '--crash'], { ...process.env, ...c.sim.env });
}

if (op === 'get' && parm === 'power') {
  process.stdout.write(`power:${power()}\n`);
} else if (op === 'set' && parm === 'power') {
  // A stuck chassis (a fault to inject): the BMC accepts the command, the power stays on.
  if (c.stuck === true) process.exit(0);
  if (value === '0' && power() !== '0') powerOff();
  if (value === '1') for (const port of c.ports) run('ip', ['-n', c.switchNs, 'link', 'set', port, 'up']);
  writeFileSync(c.stateFile, value === '0' ? '0' : '1');
} else {
  process.exit(1);
}

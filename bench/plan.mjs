#!/usr/bin/env node
// Plan-time benchmark: prints JSON. The planner (the same code `xsctl upgrade --plan` and the
// prechecks run) on generated pools of growing size, from the pool model to the finished plan.
// Goal: 64 hosts x 2,000 VMs within 20x the time of 16 x 500. Each pool has anti-affinity groups
// (one per two hosts, three VMs each); the end state is printed: balance, the least headroom left
// on a host, and how many groups are kept at least as spread as before.
// Usage: npm run build && npm run bench:plan [-- --runs 3 --max-hosts-down 1]
import { parseArgs } from 'node:util';
import { planRollingUpgrade } from '@xsctl/controller/placement/index';
import { buildPoolModel } from '@xsctl/controller/pool-model/index';
import { generatePool } from '@xsctl/test/pools/generate-pool';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, 'max-hosts-down': { type: 'string', default: '1' } } });
const runs = Math.max(1, Number(values.runs));
const sizes = [
  [16, 500],
  [64, 2000],
  [128, 4000],
];
const out = [];
for (const [hosts, vms] of sizes) {
  const model = buildPoolModel(generatePool({ hosts, vms, seed: 7, fill: 0.7, hostMemoryGiB: 256, antiAffinityGroups: { groups: hosts / 2, size: 3 } }));
  const times = [];
  let plan;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    plan = planRollingUpgrade(model, { maxHostsDown: Number(values['max-hosts-down']) });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  out.push({ hosts, vms, medianMs: Math.round(times[Math.floor(times.length / 2)]), minMs: Math.round(times[0]), runnable: plan.runnable, waves: plan.totals.waves, migrations: plan.totals.migrations, roomMoves: plan.totals.roomMoves, ordersEvaluated: plan.search.ordersEvaluated,
    endState: {
      balance: plan.endState.balance,
      minHeadroom: Math.min(...plan.endState.hosts.filter((h) => h.guestMemoryBytes > 0).map((h) => h.headroom)),
      antiAffinity: { groups: plan.endState.antiAffinity.length, kept: plan.endState.antiAffinity.filter((g) => g.kept).length },
    },
  });
}
const base = out[0].medianMs || 1;
process.stdout.write(`${JSON.stringify({ benchmark: 'plan-time', runs, pools: out, ratios: { '64x2000/16x500': Number((out[1].medianMs / base).toFixed(2)), '128x4000/16x500': Number((out[2].medianMs / base).toFixed(2)) }, goal: { '64x2000/16x500': 20 } }, null, 2)}\n`);

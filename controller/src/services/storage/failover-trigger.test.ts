import { describe, expect, it } from 'vitest';
import { failoverTrigger, type FailoverTrigger, type FailoverTriggerInput } from './failover-trigger.js';

/**
 * The witness's decision, each condition flipped alone from a lost master (docs/storage-safety-
 * rules.md): rule 3 (a Connected replication link means a live peer), the failover delay of
 * "The bound, and how it is enforced" (detectAfterMs after the master's last answer, longer than
 * the self-fence and its tear-down), rule 11 (hold-down after a role change). Times are written
 * out by hand: detectAfterMs 3000, holdDownMs 60000, now 1_000_000.
 */
const now = 1_000_000;
const lost = (o: Partial<FailoverTriggerInput> = {}): FailoverTriggerInput => ({
  now,
  master: { reachable: false, lastSeen: 997_000 },
  survivor: { reachable: true, replicationConnected: false },
  lostSince: 0,
  alerted: false,
  lastRoleChange: 0,
  workflowActive: () => false,
  detectAfterMs: 3000,
  holdDownMs: 60_000,
  automatic: true,
  ...o,
});

describe('failoverTrigger', () => {
  const cases: Array<[string, FailoverTriggerInput, FailoverTrigger]> = [
    ['rules 2, 3: master silent 3000 ms, survivor answers with its link down: start, lost since the last answer', lost(), { act: 'start', lostSince: 997_000 }],
    ['rule 3: the survivor reports its replication link Connected: the peer is alive, no incident', lost({ survivor: { reachable: true, replicationConnected: true } }), { act: 'clear' }],
    ['rule 3: the survivor gave no view of its link: no evidence, no incident', lost({ survivor: { reachable: true, replicationConnected: undefined } }), { act: 'clear' }],
    ['rule 3: the survivor does not answer either: the witness may be the one cut off, no incident', lost({ survivor: { reachable: false, replicationConnected: false } }), { act: 'clear' }],
    ['rule 3: the master answers (last answer 2999 ms ago): no incident', lost({ master: { reachable: true, lastSeen: 997_001 } }), { act: 'clear' }],
    ['rule 3: the master answered just now: no incident, even with an alert raised', lost({ master: { reachable: true, lastSeen: now }, alerted: true, lostSince: 990_000 }), { act: 'clear' }],
    ['bound section: a call still out, the master silent exactly detectAfterMs: lost, start', lost({ master: { reachable: true, lastSeen: 997_000 } }), { act: 'start', lostSince: 997_000 }],
    ['bound section: a call still out, silent detectAfterMs + 1 ms: start', lost({ master: { reachable: true, lastSeen: 996_999 } }), { act: 'start', lostSince: 996_999 }],
    ['bound section: a reachable master that never answered (lastSeen 0) is not silent', lost({ master: { reachable: true, lastSeen: 0 } }), { act: 'clear' }],
    ['bound section: last answer 2999 ms ago, call failed: lost, wait for detectAfterMs', lost({ master: { reachable: false, lastSeen: 997_001 } }), { act: 'wait', lostSince: 997_001, until: 'detect' }],
    ['bound section: last answer 3001 ms ago: start', lost({ master: { reachable: false, lastSeen: 996_999 } }), { act: 'start', lostSince: 996_999 }],
    ['bound section: an incident already counted keeps its start (2999 ms ago): wait', lost({ lostSince: 997_001, master: { reachable: false, lastSeen: 990_000 } }), { act: 'wait', lostSince: 997_001, until: 'detect' }],
    ['bound section: an incident already counted, 3000 ms ago: start from its start', lost({ lostSince: 997_000, master: { reachable: false, lastSeen: 990_000 } }), { act: 'start', lostSince: 997_000 }],
    ['bound section: a last answer stamped after now (clock stepped back) counts from now', lost({ master: { reachable: false, lastSeen: 1_000_500 } }), { act: 'wait', lostSince: now, until: 'detect' }],
    ['bound section: a master never answered is silent since the epoch: start', lost({ master: { reachable: false, lastSeen: 0 } }), { act: 'start', lostSince: 0 }],
    ['one workflow per pool: another runs, wait', lost({ workflowActive: () => true }), { act: 'wait', lostSince: 997_000, until: 'workflow' }],
    ['rule 11: the roles changed 59999 ms ago: in the hold-down, wait', lost({ lastRoleChange: 940_001 }), { act: 'wait', lostSince: 997_000, until: 'hold-down' }],
    ['rule 11: the roles changed exactly holdDownMs ago: start', lost({ lastRoleChange: 940_000 }), { act: 'start', lostSince: 997_000 }],
    ['rule 11: a workflow running is reported before the hold-down', lost({ lastRoleChange: now, workflowActive: () => true }), { act: 'wait', lostSince: 997_000, until: 'workflow' }],
    ['automatic off: alert the admin', lost({ automatic: false }), { act: 'alert', lostSince: 997_000 }],
    ['automatic off: once per incident', lost({ automatic: false, alerted: true }), { act: 'wait', lostSince: 997_000, until: 'admin' }],
    ['automatic on: an alert raised earlier does not stop the failover', lost({ alerted: true }), { act: 'start', lostSince: 997_000 }],
    ['automatic off, still within detectAfterMs: no alert yet', lost({ automatic: false, master: { reachable: false, lastSeen: 997_001 } }), { act: 'wait', lostSince: 997_001, until: 'detect' }],
    ['rule 11, automatic off: no alert in the hold-down', lost({ automatic: false, lastRoleChange: 940_001 }), { act: 'wait', lostSince: 997_000, until: 'hold-down' }],
  ];
  it.each(cases)('%s', (_name, input, expected) => {
    expect(failoverTrigger(input)).toEqual(expected);
  });

  it('asks whether another workflow runs only once the master has been lost for detectAfterMs', () => {
    const asked: number[] = [];
    const workflowActive = () => (asked.push(1), false);
    failoverTrigger(lost({ workflowActive, master: { reachable: true, lastSeen: now } }));
    failoverTrigger(lost({ workflowActive, master: { reachable: false, lastSeen: 997_001 } }));
    expect(asked).toHaveLength(0);
    failoverTrigger(lost({ workflowActive }));
    expect(asked).toHaveLength(1);
  });
});

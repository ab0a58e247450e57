import { drbdNetTimerLines, drbdNetTimers } from '@xsctl/common/drbd/drbd-net-timers';
import { ValidationError } from '@xsctl/common/errors/index';
import { DrbdSyntax } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { drbdAddress, type DrbdResourceConfig } from './drbd-spec.js';
import { syntaxName } from './drbd-version.js';

/**
 * drbd.conf in the dialect of the installed DRBD:
 * - 8.3: `protocol` at resource level, resync rate in `syncer {}`;
 * - 8.4: `protocol` inside `net {}`, `resync-rate` in `disk {}`, no syncer;
 * - 9: `node-id` per host, `connection-mesh`, `options { quorum; auto-promote no; }`.
 * Auto-promote is off on 9: only an explicit, checked promote may make a node Primary (tgtd
 * opening /dev/drbdN on the slave must not promote it).
 */
export function renderDrbdConf(resources: readonly DrbdResourceConfig[], syntax: DrbdSyntax): string {
  if (syntax !== DrbdSyntax.DRBD_SYNTAX_V83 && syntax !== DrbdSyntax.DRBD_SYNTAX_V84 && syntax !== DrbdSyntax.DRBD_SYNTAX_V9) {
    throw new ValidationError('syntax', 'expected DRBD 8.3, 8.4 or 9 syntax');
  }
  const lines: string[] = [
    `# drbd.conf for DRBD ${syntaxName[syntax]}, rendered by xsctl. Edit the spec, not this file.`,
    'global {',
    '  usage-count no;',
    '}',
  ];
  for (const r of resources) lines.push('', ...renderResource(r, syntax));
  return `${lines.join('\n')}\n`;
}

function renderResource(r: DrbdResourceConfig, syntax: DrbdSyntax): string[] {
  if (syntax !== DrbdSyntax.DRBD_SYNTAX_V9 && r.nodes.length !== 2) {
    throw new ValidationError(`resources.${r.name}.nodes`, `DRBD ${syntaxName[syntax]} replicates between exactly two nodes`);
  }
  const out: string[] = [`resource ${r.name} {`];
  if (syntax === DrbdSyntax.DRBD_SYNTAX_V83) out.push(`  protocol ${r.protocol};`);
  if (syntax === DrbdSyntax.DRBD_SYNTAX_V9) {
    out.push('  options {', `    quorum ${r.quorum};`);
    if (r.onNoQuorum !== '') out.push(`    on-no-quorum ${r.onNoQuorum};`);
    out.push('    auto-promote no;', '  }');
  }
  out.push('  net {');
  if (syntax !== DrbdSyntax.DRBD_SYNTAX_V83) out.push(`    protocol ${r.protocol};`);
  out.push(`    after-sb-0pri ${r.afterSb0pri};`, `    after-sb-1pri ${r.afterSb1pri};`, `    after-sb-2pri ${r.afterSb2pri};`);
  // The fast-failover keep-alive: without it DRBD pings every 10 s and the survivor sees a dead
  // master up to 10.5 s late, past the witness's detectAfterMs (rule 3; drbd-net-timers.ts).
  out.push(...drbdNetTimerLines(drbdNetTimers).map((l) => `    ${l}`));
  if (r.sharedSecret !== '') out.push(`    cram-hmac-alg ${r.cramHmacAlg};`, `    shared-secret "${r.sharedSecret}";`);
  out.push('  }');
  if (syntax === DrbdSyntax.DRBD_SYNTAX_V83) out.push('  syncer {', `    rate ${r.resyncRate};`, '  }');
  else out.push('  disk {', `    resync-rate ${r.resyncRate};`, '  }');
  for (const n of r.nodes) {
    out.push(`  on ${n.hostname} {`);
    if (syntax === DrbdSyntax.DRBD_SYNTAX_V9) out.push(`    node-id   ${n.nodeId};`);
    out.push(
      `    device    /dev/drbd${r.minor};`,
      `    disk      ${n.disk};`,
      `    address   ${drbdAddress(n.address, n.port)};`,
      '    meta-disk internal;',
      '  }',
    );
  }
  if (syntax === DrbdSyntax.DRBD_SYNTAX_V9) out.push('  connection-mesh {', `    hosts ${r.nodes.map((n) => n.hostname).join(' ')};`, '  }');
  out.push('}');
  return out;
}

/** Replaces shared secrets in drbd.conf text or drbdsetup command lines, for anything shown or logged. */
export function redactDrbdSecrets(text: string): string {
  return text
    .replace(/(shared-secret\s+)"[^"\n]*"/g, '$1"[redacted]"')
    .replace(/(shared-secret\s+)(?!")\S+;/g, '$1[redacted];')
    .replace(/(--shared-secret[= ])\S+/g, '$1[redacted]');
}

import { parseMultipathLl, type MultipathMapInfo, type ParsedMaps } from '@xsctl/agent/multipath/parse-multipath-ll';
import { parseMultipathdJson } from '@xsctl/agent/multipath/parse-multipathd-json';
import { CliError } from '../../output/cli-error.js';
import { formatTable } from '../../output/output.js';
import { registerDecoder } from './decoder-table.js';

/** `xsctl decode multipath-ll|multipathd-json FILE`: the agent's parsers, offline. */
export function renderMaps(maps: readonly MultipathMapInfo[]): string {
  const out: string[] = [];
  for (const m of maps) {
    out.push(`${m.name}${m.wwid !== m.name ? ` (${m.wwid})` : ''} ${m.dm ?? '-'} ${m.vendor ?? '?'},${m.product ?? '?'}`);
    out.push(`  size=${m.size ?? '-'} features='${m.features ?? '-'}' hwhandler='${m.hwhandler ?? '-'}' wp=${m.writePolicy ?? '-'}`);
    const rows = m.groups.flatMap((g, i) =>
      g.paths.map((p) => [`#${i + 1}`, g.policy, g.prio, g.status, p.hctl, p.dev, p.devt, p.dmState, p.checkerState, p.deviceState, p.prio]),
    );
    out.push(
      formatTable(['GROUP', 'POLICY', 'PRIO', 'STATUS', 'HCTL', 'DEV', 'DEVT', 'DM', 'CHECKER', 'DEVICE', 'PATH PRIO'], rows)
        .trimEnd()
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
  }
  return `${out.join('\n')}\n`;
}

function result(parsed: ParsedMaps, what: string): object {
  if (parsed.maps.length === 0) throw new CliError('DECODE_FAILED', `no multipath maps in the ${what} input`, parsed.warnings.slice(0, 3).join('; ') || 'paste the whole output');
  return parsed.warnings.length > 0 ? { maps: parsed.maps, warnings: parsed.warnings } : { maps: parsed.maps };
}

registerDecoder('multipath-ll', {
  description: '`multipath -ll` / `multipathd show topology` (tree or old bracket format)',
  decode: (input) => result(parseMultipathLl(input), 'multipath -ll'),
  render: (d) => renderMaps((d as { maps: MultipathMapInfo[] }).maps),
});

registerDecoder('multipathd-json', {
  description: '`multipathd show maps json`',
  decode: (input) => {
    try {
      return result(parseMultipathdJson(input), 'multipathd json');
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError('DECODE_FAILED', (err as Error).message, 'paste the output of `multipathd show maps json`', { cause: err });
    }
  },
  render: (d) => renderMaps((d as { maps: MultipathMapInfo[] }).maps),
});

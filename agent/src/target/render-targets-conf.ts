import type { TargetConfig } from './target-spec.js';

export const chapPlaceholder = '[redacted]';

/**
 * targets.conf for tgt-admin. Every LUN sits in a `<backing-store>` block with its fixed identity;
 * `controller_tid` pins the tid, so both nodes number the target alike (rule 7). With
 * `redactSecrets` the CHAP password is replaced, for review output.
 */
export function renderTargetsConf(targets: readonly TargetConfig[], options: { redactSecrets: boolean }): string {
  const out: string[] = [
    '# targets.conf rendered by xsctl. Edit the spec, not this file.',
    '# tgtd must not start at boot on its own: the storage role starts it (xsctl storage assert-role).',
    'default-driver iscsi',
  ];
  for (const t of targets) {
    out.push('', `<target ${t.iqn}>`, `    controller_tid ${t.tid}`);
    for (const l of t.luns) {
      out.push(
        `    <backing-store ${l.backingStore}>`,
        `        lun ${l.lun}`,
        `        bs-type ${l.bsType}`,
        `        scsi_id ${l.scsiId}`,
        `        scsi_sn ${l.scsiSn}`,
        `        vendor_id ${l.vendorId}`,
        `        product_id ${l.productId}`,
        '    </backing-store>',
      );
    }
    for (const a of t.initiatorAddresses) out.push(`    initiator-address ${a}`);
    for (const n of t.initiatorNames) out.push(`    initiator-name ${n}`);
    if (t.chap !== null) out.push(`    incominguser ${t.chap.user} ${options.redactSecrets ? chapPlaceholder : t.chap.password}`);
    out.push('</target>');
  }
  return `${out.join('\n')}\n`;
}

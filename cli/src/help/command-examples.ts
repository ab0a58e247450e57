/**
 * Examples shown at the end of each command's --help, by command path. A command added without
 * examples fails cli/src/help/command-examples.test.ts, which walks every registered command.
 * Commands may also call withExamples() themselves; either way the help text is the contract.
 */
export type Example = readonly [command: string, what: string];

export const commandExamples: Readonly<Record<string, readonly Example[]>> = {
  hosts: [
    ['xsctl hosts', "every pool: XAPI's view and each agent's facts side by side"],
    ['xsctl hosts --pool prod --json', 'one pool, as JSON'],
  ],
  pki: [
    ['xsctl pki init --dir pki', 'create the project CA'],
    ['xsctl pki issue cli alice --role operator --dir pki', 'a certificate for an admin'],
    ['xsctl pki revoke alice --dir pki', 'revoke it; the controller refuses it and tells the agents'],
  ],
  'pki init': [['xsctl pki init --dir /etc/xsctl/pki --name "ACME xsctl CA"', 'create the CA (refuses to overwrite one)']],
  'pki issue': [
    ['xsctl pki issue controller xsctl-controller --dir pki --ip 10.0.0.5 --dns xsctl.example.org', "the controller's certificate (HTTPS and gRPC)"],
    ['xsctl pki issue agent xs1 --dir pki --ip 10.0.0.11', "an agent's certificate: the name is the dom0's hostname"],
    ['xsctl pki issue cli vera --role viewer --dir pki --days 30', 'a read-only user for 30 days (default 90; agents and controllers 180)'],
    ['xsctl pki issue agent xs1 --dir pki --force', 'replace the certificate of xs1 and revoke the old one (prefer `pki rotate`)'],
  ],
  'pki rotate': [
    ['xsctl pki rotate xs1 --dir pki', 'new key and certificate for xs1, same names; the old one is revoked'],
    ['xsctl pki rotate xsctl-controller --dir pki --keep-old', 'a staged rotation: the old one stays valid until revoked by --serial'],
  ],
  'pki revoke': [
    ['xsctl pki revoke alice --dir pki --reason keyCompromise', "revoke every unexpired certificate of alice and re-sign pki/ca/crl.pem"],
    ['xsctl pki revoke --serial 1186a9e2ead88f5fad743363ae0a23f4 --dir pki', 'revoke exactly one certificate (serials from `pki list`)'],
  ],
  'pki list': [['xsctl pki list --dir pki', 'what the CA issued, revoked, and what expires within 30 days']],
  'pki crl': [['xsctl pki crl --dir pki', 're-sign the revocation list before its next update (90 days)']],
  decode: [
    ['xsctl decode multipath-ll multipath-ll.txt', 'decode `multipath -ll` output saved from a host'],
    ['ssh root@xs1 cat /proc/drbd | xsctl decode proc-drbd - --json', 'from standard input, as JSON'],
  ],
  multipath: [
    ['xsctl multipath profiles', 'array profiles xsctl knows'],
    ['xsctl multipath apply --profile starwind --pool prod --yes', 'roll a profile out to every host'],
  ],
  'multipath profiles': [['xsctl multipath profiles --host xs1', 'profiles, with what the host runs']],
  'multipath show': [['xsctl multipath show --pool prod', "each host's multipath.conf as the agent reads it"]],
  'multipath apply': [
    ['xsctl multipath apply --profile starwind --host xs1', 'dry run: the diff and `multipath -t` verdict, nothing written'],
    ['xsctl multipath apply --profile starwind --pool prod --yes', 'write it on every host and reconfigure multipathd'],
  ],
  'multipath enable': [['xsctl multipath enable --pool prod --yes', 'enable multipathd on every host']],
  'multipath maps': [['xsctl multipath maps --host xs1 --json', 'multipath maps and path states']],
  'multipath rollout-status': [['xsctl multipath rollout-status --pool prod', "the latest rollout's state and each step on each host"]],
  'multipath rollout': [
    ['xsctl multipath rollout --pool prod --profile starwind --plan', 'what each host gets: stanza diff, VMs moved, SRs re-plugged; nothing changes'],
    ['xsctl multipath rollout --pool prod --profile starwind --yes', 'host by host: maintenance, stanza, multipathing on, PBDs re-plugged, paths checked, back in service'],
    ['xsctl multipath rollout --pool prod --profile starwind --paths 4 --override VM_REQUIRES_SR --yes', 'expect 4 paths per LUN; shut down VMs on local disks while their host is in maintenance'],
    ['xsctl multipath rollout --pool prod --profile starwind --yes', 'after a pause (a host short of paths) or a controller restart: the same command continues'],
  ],
  scsi: [['xsctl scsi alua --pool prod', 'is ALUA really in use on every LUN']],
  'scsi alua': [
    ['xsctl scsi alua --pool prod', 'the ALUA verdict per LUN on every host'],
    ['xsctl scsi alua --host xs1 --device /dev/mapper/36001405abc', 'one LUN, with the evidence'],
  ],
  'scsi inspect': [['xsctl scsi inspect --host xs1 --device /dev/sdb --json', 'INQUIRY, VPD 0x83/0xc9 and RTPG of one path']],
  upgrade: [
    ['xsctl upgrade --rolling --pool prod --plan', 'the plan: order, every migration, blockers; changes nothing'],
    ['xsctl upgrade --rolling --pool prod --yes', 'run it, with live progress'],
    ['xsctl upgrade --rolling --plan --from-dump pool.xml --json', "rehearse on a pool's `xe pool-dump-database`"],
  ],
  'upgrade status': [
    ['xsctl upgrade status --pool prod', "the pool's rolling upgrades, newest first"],
    ['xsctl upgrade status --id 3f2c… --json', 'one workflow with its report'],
  ],
  'upgrade watch': [
    ['xsctl upgrade watch --pool prod', "re-attach to the pool's running upgrade's live display"],
    ['xsctl upgrade watch --id 3f2c…', 'any workflow by id (a storage switchover too)'],
  ],
  'upgrade pause': [['xsctl upgrade pause --pool prod --watch', 'pause at the next host boundary and watch it get there']],
  'upgrade resume': [['xsctl upgrade resume --pool prod', 'continue (also confirms a manual ISO step), watching the progress']],
  'upgrade abort': [['xsctl upgrade abort --pool prod', 'stop and undo what it can (re-enable hosts, HA, WLB)']],
  storage: [['xsctl storage status --pool hc1', 'both nodes: DRBD, target, floating IP, problems']],
  'storage status': [
    ['xsctl storage status --pool hc1', 'roles, disks, connection, split brain, floating IP'],
    ['xsctl storage status --pool hc1 --spec storage.yaml --json', 'also check the spec (IP, target) on every node'],
  ],
  'storage assert-role': [['xsctl storage assert-role --pool hc1 --host xs1 --role master --spec storage.yaml --dry-run', 'what bringing xs1 up as storage master would do']],
  'storage switchover': [
    ['xsctl storage switchover --pool hc1', 'only the checks: peer UpToDate and Connected, no VM I/O in flight'],
    ['xsctl storage switchover --pool hc1 --to xs2 --yes', 'move the storage master role to xs2, journaled and resumable'],
  ],
  'storage failover': [
    ['xsctl storage failover --pool hc1 --reason "xs1 lost power"', 'what an unplanned failover would do (fence, promote, XAPI recovery)'],
    ['xsctl storage failover --pool hc1 --reason "xs1 lost power" --yes', 'fence the dead master and serve from the survivor'],
  ],
  'storage setup': [
    ['xsctl storage setup --pool hc1 --spec storage.yaml', 'dry run: what each step would change on each host, and what stops it'],
    ['xsctl storage setup --pool hc1 --spec storage.yaml --create-md --yes', 'set both hosts up (create-md DESTROYS the backing disks); a re-run continues'],
  ],
  'storage setup-status': [['xsctl storage setup-status --pool hc1', "each step on each host, and each host's storage now"]],
  'storage witness': [['xsctl storage witness --pool hc1 --json', 'what the controller sees of each node, and the last failover']],
  drbd: [['xsctl drbd status --pool hc1', 'DRBD as each node sees it']],
  'drbd config': [['xsctl drbd config --spec storage.yaml --drbd-version 8.4', 'render drbd.conf offline for DRBD 8.4']],
  'drbd status': [['xsctl drbd status --pool hc1 --json', 'roles, disk states, sync progress']],
  'drbd promote': [['xsctl drbd promote --pool hc1 --host xs2 --resource r0 --peer-fenced', 'promote xs2 after its peer was fenced (rule 2)']],
  'drbd demote': [['xsctl drbd demote --pool hc1 --host xs1 --resource r0', 'demote, bounded in time (rule 6)']],
  'drbd resolve-split-brain': [['xsctl drbd resolve-split-brain --pool hc1 --resource r0 --victim xs2 --yes', "discard xs2's changes (rule 10: name the victim)"]],
  tgt: [['xsctl tgt show --pool hc1', 'targets and LUNs tgtd serves on each node']],
  'tgt config': [['xsctl tgt config --spec storage.yaml', 'render targets.conf offline']],
  'tgt show': [['xsctl tgt show --host xs1 --json', "tgtd's runtime state on one node"]],
  precheck: [
    ['xsctl precheck --pool prod', 'every upgrade precheck; exit 1 on blockers'],
    ['xsctl precheck --pool prod --backup-metadata --json', 'take a metadata backup first, JSON report'],
  ],
  blobs: [['xsctl blobs scan --host xs1', '/var/lib/xcp/blobs: what is there and what is dangling']],
  'blobs scan': [['xsctl blobs scan --pool prod --json', 'every host']],
  'blobs clean': [
    ['xsctl blobs clean --host xs1 --older-than 90d', 'dry run: what would be quarantined'],
    ['xsctl blobs clean --host xs1 --older-than 90d --yes', 'quarantine them (undo restores)'],
  ],
  'blobs undo': [['xsctl blobs undo --host xs1 --id 20261204T101500Z --yes', 'restore a quarantine']],
  dashboard: [['xsctl dashboard open', 'a one-time login link for your browser']],
  'dashboard open': [
    ['xsctl dashboard open', 'print the link (valid once, for 2 minutes)'],
    ['xdg-open "$(xsctl dashboard open --viewer)"', 'open it as a viewer in the default browser'],
  ],
  completion: [['xsctl completion bash > /etc/bash_completion.d/xsctl', 'install bash completion']],
  'completion bash': [
    ['source <(xsctl completion bash)', 'in the current shell'],
    ['xsctl completion bash > ~/.local/share/bash-completion/completions/xsctl', 'for every new shell'],
  ],
  'completion zsh': [['xsctl completion zsh > "${fpath[1]}/_xsctl"', 'for every new zsh (then `compinit`)']],
};

#!/usr/bin/env node
// DRBD state simulator: plays drbdsetup and drbdmeta for a real drbdadm (`drbdadm -s SIM -m SIM`)
// where the kernel module cannot load (containers, CI). It keeps per-node, per-resource state in
// JSON files under $XSCTL_DRBD_SIM_DIR, so two simulated nodes see each other, and it refuses
// what the kernel refuses, with the kernel's exit codes and messages:
//   - primary without UpToDate data: exit 17, "State change failed: (-2) Need access to UpToDate data"
//   - primary while the connected peer is Primary: exit 11, "(-1) Multiple primaries not allowed by config"
//   - secondary while the device is held open ($DIR/NODE/RES.holders exists): exit 11, "(-12) Device is held open by someone"
//   - attach without meta data: exit 10, "(119) No valid meta-data signature found."
//   - connect --discard-my-data while Primary: exit 10, "(123) --discard-my-data not allowed when primary."
// One refusal is the simulator's own, stricter than the kernel, so a test can catch a skipped step:
//   - 8.3 `net` (drbdadm connect) on a minor whose `syncer` settings were never loaded: exit 20.
//     The 8.3 kernel would connect and resync at its 250 KB/s default; the how-to brings resources
//     up as attach, syncer, connect so that `syncer { rate 100M; }` applies.
// A connection forms when both nodes have asked for it. The handshake decides like DRBD does,
// reduced to what failover needs: Inconsistent syncs from UpToDate (instantly), equal data
// generations connect, a generation changed on one side only resyncs the other side
// (discard-zero-changes), changes on both sides are a split brain: both drop to StandAlone and
// "Split-Brain detected but unresolved, dropping connection!" goes to each node's kernel log,
// until one side connects with --discard-my-data. A node that becomes Primary while disconnected
// starts a new data generation.
// Network mode (XSCTL_DRBD_SIM_NETWORK=1): the connection is a real TCP session between the two
// nodes' replication addresses, held by one link process per node and resource (started by
// `connect`, as the kernel starts its receiver thread), pinging every ping-int and dropping the
// connection when no answer comes within ping-timeout, as DRBD's PingAck does. Cutting the link (a
// veth down, a host gone) is seen by each side on its own: conn( Connected -> NetworkFailure ),
// then WFConnection, and a Primary starts a new data generation; when the link returns the
// handshake runs again (resync or split brain). A crash (`drbd-sim --crash`, what the lab's power-off
// and lost host do) is no `down`: the node's kernel state is gone at once, with no state change
// sent to the peer and no new data generation; its metadata stays as written (generation,
// UpToDate, and the primary indicator of a Primary, DRBD's MDF_PRIMARY_IND, which the next attach
// reads as CRASHED_PRIMARY). The peer learns of it only by its PingAck timeout. When the node
// comes back (`up`: attach, connect), the handshake follows drbd_uuid_compare() (drbd_receiver.c):
// its generation is the one the new master started from (rule 50), so it becomes SyncTarget and
// ends UpToDate; with equal generations a crashed Primary is the SyncSource (rule 40).
// ping-int/ping-timeout come from drbdadm's
// --ping-int/--ping-timeout when drbd.conf sets them, else XSCTL_DRBD_SIM_PING_INT_MS (default 10 s,
// DRBD's default) and XSCTL_DRBD_SIM_PING_TIMEOUT_MS (default 500 ms). As in the kernel, a ping
// goes out after ping-int without anything received and the connection drops ping-timeout after
// it (drbd.conf(5) 8.4 ping-int, ping-timeout); the link process runs SCHED_RR like the asender.
// Environment: XSCTL_DRBD_SIM_DIR (shared state), __DRBD_NODE__ (this node),
// DRBD_DRIVER_VERSION_OVERRIDE (8.3.x / 8.4.x / 9.x: the output dialect),
// XSCTL_DRBD_SIM_PROC (where this node's /proc/drbd is written), XSCTL_DRBD_SIM_KERNLOG (kernel log).
/* global setInterval */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keepAlive, received, tick } from './asender.mjs';

const dir = process.env.XSCTL_DRBD_SIM_DIR;
const node = process.env.__DRBD_NODE__;
const version = process.env.DRBD_DRIVER_VERSION_OVERRIDE || '9.1.0';
const major = version.startsWith('8.3') ? '8.3' : version.startsWith('8.') ? '8.4' : '9';
const args = process.argv.slice(2);
const network = process.env.XSCTL_DRBD_SIM_NETWORK === '1';

let holdingLock = false;

function die(code, message) {
  process.stderr.write(`${message}\n`);
  // process.exit skips `finally`: release the lock here.
  if (holdingLock) rmSync(join(dir, '.lock'), { force: true });
  process.exit(code);
}

if (!dir || !node) die(20, 'drbd-sim: XSCTL_DRBD_SIM_DIR and __DRBD_NODE__ must be set');

const nodeDir = (n) => join(dir, n);
const readJson = (file, fallback) => (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : fallback);
function writeJson(file, value) {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 1)}\n`);
  renameSync(tmp, file);
}
const nodes = () => (existsSync(dir) ? readdirSync(dir).filter((n) => existsSync(join(dir, n, 'node.json'))) : []);
const resFile = (n, r) => join(nodeDir(n), `res-${r}.json`);
const mdFile = (n, minor) => join(nodeDir(n), `md-${minor}.json`);
const loadRes = (n, r) => readJson(resFile(n, r), null);
const saveRes = (n, s) => writeJson(resFile(n, s.name), s);
const loadMd = (n, minor) => readJson(mdFile(n, minor), null);
const saveMd = (n, minor, md) => writeJson(mdFile(n, minor), md);
const allRes = (n) =>
  existsSync(nodeDir(n))
    ? readdirSync(nodeDir(n))
        .filter((f) => f.startsWith('res-') && f.endsWith('.json'))
        .map((f) => readJson(join(nodeDir(n), f), null))
        .filter(Boolean)
    : [];

/**
 * One writer at a time: every invocation and every link process changes the shared JSON files
 * under this lock (a file created exclusively; a lock left by a dead process is taken over).
 */
function withLock(fn) {
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, '.lock');
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      holdingLock = true;
      break;
    } catch {
      const holder = Number(existsSync(lock) ? readFileSync(lock, 'utf8') : '');
      if (Number.isInteger(holder) && holder > 0 && !alive(holder)) rmSync(lock, { force: true });
      else if (Date.now() > deadline) rmSync(lock, { force: true });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3);
    }
  }
  try {
    return fn();
  } finally {
    holdingLock = false;
    rmSync(lock, { force: true });
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const linkFile = (n, r) => join(nodeDir(n), `link-${r}.json`);
const linkPidFile = (n, r) => join(nodeDir(n), `link-${r}.pid`);
/** Outside network mode the replication link is always there (the tests that need no namespaces). */
const linkUp = (n, r) => !network || readJson(linkFile(n, r), { up: false }).up === true;

// Register this node: where its /proc/drbd and kernel log live, so a peer's change can update them.
writeJson(join(nodeDir(node), 'node.json'), {
  proc: process.env.XSCTL_DRBD_SIM_PROC || '',
  kernlog: process.env.XSCTL_DRBD_SIM_KERNLOG || '',
  major,
  version,
});

let generation = Date.now();
const newGeneration = () => `${node}-${(generation++).toString(16)}`;

function kernelLog(n, line) {
  const info = readJson(join(nodeDir(n), 'node.json'), {});
  if (!info.kernlog) return;
  mkdirSync(dirname(info.kernlog), { recursive: true });
  const stamp = new Date().toISOString().replace('T', ' ').slice(0, 19);
  appendFileSync(info.kernlog, `${stamp} ${n} kernel: ${line}\n`);
}

function devLabel(n, s) {
  const info = readJson(join(nodeDir(n), 'node.json'), {});
  return info.major === '9' ? `drbd ${s.name}/0 drbd${s.minor} ${s.peerName || 'peer'}:` : `block drbd${s.minor}:`;
}

/** The peer's record for resource `s` on node `n`, found by address (8.x) or name (9). */
function peerOf(n, s) {
  for (const other of nodes()) {
    if (other === n) continue;
    const p = loadRes(other, s.name);
    if (p === null) continue;
    if (s.peerName && s.peerName === other) return { node: other, res: p };
    if (s.peerAddr && p.localAddr === s.peerAddr) return { node: other, res: p };
  }
  return null;
}

function diskState(n, s) {
  if (!s.attached) return 'Diskless';
  return loadMd(n, s.minor)?.disk ?? 'Diskless';
}

function isConnected(n, s) {
  if (!s.configured || !s.wantConnect) return false;
  const p = peerOf(n, s);
  // A crashed peer sent nothing: this side still holds the connection until its PingAck times out.
  if (p === null || (!p.res.configured && !(network && p.res.crashed)) || s.connectedWith !== p.node) return false;
  // In network mode each side knows only its own end of the link: it detects a loss on its own.
  if (network) return linkUp(n, s.name);
  return p.res.wantConnect && p.res.connectedWith === n;
}

/** Runs the handshake for every resource pair where both sides want to connect. */
function settle() {
  for (const n of nodes()) {
    for (const s of allRes(n)) {
      if (!s.configured || !s.wantConnect || s.connectedWith) continue;
      const p = peerOf(n, s);
      if (p === null || !p.res.configured || !p.res.wantConnect) continue;
      // Network mode: the handshake needs the TCP session up on both ends.
      if (!linkUp(n, s.name) || !linkUp(p.node, s.name)) continue;
      handshake(n, s, p.node, p.res);
    }
  }
  for (const n of nodes()) renderProc(n);
}

function handshake(an, a, bn, b) {
  const amd = a.attached ? loadMd(an, a.minor) : null;
  const bmd = b.attached ? loadMd(bn, b.minor) : null;
  let synced = false;
  const connect = () => {
    a.connectedWith = bn;
    b.connectedWith = an;
    a.discardMyData = false;
    b.discardMyData = false;
    saveRes(an, a);
    saveRes(bn, b);
    // After a resync the kernel log already ends with SyncSource/SyncTarget -> Connected.
    if (!synced) for (const [n, s] of [[an, a], [bn, b]]) kernelLog(n, `${devLabel(n, s)} conn( WFReportParams -> Connected )`);
  };
  const syncFrom = (srcN, src, srcMd, dstN, dst, dstMd, rule) => {
    // The resync itself is instant here; the kernel's lines for it are not (a test reads them).
    const was = dstMd.disk;
    if (rule !== undefined) {
      kernelLog(dstN, `${devLabel(dstN, dst)} uuid_compare()=-1 by rule ${rule}`);
      kernelLog(srcN, `${devLabel(srcN, src)} uuid_compare()=1 by rule ${rule}`);
    } else {
      kernelLog(dstN, `${devLabel(dstN, dst)} Becoming sync target due to disk states.`);
      kernelLog(srcN, `${devLabel(srcN, src)} Becoming sync source due to disk states.`);
    }
    synced = true;
    kernelLog(dstN, `${devLabel(dstN, dst)} conn( WFReportParams -> WFBitMapT )`);
    kernelLog(srcN, `${devLabel(srcN, src)} conn( WFReportParams -> WFBitMapS )`);
    kernelLog(dstN, `${devLabel(dstN, dst)} conn( WFBitMapT -> WFSyncUUID )`);
    kernelLog(dstN, `${devLabel(dstN, dst)} conn( WFSyncUUID -> SyncTarget ) disk( ${was} -> Inconsistent )`);
    kernelLog(dstN, `${devLabel(dstN, dst)} Began resync as SyncTarget (will sync 0 KB [0 bits set]).`);
    kernelLog(srcN, `${devLabel(srcN, src)} conn( WFBitMapS -> SyncSource ) pdsk( ${was} -> Inconsistent )`);
    kernelLog(srcN, `${devLabel(srcN, src)} Began resync as SyncSource (will sync 0 KB [0 bits set]).`);
    kernelLog(dstN, `${devLabel(dstN, dst)} Resync done (total 1 sec; paused 0 sec; 0 K/sec)`);
    kernelLog(dstN, `${devLabel(dstN, dst)} conn( SyncTarget -> Connected ) disk( Inconsistent -> UpToDate )`);
    kernelLog(srcN, `${devLabel(srcN, src)} Resync done (total 1 sec; paused 0 sec; 0 K/sec)`);
    kernelLog(srcN, `${devLabel(srcN, src)} conn( SyncSource -> Connected ) pdsk( Inconsistent -> UpToDate )`);
    dstMd.disk = 'UpToDate';
    dstMd.gen = srcMd.gen;
    dstMd.changed = false;
    srcMd.changed = false;
    dstMd.crashedPrimary = false;
    srcMd.crashedPrimary = false;
    saveMd(dstN, dst.minor, dstMd);
    saveMd(srcN, src.minor, srcMd);
  };
  const aToB = (rule) => syncFrom(an, a, amd, bn, b, bmd, rule);
  const bToA = (rule) => syncFrom(bn, b, bmd, an, a, amd, rule);
  if (amd === null || bmd === null) return connect(); // diskless side: nothing to compare
  const good = (md) => md.disk === 'UpToDate' || md.disk === 'Consistent' || md.disk === 'Outdated';
  if (a.discardMyData && good(bmd)) {
    bToA();
    return connect();
  }
  if (b.discardMyData && good(amd)) {
    aToB();
    return connect();
  }
  if (!good(amd) && !good(bmd)) return connect(); // both Inconsistent: wait for the initial sync
  if (good(amd) && !good(bmd)) {
    aToB();
    return connect();
  }
  if (!good(amd) && good(bmd)) {
    bToA();
    return connect();
  }
  if (amd.gen === bmd.gen) {
    // Rule 40, "common power [off|failure]": a crashed Primary resyncs its activity log to the peer.
    if (amd.crashedPrimary === true && bmd.crashedPrimary !== true) aToB(40);
    else if (bmd.crashedPrimary === true && amd.crashedPrimary !== true) bToA(40);
    else for (const [n, md, s] of [[an, amd, a], [bn, bmd, b]]) {
      if (md.crashedPrimary === true) {
        md.crashedPrimary = false;
        saveMd(n, s.minor, md);
      }
    }
    return connect();
  }
  // Rule 50 / 70: one side's generation is the one the other started from (its bitmap UUID).
  if (amd.changed && !bmd.changed) {
    aToB(50);
    return connect();
  }
  if (bmd.changed && !amd.changed) {
    bToA(50);
    return connect();
  }
  // Both sides wrote while apart: split brain. Both drop the connection.
  for (const [n, s] of [[an, a], [bn, b]]) {
    s.wantConnect = false;
    s.connectedWith = '';
    saveRes(n, s);
    kernelLog(n, `${devLabel(n, s)} Split-Brain detected but unresolved, dropping connection!`);
  }
}

/** A Primary that loses its peer starts a new data generation (DRBD's new current UUID). */
function newGenerationIfPrimary(n, s) {
  if (s.role !== 'Primary' || !s.attached) return;
  const md = loadMd(n, s.minor);
  if (md === null) return;
  md.gen = `${n}-${(generation++).toString(16)}`;
  md.changed = true;
  saveMd(n, s.minor, md);
}

/** Called when this side stops wanting the connection: both sides forget it. */
function dropConnection(n, s) {
  const p = peerOf(n, s);
  const was = s.connectedWith !== '';
  s.connectedWith = '';
  if (p !== null && p.res.connectedWith === n) {
    p.res.connectedWith = '';
    saveRes(p.node, p.res);
    newGenerationIfPrimary(p.node, p.res);
  }
  if (was) newGenerationIfPrimary(n, s);
}

function cstate84(n, s) {
  if (!s.configured) return 'Unconfigured';
  if (!s.wantConnect) return 'StandAlone';
  return isConnected(n, s) ? 'Connected' : 'WFConnection';
}

function view(n, s) {
  const connected = isConnected(n, s);
  const p = connected ? peerOf(n, s) : null;
  return {
    role: s.configured ? s.role : 'Unconfigured',
    disk: s.configured ? diskState(n, s) : 'Diskless',
    peerRole: p ? (p.res.crashed?.role ?? p.res.role) : 'Unknown',
    peerDisk: p ? (p.res.crashed?.disk ?? diskState(p.node, p.res)) : 'DUnknown',
    connected,
    peer: p,
  };
}

function renderProc(n) {
  const info = readJson(join(nodeDir(n), 'node.json'), {});
  if (!info.proc) return;
  const lines = [];
  if (info.major === '9') {
    lines.push(`version: ${info.version} (api:2/proto:86-121)`, 'GIT-hash: xsctl-drbd-sim build by xsctl', 'Transports (api:18): tcp (sim)');
  } else {
    const api = info.major === '8.3' ? 'api:88/proto:86-97' : 'api:1/proto:86-101';
    lines.push(`version: ${info.version} (${api})`, 'srcversion: XSCTL-DRBD-SIMULATOR');
    for (const s of allRes(n).sort((x, y) => x.minor - y.minor)) {
      const cs = cstate84(n, s);
      if (cs === 'Unconfigured') {
        if (info.major === '8.3') lines.push(`${String(s.minor).padStart(2)}: cs:Unconfigured`);
        continue;
      }
      const v = view(n, s);
      const flags = info.major === '8.3' ? 'r----' : 'r-----';
      lines.push(`${String(s.minor).padStart(2)}: cs:${cs} ro:${v.role}/${v.peerRole} ds:${v.disk}/${v.peerDisk} C ${flags}`);
      lines.push('    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0');
    }
  }
  mkdirSync(dirname(info.proc), { recursive: true });
  writeFileSync(info.proc, `${lines.join('\n')}\n`);
}

function events2(n, filter) {
  const out = [];
  for (const s of allRes(n)) {
    if (!s.configured || (filter && filter !== 'all' && filter !== s.name)) continue;
    const v = view(n, s);
    out.push(`exists resource name:${s.name} role:${v.role} suspended:no`);
    if (s.peerName) {
      const conn = !s.wantConnect ? 'StandAlone' : v.connected ? 'Connected' : 'Connecting';
      out.push(`exists connection name:${s.name} peer-node-id:${s.peerNodeId} conn-name:${s.peerName} connection:${conn} role:${v.peerRole}`);
    }
    out.push(`exists device name:${s.name} volume:0 minor:${s.minor} disk:${v.disk} client:no quorum:yes`);
    if (s.peerName && v.connected) {
      out.push(`exists peer-device name:${s.name} peer-node-id:${s.peerNodeId} conn-name:${s.peerName} volume:0 replication:Established peer-disk:${v.peerDisk} peer-client:no resync-suspended:no`);
    }
  }
  out.push('exists -');
  return `${out.join('\n')}\n`;
}

function status9(n, filter) {
  const blocks = [];
  for (const s of allRes(n)) {
    if (!s.configured || (filter && filter !== 'all' && filter !== s.name)) continue;
    const v = view(n, s);
    const b = [`${s.name} role:${v.role}`, `  disk:${v.disk}`];
    if (s.peerName) {
      if (v.connected) b.push(`  ${s.peerName} role:${v.peerRole}`, `    peer-disk:${v.peerDisk}`);
      else b.push(`  ${s.peerName} connection:${s.wantConnect ? 'Connecting' : 'StandAlone'}`);
    }
    blocks.push(b.join('\n'));
  }
  if (blocks.length === 0 && filter && filter !== 'all') die(10, `${filter}: No such resource`);
  return blocks.length === 0 ? '' : `${blocks.join('\n\n')}\n\n`;
}

function byMinor(minor) {
  return allRes(node).find((s) => s.minor === Number(minor)) ?? null;
}

function mustRes(name) {
  const s = loadRes(node, name);
  if (s === null || !s.configured) die(10, `Failure: (158) Unknown resource\nadditional info from kernel:\nunknown resource '${name}'`);
  return s;
}

function primary(s, force) {
  const v = view(node, s);
  if (v.role === 'Primary') return;
  const md = s.attached ? loadMd(node, s.minor) : null;
  if (force) {
    if (md === null) die(17, `${s.name}: State change failed: (-2) Need access to UpToDate data`);
    if (md.disk !== 'UpToDate') {
      md.disk = 'UpToDate';
      md.gen = newGeneration();
      md.changed = true;
      saveMd(node, s.minor, md);
    }
  } else if (v.disk !== 'UpToDate') {
    die(17, `${s.name}: State change failed: (-2) Need access to UpToDate data`);
  }
  if (v.connected && v.peerRole === 'Primary') die(11, `${s.name}: State change failed: (-1) Multiple primaries not allowed by config`);
  if (!v.connected && md !== null) {
    // A Primary without its peer writes a new data generation.
    md.gen = newGeneration();
    md.changed = true;
    saveMd(node, s.minor, md);
  }
  s.role = 'Primary';
  saveRes(node, s);
  if (v.connected && force) {
    const p = peerOf(node, s);
    const pmd = p && p.res.attached ? loadMd(p.node, p.res.minor) : null;
    if (pmd !== null && pmd.disk !== 'UpToDate') {
      pmd.disk = 'UpToDate';
      pmd.gen = md.gen;
      pmd.changed = false;
      md.changed = false;
      saveMd(p.node, p.res.minor, pmd);
      saveMd(node, s.minor, md);
    }
  }
}

function secondary(s) {
  if (existsSync(join(nodeDir(node), `${s.name}.holders`))) die(11, `${s.name}: State change failed: (-12) Device is held open by someone`);
  s.role = 'Secondary';
  saveRes(node, s);
  const md = s.attached ? loadMd(node, s.minor) : null;
  if (md?.crashedPrimary === true) {
    md.crashedPrimary = false;
    saveMd(node, s.minor, md);
  }
}

function attach(s, disk) {
  const md = loadMd(node, s.minor);
  if (md === null) {
    die(10, `${s.minor}: Failure: (119) No valid meta-data signature found.\n\n\t==> Use 'drbdadm create-md res' to initialize meta-data area. <==`);
  }
  s.attached = true;
  s.disk = disk;
  saveRes(node, s);
}

function connect(s, discard, opts = []) {
  if (discard && s.role === 'Primary') die(10, `${s.name}: Failure: (123) --discard-my-data not allowed when primary.`);
  const ms = (name, unit) => {
    const v = opts.find((o) => o.startsWith(`--${name}=`));
    return v === undefined ? undefined : Number(v.slice(name.length + 3)) * unit;
  };
  // drbd.conf's net { ping-int (s); ping-timeout (0.1 s) } reach drbdsetup as options.
  s.pingIntMs = ms('ping-int', 1000) ?? s.pingIntMs;
  s.pingTimeoutMs = ms('ping-timeout', 100) ?? s.pingTimeoutMs;
  s.netOpts = netOptions(opts);
  if (s.wantConnect && !discard) {
    saveRes(node, s);
    startLinkProcess(node, s);
    return;
  }
  s.wantConnect = true;
  s.discardMyData = discard;
  saveRes(node, s);
  startLinkProcess(node, s);
}

/**
 * Whether the link process can run as the kernel's asender does: SCHED_RR, priority 2 ("Make
 * this a realtime task! ... more important than all other tasks", drbd_receiver.c). On a loaded
 * machine a link process at normal priority answers a ping late, and a realistic ping-timeout
 * (DRBD's default 500 ms) then looks like a cut cable; the kernel's thread is not starved so.
 * `chrt` execs the link process (same pid); it needs CAP_SYS_NICE and an RT budget (root in
 * the lab), else the link runs at normal priority. XSCTL_DRBD_SIM_REALTIME=0 turns it off.
 */
function realtime() {
  if (process.env.XSCTL_DRBD_SIM_REALTIME === '0') return false;
  return spawnSync('chrt', ['-r', '2', 'true'], { stdio: 'ignore' }).status === 0;
}

/** Network mode: the link process for this node and resource, unless one runs already. */
function startLinkProcess(n, s) {
  if (!network) return;
  const pid = Number(existsSync(linkPidFile(n, s.name)) ? readFileSync(linkPidFile(n, s.name), 'utf8') : '');
  if (Number.isInteger(pid) && pid > 0 && alive(pid)) return;
  const link = [process.execPath, fileURLToPath(import.meta.url), '--link', n, s.name];
  const [cmd, ...argv] = realtime() ? ['chrt', '-r', '2', ...link] : link;
  const child = spawn(cmd, argv, { detached: true, stdio: 'ignore', env: process.env });
  writeFileSync(linkPidFile(n, s.name), String(child.pid));
  child.unref();
}

function disconnect(s) {
  dropConnection(node, s);
  s.wantConnect = false;
  saveRes(node, s);
}

function down(s) {
  dropConnection(node, s);
  s.configured = false;
  s.syncerRate = '';
  s.attached = false;
  s.wantConnect = false;
  s.role = 'Secondary';
  saveRes(node, s);
}

/**
 * A resource configured again after a crash or a down is a new kernel object: no role, no
 * connection. Only the metadata on disk carried over.
 */
function revive(s) {
  if (s.configured) return s;
  delete s.crashed;
  return { ...s, role: 'Secondary', attached: false, wantConnect: false, connectedWith: '', discardMyData: false };
}

function fresh(name, minor) {
  return { name, minor: Number(minor), configured: true, role: 'Secondary', attached: false, wantConnect: false, connectedWith: '', discardMyData: false, syncerRate: '', localAddr: '', peerAddr: '', peerName: '', peerNodeId: '' };
}

const addr = (a) => a.replace(/^ipv[46]:/, '');

/** The `--name=value` net options the kernel holds (what `drbdsetup show` prints back). */
function netOptions(opts) {
  return Object.fromEntries(opts.filter((o) => o.includes('=')).map((o) => [o.slice(2, o.indexOf('=')), o.slice(o.indexOf('=') + 1)]));
}

/**
 * 8.4's `drbdsetup show RES`: the running configuration drbdadm adjust compares drbd.conf with
 * (drbd-utils 8.4 drbdsetup.c, show_scmd). Without it adjust would plan a full new-resource/attach/connect.
 */
function show84(s) {
  const block = (indent, name, o) => [`${indent}${name} {`, ...Object.entries(o).map(([k, v]) => `${indent}\t${k}\t\t\t${v};`), `${indent}}`];
  const out = [`resource ${s.name} {`, '\toptions {', '\t}'];
  if (s.wantConnect) out.push(...block('\t', 'net', s.netOpts ?? {}), '\t_remote_host {', `\t\taddress\t\t\tipv4 ${s.peerAddr};`, '\t}');
  out.push('\t_this_host {');
  if (s.wantConnect) out.push(`\t\taddress\t\t\tipv4 ${s.localAddr};`);
  out.push('\t\tvolume 0 {', `\t\t\tdevice\t\t\tminor ${s.minor};`);
  if (s.attached) out.push(`\t\t\tdisk\t\t\t"${s.disk}";`, '\t\t\tmeta-disk\t\tinternal;', ...block('\t\t\t', 'disk', s.diskOpts ?? {}));
  out.push('\t\t}', '\t}', '}');
  return `${out.join('\n')}\n`;
}

function drbdmeta(a) {
  // MINOR v08|v09 DEV INDEX COMMAND [ARGS]
  const [minor, , , , cmd, ...rest] = a;
  const md = loadMd(node, minor);
  const s = byMinor(minor);
  switch (cmd) {
    case 'create-md':
      if (s?.configured && s.attached) die(20, `Device '${minor}' is configured!`);
      saveMd(node, minor, { disk: 'Inconsistent', gen: 'none', changed: false, maxPeers: rest[0] ?? '1' });
      process.stdout.write('initializing activity log\ninitializing bitmap (32 KB) to all zero\nWriting meta data...\nNew drbd meta data block successfully created.\n');
      return;
    case 'apply-al':
      if (md === null) die(255, 'No valid meta data found');
      return;
    case 'read-dev-uuid':
      process.stdout.write('0000000000000000\n');
      return;
    case 'write-dev-uuid':
      return;
    case 'wipe-md':
      if (s?.configured && s.attached) die(20, `Device '${minor}' is configured!`);
      writeFileSync(mdFile(node, minor), 'null\n');
      return;
    case 'dump-md':
    case 'get-gi':
    case 'show-gi':
      if (md === null) die(255, 'No valid meta data found');
      process.stdout.write(`${md.gen}:0000000000000000:0000000000000000:0000000000000000:1:1:1:1:0:0\n`);
      return;
    default:
      die(20, `Unknown command '${cmd}'.`);
  }
}

function drbdsetup83(a) {
  // MINOR|/dev/drbdM COMMAND [ARGS]
  const minor = a[0].replace('/dev/drbd', '');
  const cmd = a[1];
  const rest = a.slice(2);
  let s = byMinor(minor);
  const name = s?.name ?? `minor${minor}`;
  switch (cmd) {
    case 'role':
      process.stdout.write(s?.configured ? `${view(node, s).role}/${view(node, s).peerRole}\n` : 'Unconfigured\n');
      return;
    case 'cstate':
      process.stdout.write(`${s ? cstate84(node, s) : 'Unconfigured'}\n`);
      return;
    case 'dstate':
      process.stdout.write(s?.configured ? `${view(node, s).disk}/${view(node, s).peerDisk}\n` : 'Unconfigured\n');
      return;
    case 'show':
      // The part of 8.3's `drbdsetup MINOR show` a test needs: the loaded resync rate.
      if (s?.syncerRate) process.stdout.write(`syncer {\n\trate\t\t${s.syncerRate};\n}\n`);
      return;
    case 'disk': {
      const resource = process.env.DRBD_RESOURCE || name;
      s = s ?? loadRes(node, resource) ?? fresh(resource, minor);
      s = revive(s);
      s.configured = true;
      s.minor = Number(minor);
      saveRes(node, s);
      return attach(s, rest[0]);
    }
    case 'syncer': {
      // drbdadm-83 passes --create-device: the minor exists after this even without a disk.
      const resource = process.env.DRBD_RESOURCE || name;
      s = revive(s ?? loadRes(node, resource) ?? fresh(resource, minor));
      s.configured = true;
      s.minor = Number(minor);
      s.syncerRate = (rest.find((x) => x.startsWith('--rate=')) ?? '--rate=250K').slice('--rate='.length);
      saveRes(node, s);
      return;
    }
    case 'net': {
      if (!s) die(10, `${minor}: Failure: (127) Device minor not allocated`);
      if (!s.syncerRate) {
        die(20, `drbd-sim: ${minor}: net before syncer: the syncer settings (resync rate) of ${s.name} were never loaded; run drbdadm syncer ${s.name} between attach and connect (the 8.3 kernel would resync at 250 KB/s)`);
      }
      s.localAddr = addr(rest[0]);
      s.peerAddr = addr(rest[1]);
      return connect(s, rest.includes('--discard-my-data'), rest);
    }
    case 'disconnect':
      if (s) disconnect(s);
      return;
    case 'primary':
      if (!s?.configured) die(10, `${minor}: Failure: (127) Device minor not allocated`);
      return primary(s, rest.includes('--overwrite-data-of-peer') || rest.includes('-o') || rest.includes('--force'));
    case 'secondary':
      if (s?.configured) secondary(s);
      return;
    case 'detach':
      if (s) {
        s.attached = false;
        saveRes(node, s);
      }
      return;
    case 'down':
      if (s) down(s);
      return;
    case 'status':
      process.stdout.write(`<resource minor="${minor}" name="${name}" cs="${s ? cstate84(node, s) : 'Unconfigured'}" />\n`);
      return;
    default:
      die(20, `drbd-sim: unsupported 8.3 command ${cmd}`);
  }
}

function drbdsetup(a) {
  const [cmd, ...rest] = a;
  const opts = rest.filter((x) => x.startsWith('--'));
  const pos = rest.filter((x) => !x.startsWith('--'));
  switch (cmd) {
    case 'new-resource': {
      const old = loadRes(node, pos[0]);
      const s = old === null ? fresh(pos[0], -1) : revive(old);
      s.configured = true;
      s.nodeId = pos[1] ?? '';
      saveRes(node, s);
      return;
    }
    case 'new-minor': {
      const s = mustRes(pos[0]);
      s.minor = Number(pos[1]);
      saveRes(node, s);
      return;
    }
    case 'new-peer': {
      const s = mustRes(pos[0]);
      s.peerNodeId = pos[1];
      s.peerName = (opts.find((o) => o.startsWith('--_name=')) ?? '').slice('--_name='.length);
      saveRes(node, s);
      return;
    }
    case 'new-path': {
      const s = mustRes(pos[0]);
      s.localAddr = addr(pos[2]);
      s.peerAddr = addr(pos[3]);
      saveRes(node, s);
      return;
    }
    case 'attach': {
      const s = byMinor(pos[0]);
      if (!s?.configured) die(10, `${pos[0]}: Failure: (127) Device minor not allocated`);
      s.diskOpts = netOptions(opts);
      return attach(s, pos[1]);
    }
    case 'detach': {
      const s = byMinor(pos[0]);
      if (s) {
        s.attached = false;
        saveRes(node, s);
      }
      return;
    }
    case 'connect': {
      // 8.4: connect RES LOCAL PEER [opts]; 9: connect RES PEER_ID [opts]
      const s = mustRes(pos[0]);
      if (major !== '9') {
        s.localAddr = addr(pos[1]);
        s.peerAddr = addr(pos[2]);
      }
      return connect(s, opts.includes('--discard-my-data'), opts);
    }
    case 'disconnect': {
      // 8.4: disconnect LOCAL PEER; 9: disconnect RES PEER_ID
      const s = major === '9' ? loadRes(node, pos[0]) : allRes(node).find((r) => r.localAddr === addr(pos[0] ?? ''));
      if (s?.configured) disconnect(s);
      return;
    }
    case 'primary': {
      const s = major === '9' ? mustRes(pos[0]) : byMinor(pos[0]);
      if (!s?.configured) die(10, `${pos[0]}: Failure: (127) Device minor not allocated`);
      return primary(s, opts.includes('--force') || opts.includes('--overwrite-data-of-peer'));
    }
    case 'secondary': {
      const s = major === '9' ? loadRes(node, pos[0]) : byMinor(pos[0]);
      if (s?.configured) secondary(s);
      return;
    }
    case 'down': {
      const names = pos[0] === undefined || pos[0] === 'all' ? allRes(node).map((r) => r.name) : [pos[0]];
      for (const n of names) {
        const s = loadRes(node, n);
        if (s) down(s);
      }
      return;
    }
    case 'show': {
      // 9's show (connections, peer devices) is not modelled: adjust on 9 is untested here.
      const s = major === '9' ? null : loadRes(node, pos[0]);
      if (s?.configured) process.stdout.write(show84(s));
      return;
    }
    case 'net-options': {
      // 8.4: net-options LOCAL PEER [opts] (what adjust sends for a changed net section).
      const s = allRes(node).find((r) => r.configured && r.localAddr === addr(pos[0] ?? ''));
      if (!s) die(10, `${pos[0]}: Failure: (102) Local address(port) already in use.`);
      // --set-defaults (adjust always sends it): an option not given goes back to its default.
      const o = { ...(opts.includes('--set-defaults') ? {} : s.netOpts), ...netOptions(opts) };
      s.pingIntMs = o['ping-int'] === undefined ? undefined : Number(o['ping-int']) * 1000;
      s.pingTimeoutMs = o['ping-timeout'] === undefined ? undefined : Number(o['ping-timeout']) * 100;
      s.netOpts = o;
      saveRes(node, s);
      return;
    }
    case 'peer-device-options':
    case 'disk-options': {
      // 9 (and an 8.4 adjust) load resync-rate here; nothing the state machine needs.
      const s = major === '9' ? mustRes(pos[0]) : byMinor(pos[0]);
      if (!s?.configured) die(10, `${pos[0]}: Failure: (127) Device minor not allocated`);
      return;
    }
    case 'status':
      process.stdout.write(status9(node, pos[0]));
      return;
    case 'events2':
      process.stdout.write(events2(node, pos[0]));
      return;
    default:
      die(20, `drbd-sim: unsupported command ${cmd}`);
  }
}

// ------------------------------------------------------------------ the link process (network mode)

/** host and port of an `ADDR:PORT` replication address. */
function hostPort(a) {
  const i = a.lastIndexOf(':');
  return { host: a.slice(0, i), port: Number(a.slice(i + 1)) };
}

/**
 * Holds the replication connection of one resource on this node, as the kernel's receiver and
 * asender do: listens on the local address, dials the peer (the side with the lower address
 * dials, so one TCP session forms), answers pings, and drops the connection when the ping it
 * sends after ping-int of silence gets no answer within ping-timeout. Exits when the resource no longer wants a
 * connection (disconnect, down, split brain).
 */
function runLink(n, r) {
  const start = loadRes(n, r);
  if (start === null || !start.localAddr || !start.peerAddr) process.exit(0);
  const local = hostPort(start.localAddr);
  const peer = hostPort(start.peerAddr);
  const dials = start.localAddr < start.peerAddr;
  const pingInt = () => loadRes(n, r)?.pingIntMs ?? Number(process.env.XSCTL_DRBD_SIM_PING_INT_MS || 10_000);
  const pingTimeout = () => loadRes(n, r)?.pingTimeoutMs ?? Number(process.env.XSCTL_DRBD_SIM_PING_TIMEOUT_MS || 500);
  let session = null;
  let nextDial = 0;

  const setLink = (up, why) =>
    withLock(() => {
      const s = loadRes(n, r);
      writeJson(linkFile(n, r), { up, since: new Date().toISOString() });
      if (s !== null && !up && s.connectedWith) {
        const label = devLabel(n, s);
        if (why) kernelLog(n, `${label} ${why}`);
        kernelLog(n, `${label} conn( Connected -> NetworkFailure )`);
        kernelLog(n, `${label} conn( NetworkFailure -> WFConnection )`);
        s.connectedWith = '';
        saveRes(n, s);
        newGenerationIfPrimary(n, s);
      }
      settle();
    });

  const drop = (why) => {
    if (session === null) return;
    const sock = session.sock;
    session = null;
    sock.destroy();
    nextDial = Date.now() + 200;
    setLink(false, why);
  };

  const attachSession = (sock) => {
    if (session !== null) {
      sock.destroy();
      return;
    }
    session = { sock, ...keepAlive(Date.now()) };
    setLink(true);
  };

  const wire = (sock, inbound) => {
    sock.setNoDelay(true);
    let buf = '';
    let hello = false;
    sock.on('data', (chunk) => {
      buf += chunk.toString('latin1');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!hello && line.startsWith('H ')) {
          hello = true;
          if (inbound) sock.write(`H ${n}\n`);
          attachSession(sock);
        }
        if (session?.sock === sock) received(session, Date.now());
        if (line === 'P' && session?.sock === sock) sock.write('A\n');
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      if (session?.sock === sock) drop('sock was shut down by peer');
    });
  };

  const server = createServer((sock) => wire(sock, true));
  server.on('error', () => undefined);
  let listening = false;
  const listen = () => {
    if (listening) return;
    server.once('listening', () => {
      listening = true;
    });
    server.listen(local.port, local.host);
  };
  listen();

  setInterval(() => {
    const s = loadRes(n, r);
    if (s === null || !s.configured || !s.wantConnect) {
      if (session !== null) {
        session.sock.destroy();
        session = null;
      }
      withLock(() => {
        writeJson(linkFile(n, r), { up: false, since: new Date().toISOString() });
        rmSync(linkPidFile(n, r), { force: true });
      });
      process.exit(0);
    }
    if (!listening) listen();
    const now = Date.now();
    if (session !== null) {
      // The kernel's asender (asender.mjs): idle for ping-int (nothing received), it sends a
      // P_PING and waits ping-timeout for the answer, then "PingAck did not arrive in time."
      // drops the connection. Anything received meanwhile is the live peer (the asender also
      // accepts data-socket traffic). So a peer that dies is seen ping-timeout to ping-int +
      // ping-timeout later, depending on when it last sent something. (This simulator used to
      // ping at half ping-int of its own sending and drop at ping-int + ping-timeout of silence:
      // up to half a ping-int later.)
      const step = tick(session, now, pingInt(), pingTimeout());
      if (step === 'drop') drop('PingAck did not arrive in time.');
      else if (step === 'ping') session.sock.write('P\n');
      return;
    }
    if (dials && now >= nextDial) {
      nextDial = now + 500;
      const sock = createConnection({ host: peer.host, port: peer.port, localAddress: local.host });
      sock.setTimeout(1000, () => sock.destroy());
      sock.once('connect', () => {
        sock.setTimeout(0);
        sock.write(`H ${n}\n`);
      });
      wire(sock, false);
    }
  }, 50);
}

/**
 * The node loses power or panics: its kernel state is gone at once. No state change reaches the
 * peer (its PingAck times out), no new generation is written; the metadata keeps what it had,
 * and a Primary's primary indicator stays set (the next attach reads it as CRASHED_PRIMARY).
 * What the peer last knew of this node is kept for the peer's view until its link drops.
 */
function crash() {
  for (const s of allRes(node)) {
    const pid = Number(existsSync(linkPidFile(node, s.name)) ? readFileSync(linkPidFile(node, s.name), 'utf8') : '');
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(linkPidFile(node, s.name), { force: true });
    writeJson(linkFile(node, s.name), { up: false, since: new Date().toISOString() });
    if (!s.configured) continue;
    const md = s.attached ? loadMd(node, s.minor) : null;
    if (md !== null && s.role === 'Primary') {
      md.crashedPrimary = true;
      saveMd(node, s.minor, md);
    }
    const crashed = { role: s.role, disk: diskState(node, s) };
    saveRes(node, { ...s, configured: false, attached: false, wantConnect: false, role: 'Secondary', syncerRate: '', discardMyData: false, crashed });
  }
}

if (args[0] === '--link') {
  runLink(args[1], args[2]);
} else if (args[0] === '--crash') {
  withLock(() => {
    try {
      crash();
    } finally {
      settle();
    }
  });
} else {
  withLock(() => {
    try {
      if (args.length >= 5 && /^\d+$/.test(args[0]) && /^v0[789]$/.test(args[1])) drbdmeta(args);
      else if (args.length >= 2 && (/^\d+$/.test(args[0]) || args[0].startsWith('/dev/drbd'))) drbdsetup83(args);
      else if (args.length >= 1) drbdsetup(args);
      else die(20, `usage: ${basename(process.argv[1])} (drbdsetup|drbdmeta arguments)`);
    } finally {
      settle();
    }
  });
}

import { isIP } from 'node:net';
import { z } from 'zod';
import { drbdDeadPeerSeenWithinMs, drbdNetTimers, minDetectAfterMs } from '@xsctl/common/drbd/drbd-net-timers';

/**
 * The `storage:` section of a pool, strict like the rest of the controller config: an unknown
 * key (a typo such as `detectAfterMS` or `pasword`) is an error naming its path, never silently
 * ignored. Keys are the storage spec's (the CLI's `--spec` file, StorageSpec's JSON names). What
 * needs more than one field (exactly two hosts, a BMC for each, selfFenceAfterMs below
 * detectAfterMs) and the secrets read from files are checked by parsePoolStorageConfig.
 */
/** The failover timers' defaults (parsePoolStorageConfig applies them; the bound below checks them too). */
export const failoverDefaults = { detectAfterMs: 3_000, selfFenceAfterMs: 1_500, selfFenceTeardownMs: 1_000 } as const;

const nonEmpty = z.string().min(1);
// The agent checks these on every call that carries them (agent/src/validate/validators.ts:
// ipv4Address is Node's isIP, interfaceName this pattern) and refuses the call. A typo that got past here
// would fail every witness heartbeat, and a master whose heartbeats all fail fences itself: the
// same grammar is checked when the config loads, naming the key.
const interfaceNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,14}$/;
const ipv4 = z.string().refine((v) => isIP(v) === 4, 'expected an IPv4 address');
const ipv4OrEmpty = z.string().refine((v) => v === '' || isIP(v) === 4, 'expected an IPv4 address');
const ifname = z.string().regex(interfaceNamePattern, 'expected a network interface name (at most 15 characters)');
const ifnameOrEmpty = z.string().refine((v) => v === '' || interfaceNamePattern.test(v), 'expected a network interface name (at most 15 characters)');
const u32 = z.number().int().min(0).max(0xffff_ffff);
const port = z.number().int().min(1).max(65535);
const ms = (min: number, max: number) => z.number().int().min(min).max(max);

const lunSchema = z.strictObject({
  lun: u32,
  backingStore: nonEmpty,
  scsiId: z.string().optional(),
  scsiSn: z.string().optional(),
  vendorId: z.string().optional(),
  productId: z.string().optional(),
  bsType: z.string().optional(),
});

const targetSchema = z.strictObject({
  tid: u32,
  iqn: nonEmpty,
  luns: z.array(lunSchema).min(1, 'must list the LUNs'),
  initiatorAddresses: z.array(nonEmpty).optional(),
  initiatorNames: z.array(nonEmpty).optional(),
  /** The CHAP secret lives in a file (`password` is refused: secrets never sit in this file). */
  incomingUser: z.strictObject({ user: nonEmpty, passwordFile: nonEmpty }).optional(),
});

export const storageSpecSchema = z.strictObject({
  drbdResources: z.array(nonEmpty).min(1, 'must name the DRBD resources'),
  target: targetSchema,
  floatingIp: z.strictObject({ address: ipv4, prefixLength: z.number().int().min(1).max(32), interface: ifname, garpCount: u32.optional() }),
  tgtd: z.strictObject({ controlPort: u32 }).optional(),
  peerSafety: z.strictObject({ witnessAddress: ipv4OrEmpty.optional(), witnessInterface: ifnameOrEmpty.optional() }).optional(),
  stopGraceMs: u32.optional(),
});

const storageHostSchema = z.strictObject({
  replicationAddress: ipv4,
  replicationInterface: ifname,
  managementInterface: ifname,
  tgtdControlPort: port.optional(),
});

const ipmiTargetSchema = z.strictObject({
  address: nonEmpty,
  port: port.optional(),
  user: nonEmpty,
  passwordFile: nonEmpty,
  interface: z.enum(['lanplus', 'lan']).optional(),
  cipherSuite: z.number().int().min(0).max(17).optional(),
  privilege: z.enum(['OPERATOR', 'ADMINISTRATOR']).optional(),
});

export const poolStorageSchema = z.strictObject({
  spec: storageSpecSchema,
  hosts: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be a host name'), storageHostSchema),
  couplePoolMaster: z.boolean().optional(),
  failover: z
    .strictObject({
      automatic: z.boolean().optional(),
      detectAfterMs: ms(500, 600_000).optional(),
      selfFenceAfterMs: ms(200, 600_000).optional(),
      /** The agent's deadline for its self-fence tear-down (floating IP, target, DRBD Secondary). */
      selfFenceTeardownMs: ms(200, 60_000).optional(),
      holdDownMs: ms(0, 3_600_000).optional(),
      pollIntervalMs: ms(50, 60_000).optional(),
    })
    .optional(),
  fencing: z
    .discriminatedUnion('method', [z.strictObject({ method: z.literal('ipmi'), hosts: z.record(z.string(), ipmiTargetSchema) }), z.strictObject({ method: z.literal('self') })], { error: 'method must be ipmi or self' })
    .optional(),
  initiatorProbe: z.strictObject({ via: z.array(nonEmpty).optional(), timeoutMs: ms(1_000, 600_000).optional() }).optional(),
}).superRefine((s, ctx) => {
  // The self-fence bound (docs/storage-safety-rules.md, "Self-fencing"): the lost master has
  // stopped serving (self-fence due, plus its tear-down's deadline) before the controller's
  // failover delay runs out. Checked whatever the fencing method: ipmi pools run the agents'
  // self-fence too (any pool whose master loses both links and the witness).
  const detect = s.failover?.detectAfterMs ?? failoverDefaults.detectAfterMs;
  const after = s.failover?.selfFenceAfterMs ?? failoverDefaults.selfFenceAfterMs;
  const teardown = s.failover?.selfFenceTeardownMs ?? failoverDefaults.selfFenceTeardownMs;
  if (detect <= after + teardown) {
    ctx.addIssue({ code: 'custom', path: ['failover', 'detectAfterMs'], message: `must exceed failover.selfFenceAfterMs + failover.selfFenceTeardownMs (${after} + ${teardown} ms, defaults included): the failover delay must be longer than the self-fence bound, or the survivor may meet a live master` });
  }
  // Rule 3: the witness promotes only once the survivor reports its replication link down, which
  // DRBD's net section (the one storage setup writes) takes up to ping-int + ping-timeout to see,
  // plus the report's way to the witness. A shorter delay refuses every failover of a dead master
  // (STORAGE_PEER_ALIVE) instead of performing it: refused at load, as storage setup refuses it.
  const needed = minDetectAfterMs(drbdNetTimers);
  if (detect < needed) {
    ctx.addIssue({ code: 'custom', path: ['failover', 'detectAfterMs'], message: `must be at least ${needed} ms: the survivor's DRBD sees a dead master up to ${drbdDeadPeerSeenWithinMs(drbdNetTimers)} ms after its last packet (ping-int + ping-timeout of the net section storage setup writes), and rule 3 waits for that before a failover` });
  }
  // Rule 2: self-fencing has no power proof, so quorum must be provable: a witness address. The
  // default method is self, so a pool with neither fencing nor a witness is refused too.
  if ((s.fencing?.method ?? 'self') === 'self' && (s.spec.peerSafety?.witnessAddress ?? '') === '') {
    ctx.addIssue({ code: 'custom', path: ['spec', 'peerSafety', 'witnessAddress'], message: 'required with fencing: self (the default): rule 2 needs a quorum witness when there is no power fencing; set it, or configure fencing: {method: ipmi, ...}' });
  }
});

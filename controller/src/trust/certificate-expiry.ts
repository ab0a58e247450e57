import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { CertificateNotice } from '@xsctl/proto/gen/xsctl/controller/v1/controller';
import { expiryWarningDays, identityFromCertificate, normalizeSerial, type PeerKind } from '@xsctl/common/pki/index';
import type { AgentRegistry } from '../agents/agent-registry.js';

const dayMs = 86_400_000;

/** One certificate the controller knows of: its own, or an agent's as seen at the handshake. */
export interface CertificateSample {
  kind: PeerKind;
  name: string;
  serial: string;
  notAfter: Date;
}

/**
 * A party's own certificate, read from its file (it may have been rotated on disk): the
 * controller's here, the CLI's in `xsctl hosts`. `kind` names it when it carries no xsctl kind.
 */
export async function ownCertificate(certFile: string, kind: PeerKind = 'controller'): Promise<CertificateSample | null> {
  try {
    const cert = new X509Certificate(await readFile(certFile));
    const identity = identityFromCertificate(/CN=([^\n,]+)/.exec(cert.subject)?.[1], cert.subjectAltName);
    return { kind: identity?.kind ?? kind, name: identity?.name ?? cert.subject, serial: normalizeSerial(cert.serialNumber), notAfter: new Date(cert.validTo) };
  } catch {
    return null;
  }
}

/** The agents' certificates from the last handshake with each (an agent not contacted yet is absent). */
export function agentCertificates(agents: AgentRegistry): CertificateSample[] {
  return agents.list().flatMap((c) => {
    const p = c.peer;
    return p === undefined ? [] : [{ kind: p.kind, name: p.name, serial: normalizeSerial(p.serial), notAfter: p.notAfter }];
  });
}

export async function certificateSamples(certFile: string, agents: AgentRegistry): Promise<CertificateSample[]> {
  const own = await ownCertificate(certFile);
  return [...(own === null ? [] : [own]), ...agentCertificates(agents)];
}

export const daysLeft = (notAfter: Date, now: Date): number => Math.floor((notAfter.getTime() - now.getTime()) / dayMs);

/** Those that expire within `expiryWarningDays` days, or already have. */
export function expiryNotices(samples: readonly CertificateSample[], now = new Date()): CertificateNotice[] {
  return samples
    .filter((s) => s.notAfter.getTime() - now.getTime() < expiryWarningDays * dayMs)
    .map((s) => ({ kind: s.kind, name: s.name, serial: s.serial, notAfter: s.notAfter.toISOString(), daysLeft: daysLeft(s.notAfter, now) }))
    .sort((a, b) => a.daysLeft - b.daysLeft || a.name.localeCompare(b.name));
}

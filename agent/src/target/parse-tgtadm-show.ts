import { stripAnsi } from '../drbd/strip-ansi.js';
/**
 * `tgtadm --lld iscsi --op show --mode target`:
 *
 *   Target 1: iqn.2013-05.com.example:xs
 *       System information:
 *           Driver: iscsi
 *           State: ready
 *       I_T nexus information:
 *           I_T nexus: 1
 *               Initiator: iqn.1994-05.com.redhat:dd87ffb48f6e alias: xcp1
 *               Connection: 0
 *                   IP Address: 10.2.20.250
 *       LUN information:
 *           LUN: 1
 *               Type: disk
 *               SCSI ID: XSCTL-0001
 *               ...
 *       Account information:
 *           user1
 *           user2 (outgoing)
 *       ACL information:
 *           10.2.20.250
 *
 * Sections are found by their titles, not by indentation, so flattened copies (no indentation,
 * as some guides print it) parse the same.
 */
export interface TgtConnection {
  cid: number;
  ipAddress: string;
}

export interface TgtNexus {
  nexusId: number;
  initiator: string;
  initiatorAlias: string;
  connections: TgtConnection[];
}

export interface TgtLun {
  lun: number;
  type: string;
  scsiId: string;
  scsiSn: string;
  sizeMb: number;
  blockSize: number;
  online: boolean;
  readonly: boolean;
  backingStoreType: string;
  backingStorePath: string;
}

export interface TgtTarget {
  tid: number;
  iqn: string;
  driver: string;
  state: string;
  nexuses: TgtNexus[];
  luns: TgtLun[];
  accounts: string[];
  acls: string[];
}

type Section = 'system' | 'nexus' | 'lun' | 'account' | 'acl' | null;

export function parseTgtadmShow(text: string): TgtTarget[] {
  const targets: TgtTarget[] = [];
  let t: TgtTarget | null = null;
  let section: Section = null;
  let nexus: TgtNexus | null = null;
  let conn: TgtConnection | null = null;
  let lun: TgtLun | null = null;
  for (const raw of stripAnsi(text).replace(/\r/g, '').split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const head = /^Target (\d+): (\S+)/.exec(line);
    if (head !== null) {
      t = { tid: Number(head[1]), iqn: head[2] ?? '', driver: '', state: '', nexuses: [], luns: [], accounts: [], acls: [] };
      targets.push(t);
      section = null;
      continue;
    }
    if (t === null) continue;
    if (line === 'System information:') section = 'system';
    else if (line === 'I_T nexus information:') section = 'nexus';
    else if (line === 'LUN information:') section = 'lun';
    else if (line === 'Account information:') section = 'account';
    else if (line === 'ACL information:') section = 'acl';
    else if (section === 'system') {
      const kv = /^(Driver|State):\s*(.*)$/.exec(line);
      if (kv?.[1] === 'Driver') t.driver = kv[2] ?? '';
      if (kv?.[1] === 'State') t.state = kv[2] ?? '';
    } else if (section === 'nexus') {
      let m = /^I_T nexus:\s*(\d+)/.exec(line);
      if (m !== null) {
        nexus = { nexusId: Number(m[1]), initiator: '', initiatorAlias: '', connections: [] };
        t.nexuses.push(nexus);
        conn = null;
        continue;
      }
      if (nexus === null) continue;
      m = /^Initiator:\s*(\S+)(?:\s+alias:\s*(.*))?$/.exec(line);
      if (m !== null) {
        nexus.initiator = m[1] ?? '';
        nexus.initiatorAlias = (m[2] ?? '').trim();
        continue;
      }
      m = /^Connection:\s*(\d+)/.exec(line);
      if (m !== null) {
        conn = { cid: Number(m[1]), ipAddress: '' };
        nexus.connections.push(conn);
        continue;
      }
      m = /^IP Address:\s*(\S+)/.exec(line);
      if (m !== null && conn !== null) conn.ipAddress = m[1] ?? '';
    } else if (section === 'lun') {
      const m = /^LUN:\s*(\d+)/.exec(line);
      if (m !== null) {
        lun = { lun: Number(m[1]), type: '', scsiId: '', scsiSn: '', sizeMb: 0, blockSize: 0, online: false, readonly: false, backingStoreType: '', backingStorePath: '' };
        t.luns.push(lun);
        continue;
      }
      if (lun === null) continue;
      const kv = /^([A-Za-z][A-Za-z -]*?):\s*(.*)$/.exec(line);
      if (kv === null) continue;
      const [, key = '', value = ''] = kv;
      if (key === 'Type') lun.type = value;
      else if (key === 'SCSI ID') lun.scsiId = value;
      else if (key === 'SCSI SN') lun.scsiSn = value;
      else if (key === 'Size') {
        const s = /^(\d+) MB, Block size: (\d+)/.exec(value);
        if (s !== null) {
          lun.sizeMb = Number(s[1]);
          lun.blockSize = Number(s[2]);
        }
      } else if (key === 'Online') lun.online = value === 'Yes';
      else if (key === 'Readonly') lun.readonly = value === 'Yes';
      else if (key === 'Backing store type') lun.backingStoreType = value;
      else if (key === 'Backing store path') lun.backingStorePath = value === 'None' ? '' : value;
    } else if (section === 'account') {
      t.accounts.push(line);
    } else if (section === 'acl') {
      t.acls.push(line);
    }
  }
  return targets;
}

import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseTgtadmShow } from './parse-tgtadm-show.js';

const fixture = (name: string) => readFile(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');

describe('parseTgtadmShow', () => {
  it('reads tgt 1.0.85 with a logged-in initiator: nexus, connection, fixed LUN identity, account, ACLs', async () => {
    const [t] = parseTgtadmShow(await fixture('tgtadm-show-session-1.0.85.txt'));
    expect(t).toMatchObject({ tid: 1, iqn: 'iqn.2013-05.com.example:xsctl.iscsi1', driver: 'iscsi', state: 'ready', accounts: ['xsinit'], acls: ['10.98.0.0/24', 'iqn.2008-11.org.linux-kvm:xcp1'] });
    expect(t?.nexuses).toEqual([{ nexusId: 1, initiator: 'iqn.2008-11.org.linux-kvm:xcp1', initiatorAlias: 'none', connections: [{ cid: 0, ipAddress: '10.98.0.2' }] }]);
    expect(t?.luns.map((l) => [l.lun, l.type])).toEqual([
      [0, 'controller'],
      [10, 'disk'],
    ]);
    expect(t?.luns[1]).toEqual({ lun: 10, type: 'disk', scsiId: 'XSCTL-ISCSI1', scsiSn: 'XS0000000001', sizeMb: 67, blockSize: 512, online: true, readonly: false, backingStoreType: 'rdwr', backingStorePath: '/tmp/xs/lun.img' });
    expect(t?.luns[0]).toMatchObject({ scsiId: 'IET     00010000', scsiSn: 'beaf10', backingStoreType: 'null', backingStorePath: '' });
  });

  it('reads an older tgt (no SWP/Thin-provisioning lines) with an address ACL', async () => {
    const [t] = parseTgtadmShow(await fixture('tgtadm-show-rocks-nas.txt'));
    expect(t?.nexuses[0]).toEqual({ nexusId: 1, initiator: 'iqn.1994-05.com.redhat:dd87ffb48f6e', initiatorAlias: '', connections: [{ cid: 0, ipAddress: '10.2.20.250' }] });
    expect(t?.luns[1]).toMatchObject({ lun: 1, sizeMb: 1074, backingStorePath: '/dev/tank/%s' });
    expect(t?.accounts).toEqual([]);
    expect(t?.acls).toEqual(['10.2.20.250']);
  });

  it('reads output pasted without indentation', async () => {
    const [t] = parseTgtadmShow(await fixture('tgt-admin-s-flattened.txt'));
    expect(t).toMatchObject({ tid: 1, iqn: 'clunix.2016.03.com.lustre:ost1', state: 'ready', nexuses: [], accounts: [], acls: [] });
    expect(t?.luns).toHaveLength(1);
  });

  it('reads several targets, several connections per nexus, an offline target and CRLF', () => {
    const text = [
      'Target 1: iqn.2013-05.com.example:a',
      '    System information:',
      '        Driver: iscsi',
      '        State: offline',
      '    I_T nexus information:',
      '        I_T nexus: 3',
      '            Initiator: iqn.1998-01.com.vmware:esx1 alias: esx1.lab',
      '            Connection: 0',
      '                IP Address: 10.10.10.21',
      '            Connection: 1',
      '                IP Address: 10.10.11.21',
      '    LUN information:',
      '    Account information:',
      '        user2 (outgoing)',
      '    ACL information:',
      '        ALL',
      'Target 2: iqn.2013-05.com.example:b',
      '    System information:',
      '        Driver: iscsi',
      '        State: ready',
    ].join('\r\n');
    const ts = parseTgtadmShow(text);
    expect(ts.map((t) => [t.tid, t.state])).toEqual([
      [1, 'offline'],
      [2, 'ready'],
    ]);
    expect(ts[0]?.nexuses[0]).toMatchObject({ nexusId: 3, initiatorAlias: 'esx1.lab', connections: [{ cid: 0, ipAddress: '10.10.10.21' }, { cid: 1, ipAddress: '10.10.11.21' }] });
    expect(ts[0]?.accounts).toEqual(['user2 (outgoing)']);
    expect(ts[0]?.acls).toEqual(['ALL']);
  });

  it('returns nothing for an idle tgtd or garbage', () => {
    expect(parseTgtadmShow('')).toEqual([]);
    expect(parseTgtadmShow('tgtadm: can\'t send the request to the tgt daemon, Transport endpoint is not connected\n')).toEqual([]);
  });
});

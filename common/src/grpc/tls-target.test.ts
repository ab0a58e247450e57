import { describe, expect, it } from 'vitest';
import { ipTargetSni, targetHost, tlsHandshakeNames, tlsTarget } from './tls-target.js';

describe('tlsTarget: the name a certificate is checked against, and what goes out as SNI', () => {
  it('reads the host of host:port and [v6]:port, nothing else', () => {
    expect(targetHost('127.0.0.1:50051')).toBe('127.0.0.1');
    expect(targetHost('ctl.example:1')).toBe('ctl.example');
    expect(targetHost('[::1]:50051')).toBe('::1');
    expect(targetHost('[fe80::1]:7')).toBe('fe80::1');
    expect(targetHost('127.0.0.1')).toBeUndefined();
    expect(targetHost('dns:///ctl.example:1')).toBeUndefined();
    expect(targetHost('unix:/run/x.sock')).toBeUndefined();
    expect(targetHost('::1:50051')).toBeUndefined();
    expect(targetHost('127.0.0.1:port')).toBeUndefined();
    expect(targetHost('x127.0.0.1:1\n')).toBeUndefined();
  });

  it('an IP target without a server name: checked against the IP, a .invalid name as SNI, no authority', () => {
    expect(tlsTarget('127.0.0.1:50051')).toEqual({ channelOptions: { 'grpc.ssl_target_name_override': 'ip-address.invalid' }, verifyName: '127.0.0.1' });
    expect(tlsTarget('[::1]:50051')).toEqual({ channelOptions: { 'grpc.ssl_target_name_override': 'ip-address.invalid' }, verifyName: '::1' });
    expect(ipTargetSni).toBe('ip-address.invalid');
  });

  it('an IP address as the server name is checked the same way, whatever the target', () => {
    expect(tlsTarget('ctl.example:1', '10.0.0.5')).toEqual({ channelOptions: { 'grpc.ssl_target_name_override': 'ip-address.invalid' }, verifyName: '10.0.0.5' });
  });

  it('a DNS server name: override and authority, checked by grpc-js as before', () => {
    expect(tlsTarget('127.0.0.1:50051', 'xsctl-controller')).toEqual({ channelOptions: { 'grpc.ssl_target_name_override': 'xsctl-controller', 'grpc.default_authority': 'xsctl-controller' } });
  });

  it('a DNS target without a server name, or a target it cannot read: grpc-js defaults (the host is the SNI and the name)', () => {
    expect(tlsTarget('ctl.example:50051')).toEqual({ channelOptions: {} });
    expect(tlsTarget('dns:///127.0.0.1:50051')).toEqual({ channelOptions: {} });
  });
});

describe('tlsHandshakeNames: the same decision for a plain TLS handshake', () => {
  it('an IP address: the .invalid SNI grpc-js sends, checked against the IP', () => {
    expect(tlsHandshakeNames('127.0.0.1:7443')).toEqual({ servername: 'ip-address.invalid', verifyName: '127.0.0.1' });
    expect(tlsHandshakeNames('[::1]:7443')).toEqual({ servername: 'ip-address.invalid', verifyName: '::1' });
    expect(tlsHandshakeNames('xs1.example:7443', '10.0.0.5')).toEqual({ servername: 'ip-address.invalid', verifyName: '10.0.0.5' });
  });

  it('a DNS name: sent and checked, the server name over the target host', () => {
    expect(tlsHandshakeNames('127.0.0.1:7443', 'xs-probe')).toEqual({ servername: 'xs-probe', verifyName: 'xs-probe' });
    expect(tlsHandshakeNames('xs1.example:7443')).toEqual({ servername: 'xs1.example', verifyName: 'xs1.example' });
  });

  it('a target whose host it cannot read: none', () => {
    expect(tlsHandshakeNames('unix:/run/x.sock')).toBeUndefined();
  });
});

import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { clientIp, type TrustProxy } from '../../src/http/client-ip.js';

const req = (remoteAddress: string) => ({ socket: { remoteAddress } }) as unknown as IncomingMessage;
const headers = (xff?: string) => new Headers(xff ? { 'x-forwarded-for': xff } : {});
const ip = (trust: TrustProxy, socket: string, xff?: string) => clientIp(req(socket), headers(xff), trust);

describe('clientIp (proxy-addr semantics: the rightmost untrusted hop)', () => {
  it('ignores X-Forwarded-For unless proxies are trusted', () => {
    expect(ip(false, '203.0.113.9', '1.1.1.1')).toBe('203.0.113.9');
  });

  it('with a hop count, skips exactly that many proxies; hops the client wrote on the left are never taken', () => {
    expect(ip(1, '10.0.0.2', 'spoofed, 1.1.1.1, 198.51.100.4')).toBe('198.51.100.4');
    expect(ip(2, '10.0.0.2', 'spoofed, 1.1.1.1, 198.51.100.4')).toBe('1.1.1.1');
    expect(ip(1, '10.0.0.2')).toBe('10.0.0.2');
  });

  it('with addresses and CIDRs, walks past trusted proxies only', () => {
    expect(ip(['loopback'], '127.0.0.1', '6.6.6.6, 10.0.0.5')).toBe('10.0.0.5');
    expect(ip(['loopback', '10.0.0.0/8'], '127.0.0.1', '6.6.6.6, 10.0.0.5')).toBe('6.6.6.6');
    // A socket that is not a trusted proxy: its own address, whatever it forwards.
    expect(ip(['10.0.0.0/8'], '203.0.113.1', '6.6.6.6')).toBe('203.0.113.1');
  });

  it('parses TRUST_PROXY, refusing the spoofable `true` and unknown entries', () => {
    expect(parseConfig({}).TRUST_PROXY).toBe(false);
    expect(parseConfig({ TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2);
    expect(parseConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).TRUST_PROXY).toEqual(['loopback', '10.0.0.0/8']);
    expect(() => parseConfig({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY: true is no longer accepted/);
    expect(() => parseConfig({ TRUST_PROXY: 'the-load-balancer' })).toThrow(/TRUST_PROXY/);
  });
});

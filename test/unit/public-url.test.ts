import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { forwardedUrl, listenUrl, PublicUrl } from '../../src/http/public-url.js';

const headers = (h: Record<string, string>): Pick<Headers, 'get'> => new Headers(h);

describe('public base URL', () => {
  it('is the listening address when PUBLIC_URL is unset, with the port actually bound', () => {
    const url = new PublicUrl(parseConfig({ PORT: '0' }));
    url.listen(4612);
    expect(url.base).toBe('http://127.0.0.1:4612');
    expect(new PublicUrl(parseConfig({ HOST: 'api.internal', PORT: '8080' })).base).toBe('http://api.internal:8080');
    expect(listenUrl('::1', 4000)).toBe('http://[::1]:4000');
    expect(listenUrl('::', 4000)).toBe('http://127.0.0.1:4000');
  });

  it('is PUBLIC_URL when set, whatever the request says', () => {
    const url = new PublicUrl(parseConfig({ PUBLIC_URL: 'https://dawg.example.com/' }));
    url.listen(4612);
    expect(url.base).toBe('https://dawg.example.com');
    expect(url.forRequest(headers({ host: 'evil.example', 'x-forwarded-host': 'evil.example' }), true)).toBe(
      'https://dawg.example.com',
    );
  });

  it('ignores Host and X-Forwarded-* unless the request came through a trusted proxy', () => {
    const url = new PublicUrl(parseConfig({ HOST: '127.0.0.1', PORT: '4612' }));
    const h = headers({ host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' });
    expect(url.forRequest(h, false)).toBe('http://127.0.0.1:4612');
    expect(url.forRequest(h, true)).toBe('https://evil.example');
  });

  it('reads what a proxy forwards: first hop, Host as fallback, port when not the default', () => {
    expect(forwardedUrl(headers({ host: 'dawg.example.com:8443' }))).toBe('http://dawg.example.com:8443');
    expect(forwardedUrl(headers({ host: 'internal:4000', 'x-forwarded-host': 'Dawg.Example.com, proxy2.internal' }))).toBe(
      'http://dawg.example.com',
    );
    expect(forwardedUrl(headers({ host: 'a.example', 'x-forwarded-proto': 'https, http' }))).toBe('https://a.example');
    expect(forwardedUrl(headers({ host: 'a.example', 'x-forwarded-proto': 'https', 'x-forwarded-port': '8443' }))).toBe(
      'https://a.example:8443',
    );
    expect(forwardedUrl(headers({ host: 'a.example', 'x-forwarded-proto': 'https', 'x-forwarded-port': '443' }))).toBe(
      'https://a.example',
    );
    expect(forwardedUrl(headers({ host: '[::1]:4000' }))).toBe('http://[::1]:4000');
  });

  it('refuses forwarded values that are not a host or a web scheme, falling back to the listening address', () => {
    const bads: Record<string, string>[] = [
      { host: 'a.example/evil' },
      { host: 'user@a.example' },
      { host: 'a.example', 'x-forwarded-proto': 'javascript' },
      { host: 'a b' },
      {},
    ];
    for (const bad of bads) expect(forwardedUrl(headers(bad)), JSON.stringify(bad)).toBeNull();
    const url = new PublicUrl(parseConfig({ HOST: '127.0.0.1', PORT: '4612' }));
    expect(url.forRequest(headers({ host: 'a.example/evil' }), true)).toBe('http://127.0.0.1:4612');
  });
});

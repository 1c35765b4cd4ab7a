import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Listens on `host`:`port` (0: a free port) and resolves with the URL that reaches it: the
 * wildcard hosts (0.0.0.0, ::) are reached at 127.0.0.1.
 */
export function listen(server: Server, port: number, host: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const bound = (server.address() as AddressInfo).port;
      const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
      resolve(`http://${shown}:${bound}`);
    });
  });
}

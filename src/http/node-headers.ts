import type { IncomingMessage } from 'node:http';

/**
 * A Node request's headers behind the `get` of a Fetch `Headers` (what the context and clientIp
 * read), without building a Headers object; repeated headers are joined as Headers joins them.
 */
export function nodeHeaders(req: IncomingMessage): Pick<Headers, 'get'> {
  return {
    get: (name: string) => {
      const value = req.headers[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

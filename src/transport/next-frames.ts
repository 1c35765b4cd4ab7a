/**
 * graphql-ws `next` messages for shared streams, built from one serialization per result.
 *
 * graphql-ws sends a result as `stringifyMessage({ id, type: 'next', payload })`, with the payload
 * being the result with its errors last, as their toJSON (its server's `emit.next`, with no `onNext`
 * hook or `jsonMessageReplacer`, which dawg does not set). JSON.stringify writes a nested object the
 * same wherever it sits, so that message is, byte for byte,
 * `{"id":<id as JSON>,"type":"next","payload":<payload as JSON>}`: the payload is serialized once
 * for all subscribers and only the id differs per socket (test/unit/next-frames.test.ts compares
 * both with graphql-ws's own).
 */
import type { ExecutionResult } from 'graphql';
import { headerLength, writeHeader } from './text-frames.js';

/** `}`: closes the message after the payload. */
const CLOSE = 0x7d;

/** A result's `next` payload, as graphql-ws builds it, serialized once for every subscriber. */
export function nextPayload(result: unknown): Buffer {
  const executed = result as ExecutionResult;
  // The usual case, no errors: nothing to move last, so the result is serialized as it is (a key
  // `errors: undefined` is left out by JSON.stringify, as graphql-ws leaves it out).
  if (executed.errors === undefined) return Buffer.from(JSON.stringify(executed));
  const { errors, ...rest } = executed;
  return Buffer.from(JSON.stringify(errors ? { ...rest, errors: errors.map((e) => e.toJSON()) } : rest));
}

/**
 * The `next` message of operation `id` carrying `payload` (from nextPayload), as one whole WebSocket
 * text frame (text-frames.ts): one buffer per socket, the payload's bytes copied rather than
 * serialized again.
 */
export function nextFrame(id: string, payload: Buffer): Buffer {
  const head = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
  const headBytes = Buffer.byteLength(head);
  const length = headBytes + payload.length + 1;
  const frame = Buffer.allocUnsafe(headerLength(length) + length);
  const start = writeHeader(frame, length);
  frame.write(head, start, headBytes);
  payload.copy(frame, start + headBytes);
  frame[frame.length - 1] = CLOSE;
  return frame;
}

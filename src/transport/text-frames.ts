/**
 * WebSocket text frames built whole, as a server sends them (RFC 6455, section 5.2: final, opcode
 * text, unmasked, no extension bits), so a message goes to its socket as one buffer in one write.
 *
 * ws's own `send` writes a frame as two buffers, its header and the message, corked into one
 * `writev`. For a fan-out that is one write per socket either way, but the corking and the two-chunk
 * `writev` cost the api about a fifth of its JavaScript time per delivery (docs/benchmarks.md, "One
 * buffer per frame"). What ws owns stays with ws: the handshake, reading, pings and close frames.
 *
 * Frames written this way and ws's own go out in the order they were written: ws writes each of its
 * frames whole, at once, as long as nothing is compressed and no Blob is sent (either would hold
 * its later frames in its sender's queue, and ours would overtake them). So the server never
 * negotiates permessage-deflate (graphql-ws.ts) and sends no Blobs.
 */

/** First byte: FIN set, opcode 1 (text). */
const FIN_TEXT = 0x81;

/** Bytes of the header of an unmasked frame carrying `length` bytes. */
export function headerLength(length: number): number {
  return length < 126 ? 2 : length <= 0xffff ? 4 : 10;
}

/** Writes the header of an unmasked text frame of `length` bytes at the start of `frame`; returns its size. */
export function writeHeader(frame: Buffer, length: number): number {
  frame[0] = FIN_TEXT;
  if (length < 126) {
    frame[1] = length;
    return 2;
  }
  if (length <= 0xffff) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
    return 4;
  }
  frame[1] = 127;
  frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
  frame.writeUInt32BE(length >>> 0, 6);
  return 10;
}

/** `message` as one whole text frame. */
export function textFrame(message: string): Buffer {
  const length = Buffer.byteLength(message);
  const frame = Buffer.allocUnsafe(headerLength(length) + length);
  frame.write(message, writeHeader(frame, length));
  return frame;
}

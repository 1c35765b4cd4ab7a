import type { Writable } from 'node:stream';
import * as ws from 'ws';
import { describe, expect, it } from 'vitest';
import { nextFrame, nextPayload } from '../../src/transport/next-frames.js';
import { textFrame } from '../../src/transport/text-frames.js';

// ws's frame reader and writer, which @types/ws does not declare.
const { Receiver, Sender } = ws as unknown as {
  Receiver: new (options: { isServer: boolean }) => Writable;
  Sender: { frame(data: Buffer, options: Record<string, unknown>): Buffer[] };
};

/** What a client's ws reads from `bytes`: each message's text and whether it came as binary. */
function received(bytes: Buffer): Promise<{ text: string; binary: boolean }[]> {
  const receiver = new Receiver({ isServer: false });
  const messages: { text: string; binary: boolean }[] = [];
  return new Promise((resolve, reject) => {
    receiver.on('message', (data: Buffer, binary: boolean) => messages.push({ text: data.toString(), binary }));
    receiver.on('error', reject);
    receiver.write(bytes, () => resolve(messages));
  });
}

/** The frame ws's own send would write for `message`: its header and the message, concatenated. */
function wsFrame(message: string): Buffer {
  const data = Buffer.from(message);
  return Buffer.concat(Sender.frame(data, { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }));
}

// Lengths at the edges of the three header sizes (7-bit, 16-bit and 64-bit lengths), and text outside ASCII.
const lengths = [0, 1, 125, 126, 127, 65_535, 65_536, 200_000];
const texts = lengths.map((n) => 'a'.repeat(n));
texts.push('naïve ♪ 🎧 "quoted"'.repeat(9), '🎧'.repeat(32), '🎧'.repeat(16_384));

describe('whole text frames', () => {
  it.each(texts.map((t) => [Buffer.byteLength(t), t]))('of %i bytes are the bytes ws sends', (_bytes, text) => {
    expect(textFrame(text as string).equals(wsFrame(text as string))).toBe(true);
  });

  it('are read by ws as the text messages they carry, one after the other', async () => {
    const frames = Buffer.concat(texts.map(textFrame));
    expect(await received(frames)).toEqual(texts.map((text) => ({ text, binary: false })));
  });

  it("carry a shared stream's next message at every header size", async () => {
    for (const size of [10, 120, 70_000]) {
      const payload = nextPayload({ data: { messageAdded: { content: 'x'.repeat(size) } } });
      const id = 'a1b2c3d4-0000-4000-8000-000000000000';
      const message = `{"id":"${id}","type":"next","payload":${payload.toString()}}`;
      const frame = nextFrame(id, payload);
      expect(frame.equals(wsFrame(message))).toBe(true);
      expect(await received(frame)).toEqual([{ text: message, binary: false }]);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { Frames } from '../../src/modules/chat/frames.js';

/** Records what Frames sends; `fail` makes a send throw. (Tests move the clock by hand; the frame timers are real.) */
function recorder(fail?: (text: string) => boolean) {
  const sent: string[] = [];
  return {
    sent,
    send: async (text: string) => {
      if (fail?.(text)) throw new Error(`cannot send ${text}`);
      sent.push(text);
    },
  };
}

describe('Frames', () => {
  it('sends the first piece at once and joins what arrives within a frame', async () => {
    let now = 0;
    const r = recorder();
    const frames = new Frames(30, r.send, () => now);
    await frames.push('a ');
    expect(r.sent).toEqual(['a ']);
    now = 10;
    await frames.push('b ');
    now = 20;
    await frames.push('c ');
    expect(r.sent).toEqual(['a ']); // waiting for the frame to end
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(r.sent).toEqual(['a ', 'b c ']);
    now = 100; // a frame later: straight out again
    await frames.push('d');
    expect(r.sent).toEqual(['a ', 'b c ', 'd']);
    await frames.end();
    expect(r.sent.join('')).toBe('a b c d');
  });

  it('sends every piece on its own with frameMs 0, and end() flushes what is pending', async () => {
    const r = recorder();
    const frames = new Frames(0, r.send);
    for (const piece of ['x', 'y', 'z']) await frames.push(piece);
    expect(r.sent).toEqual(['x', 'y', 'z']);
    let now = 0;
    const late = recorder();
    const paced = new Frames(1000, late.send, () => now);
    await paced.push('1');
    now = 1;
    await paced.push('2');
    await paced.end();
    expect(late.sent).toEqual(['1', '2']);
  });

  it('reports a failed send to the next push and to end(), and sends nothing after it', async () => {
    let now = 0;
    const r = recorder((text) => text.includes('bad'));
    const frames = new Frames(20, r.send, () => now);
    await frames.push('ok ');
    now = 5;
    await frames.push('bad ');
    await new Promise((resolve) => setTimeout(resolve, 50)); // the frame's send fails in its timer
    await expect(frames.push('more')).rejects.toThrow('cannot send bad');
    await expect(frames.end()).rejects.toThrow('cannot send bad');
    expect(r.sent).toEqual(['ok ']);
  });
});

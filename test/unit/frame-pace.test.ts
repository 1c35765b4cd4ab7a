import { describe, expect, it } from 'vitest';
import { FramePace } from '../../src/modules/chat/frame-pace.js';
import { Frames } from '../../src/modules/chat/frames.js';

/** An event loop whose idle and active time the test moves by hand. */
function loop() {
  const time = { idle: 0, active: 0 };
  return {
    time: () => ({ ...time }),
    /** `ms` pass with the loop busy for `share` of them. */
    pass(ms: number, share: number) {
      time.active += ms * share;
      time.idle += ms * (1 - share);
    },
  };
}

describe('FramePace', () => {
  it('keeps the short frame while the loop has room and stretches it in proportion as it fills', () => {
    const l = loop();
    const changes: number[] = [];
    const pace = new FramePace(30, 120, (ms) => changes.push(ms), l.time);
    expect(pace.frameMs()).toBe(30);
    l.pass(1000, 0.3);
    expect(pace.frameMs()).toBe(30);
    l.pass(1000, 0.7); // halfway from RELAXED (0.5) to BUSY (0.9)
    expect(pace.frameMs()).toBe(75);
    l.pass(1000, 0.95);
    expect(pace.frameMs()).toBe(120);
    l.pass(1000, 1);
    expect(pace.frameMs()).toBe(120);
    l.pass(1000, 0.1); // the load is over: straight back
    expect(pace.frameMs()).toBe(30);
    expect(changes).toEqual([30, 75, 120, 30]);
  });

  it('reads the load over at least 250 ms: a shorter spell keeps the last length', () => {
    const l = loop();
    const pace = new FramePace(30, 120, () => {}, l.time);
    l.pass(300, 1);
    expect(pace.frameMs()).toBe(120);
    l.pass(100, 0); // 100 ms idle: too short to judge
    expect(pace.frameMs()).toBe(120);
    l.pass(200, 0); // 300 ms idle since the last reading
    expect(pace.frameMs()).toBe(30);
  });

  it('never stretches when the longest frame is not longer (CHAT_FRAME_MS 0 with its default, or equal settings)', () => {
    const l = loop();
    for (const [min, max] of [
      [0, 0],
      [30, 30],
    ] as const) {
      const pace = new FramePace(min, max, () => {}, l.time);
      l.pass(1000, 1);
      expect(pace.frameMs()).toBe(min);
    }
  });

  it('sets the length Frames waits for, read at each piece', async () => {
    const l = loop();
    const pace = new FramePace(30, 120, () => {}, l.time);
    let now = 0;
    const sent: string[] = [];
    const frames = new Frames(
      () => pace.frameMs(),
      async (text) => void sent.push(text),
      () => now,
    );
    await frames.push('a ');
    now = 40; // past a 30 ms frame
    await frames.push('b ');
    expect(sent).toEqual(['a ', 'b ']);
    l.pass(1000, 1); // loaded: frames of 120 ms
    now = 100; // 60 ms after the last send
    await frames.push('c ');
    expect(sent).toEqual(['a ', 'b ']); // held for the longer frame
    await frames.end();
    expect(sent).toEqual(['a ', 'b ', 'c ']);
  });
});

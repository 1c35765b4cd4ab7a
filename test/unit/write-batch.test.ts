import { describe, expect, it } from 'vitest';
import { WriteBatch } from '../../src/transport/write-batch.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A batch whose writes are recorded as `socket:data`. */
function recorded(max?: number) {
  const written: string[] = [];
  const batch = new WriteBatch<string>(
    (socket, data) => void written.push(`${socket}:${data}`),
    () => {},
    max,
  );
  return { written, batch };
}

describe('WriteBatch: socket writes made together, in order', () => {
  it('writes after the microtasks queued before the first write, all of them in the order sent, once', async () => {
    const { written, batch } = recorded();
    const order: string[] = [];
    // Steps queued before the first write run before the flush, as the other viewers' last steps do.
    queueMicrotask(() => {
      order.push('step queued before');
      batch.add('b', '1');
    });
    batch.add('a', '1');
    queueMicrotask(() => order.push(`step queued after: ${written.length} written`));
    expect(written).toEqual([]);
    await turn();
    expect(order).toEqual(['step queued before', 'step queued after: 2 written']);
    expect(written).toEqual(['a:1', 'b:1']);
    // A later write is made in its own flush.
    batch.add('c', Buffer.from('3'));
    await turn();
    expect(written).toEqual(['a:1', 'b:1', 'c:3']);
  });

  it('flush writes what is queued now, before what comes next (a close frame)', async () => {
    const { written, batch } = recorded();
    batch.add('a', 'complete');
    batch.flush();
    written.push('a:close');
    await turn();
    expect(written).toEqual(['a:complete', 'a:close']);
  });

  it('a write queued by a write is made in the same flush, after it; a flush inside a write waits its turn', async () => {
    const written: string[] = [];
    const batch: WriteBatch<string> = new WriteBatch<string>(
      (socket, data) => {
        written.push(`${socket}:${data}`);
        if (data === '1') {
          batch.add('b', 'queued by a:1');
          batch.flush();
        }
      },
      () => {},
    );
    batch.add('a', '1');
    batch.add('a', '2');
    await turn();
    expect(written).toEqual(['a:1', 'a:2', 'b:queued by a:1']);
  });

  it('a write that throws is reported, and the other writes are still made', async () => {
    const written: string[] = [];
    const failures: unknown[] = [];
    const batch = new WriteBatch<string>(
      (socket, data) => {
        if (socket === 'broken') throw new Error('socket broke');
        written.push(`${socket}:${data}`);
      },
      (err) => failures.push(err),
    );
    batch.add('a', '1');
    batch.add('broken', '1');
    batch.add('b', '1');
    await turn();
    expect(written).toEqual(['a:1', 'b:1']);
    expect(failures).toHaveLength(1);
    expect((failures[0] as Error).message).toBe('socket broke');
    batch.add('a', '2');
    await turn();
    expect(written).toEqual(['a:1', 'b:1', 'a:2']);
  });

  it('holds at most `max` writes: the one that reaches it writes them all at once', async () => {
    const { written, batch } = recorded(3);
    batch.add('a', '1');
    batch.add('b', '1');
    expect(written).toEqual([]);
    batch.add('c', '1');
    expect(written).toEqual(['a:1', 'b:1', 'c:1']);
    batch.add('a', '2');
    expect(written).toHaveLength(3);
    await turn();
    expect(written).toEqual(['a:1', 'b:1', 'c:1', 'a:2']);
  });
});

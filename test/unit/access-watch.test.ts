import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/logger.js';
import { ProjectAccessWatch } from '../../src/modules/projects/access-watch.js';
import type { PubSub } from '../../src/pubsub.js';

const watch = () => new ProjectAccessWatch({ pubsub: {} as PubSub, log: {} as Logger });

describe('ProjectAccessWatch', () => {
  it("ends every stream of that user on that project, and no one else's", () => {
    const w = watch();
    const ended: string[] = [];
    w.watch('u1', 'p1', () => ended.push('a'));
    w.watch('u1', 'p1', () => ended.push('b'));
    w.watch('u1', 'p2', () => ended.push('other project'));
    w.watch('u2', 'p1', () => ended.push('other user'));
    w.revoke('u1', 'p1', 'r1');
    expect(ended).toEqual(['a', 'b']);
    expect(w.size).toBe(2);
  });

  it('takes one revocation once: a copy from another master leaves a stream opened since alone', () => {
    const w = watch();
    const ended: string[] = [];
    w.watch('u1', 'p1', () => ended.push('before'));
    w.revoke('u1', 'p1', 'r1');
    // Added back and subscribed again before the copy from another master arrived.
    w.watch('u1', 'p1', () => ended.push('after'));
    w.revoke('u1', 'p1', 'r1');
    expect(ended).toEqual(['before']);
    // A new revocation ends it.
    w.revoke('u1', 'p1', 'r2');
    expect(ended).toEqual(['before', 'after']);
  });

  it("ends the other streams when one stream's end throws, and logs it", () => {
    const errors: unknown[] = [];
    const w = new ProjectAccessWatch({
      pubsub: {} as PubSub,
      log: { error: (o: unknown) => errors.push(o) } as unknown as Logger,
    });
    const ended: string[] = [];
    w.watch('u1', 'p1', () => {
      throw new Error('socket gone');
    });
    w.watch('u1', 'p1', () => ended.push('second'));
    w.revoke('u1', 'p1', 'r1');
    expect(ended).toEqual(['second']);
    expect(errors).toMatchObject([{ userId: 'u1', projectId: 'p1', err: { message: 'socket gone' } }]);
    expect(w.size).toBe(0);
  });

  it('remembers a bounded number of revocations', () => {
    const w = watch();
    for (let i = 0; i < 5_000; i++) w.revoke('u', 'p', `r${i}`);
    const ended: string[] = [];
    w.watch('u', 'p', () => ended.push('oldest forgotten'));
    w.revoke('u', 'p', 'r0');
    expect(ended).toEqual(['oldest forgotten']);
  });
});

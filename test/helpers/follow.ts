/**
 * Followers that resume the way a client should after its socket closes (an api killed, a rolling
 * restart, a pub/sub resync with 1012): a new socket, then the subscription again, chatStream from
 * the chunk after the last one received. They count what a user would notice: chunks missing or
 * received twice, and reconnects.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const CHAT =
  'subscription($c: ID!, $f: Int, $m: ID) { chatStream(conversationId: $c, fromIndex: $f, messageId: $m) { messageId index delta done message { status content } } }';
const PROGRESS = 'subscription($id: ID!) { generationProgress(id: $id) { percent generation { status } } }';

interface Chunk {
  messageId: string;
  index: number;
  delta: string;
  done: boolean;
  message: { status: string; content: string } | null;
}

export interface FollowedReply {
  text: string;
  /** Indexes never received before the reply ended. */
  missing: number;
  /** Chunks received again (an index at or below one already received). */
  duplicates: number;
  reconnects: number;
  /** The stored message as the done chunk carried it. */
  final: { status: string; content: string } | null;
}

/**
 * One socket's subscription until it ends: 'done' (the reply or beat ended), 'cut' (socket closed, or
 * an error) or 'late' (still open at `deadline`: the caller reports what it was waiting for).
 */
function once<T>(
  wsUrl: string,
  token: string,
  query: string,
  variables: Record<string, unknown>,
  onData: (data: T) => boolean,
  deadline: number,
): Promise<'done' | 'cut' | 'late'> {
  return new Promise((resolve) => {
    let settled = false;
    const late = setTimeout(() => finish('late'), Math.max(0, deadline - Date.now()));
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      // Lazy: the socket opens with the subscription, and a refused socket (4429, 1006) reaches its
      // sink's error rather than an unhandled rejection.
      lazy: true,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
      on: { closed: () => finish('cut') },
    });
    const finish = (how: 'done' | 'cut' | 'late') => {
      if (settled) return;
      settled = true;
      clearTimeout(late);
      void Promise.resolve(client.dispose()).catch(() => {});
      resolve(how);
    };
    client.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          if (value.errors?.length) return finish('cut');
          if (value.data && onData(value.data as T)) finish('done');
        },
        error: () => finish('cut'),
        complete: () => finish('cut'),
      },
    );
  });
}

/** Follows one reply to its done chunk from index 0, resuming from the next index after every cut. */
export async function followReply(
  wsUrl: string,
  token: string,
  conversationId: string,
  messageId: string,
  timeoutMs = 60_000,
): Promise<FollowedReply> {
  const received = new Map<number, string>();
  let duplicates = 0;
  let reconnects = -1;
  let next = 0;
  let final: FollowedReply['final'] = null;
  let doneIndex = -1;
  const deadline = Date.now() + timeoutMs;
  while (doneIndex < 0) {
    if (Date.now() > deadline) throw new Error(`reply ${messageId} did not end within ${timeoutMs} ms (${received.size} chunks)`);
    reconnects++;
    if (reconnects) await new Promise((r) => setTimeout(r, 100));
    const how = await once<{ chatStream: Chunk }>(
      wsUrl,
      token,
      CHAT,
      { c: conversationId, f: next, m: messageId },
      ({ chatStream: c }) => {
        if (c.messageId !== messageId) return false;
        if (received.has(c.index) || c.index < next) duplicates++;
        else received.set(c.index, c.delta);
        next = Math.max(next, c.index + 1);
        if (c.done) {
          doneIndex = c.index;
          final = c.message;
        }
        return c.done;
      },
      deadline,
    );
    if (how === 'late')
      throw new Error(
        `reply ${messageId} did not end within ${timeoutMs} ms: ${received.size} chunks received (next ${next}), ` +
          `${reconnects} reconnects, its socket still open`,
      );
  }
  let missing = 0;
  let text = '';
  for (let i = 0; i <= doneIndex; i++) {
    if (!received.has(i)) missing++;
    text += received.get(i) ?? '';
  }
  return { text, missing, duplicates, reconnects, final };
}

/** Follows a generation's progress until it ends, subscribing again after every cut; its last status. */
export async function followProgress(
  wsUrl: string,
  token: string,
  generationId: string,
  timeoutMs = 120_000,
): Promise<{ status: string; reconnects: number }> {
  let status = '';
  let reconnects = -1;
  const deadline = Date.now() + timeoutMs;
  const ended = () => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(status);
  while (!ended()) {
    if (Date.now() > deadline) throw new Error(`generation ${generationId} did not end within ${timeoutMs} ms (${status})`);
    reconnects++;
    if (reconnects) await new Promise((r) => setTimeout(r, 100));
    const how = await once<{ generationProgress: { generation: { status: string } } }>(
      wsUrl,
      token,
      PROGRESS,
      { id: generationId },
      (d) => {
        status = d.generationProgress.generation.status;
        return ended();
      },
      deadline,
    );
    if (how === 'late')
      throw new Error(
        `generation ${generationId} did not end within ${timeoutMs} ms (${status}, ${reconnects} reconnects, its socket still open)`,
      );
  }
  return { status, reconnects };
}

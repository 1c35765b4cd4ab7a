/**
 * The chat path's writes as SQL on the pool Prisma runs over: every message makes them, and
 * as Prisma model queries they were the largest cost of sendMessage (bench:chat, docs/benchmarks.md).
 * Each is one statement, so one round trip: the ownership check with the user's message, the
 * assistant's message with the conversation's updatedAt (or both messages at once, for a message
 * that starts nothing), and the finished reply. Messages that start nothing and arrive together
 * share their statement: fifty at once were fifty round trips queued on the pool's connections, each
 * costing the api a socket write and a reply to parse. Rows come back in the shape of Prisma's
 * `Message`; test/integration/message-store.test.ts compares them field by field with what Prisma reads.
 */
import { randomUUID } from 'node:crypto';
import DataLoader from 'dataloader';
import { conversationSql } from '../../access/rules.js';
import type { Sql } from '../../db/client.js';
import { Prisma, type Message } from '../../generated/prisma/client.js';

const MESSAGE = `id, conversation_id AS "conversationId", user_id AS "userId", role, content, status, intent, entities,
  generation_id AS "generationId", provider, model, prompt_tokens AS "promptTokens",
  completion_tokens AS "completionTokens", cost, error, created_at AS "createdAt"`;

type Row = Omit<Message, 'cost'> & { cost: string };

/** The conversation `$1` if the viewer `$2` may add messages to it (the access rule, as SQL). */
const WRITABLE_CONVERSATION = `SELECT c.id, c.project_id FROM conversations c WHERE c.id = $1 AND ${conversationSql('write', 'c', '$2')}`;

/** A row as Prisma's `Message`: its cost, read as text, becomes a Decimal in place (the row is ours, fresh from pg). */
const toMessage = (row: Row): Message => {
  const message = row as unknown as Message;
  message.cost = new Prisma.Decimal(row.cost);
  return message;
};

const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));

export interface NewMessage {
  content: string;
  status: Message['status'];
  intent: Message['intent'];
  entities: object | null;
  generationId?: string | null;
  provider?: string | null;
  model?: string | null;
}

export type MessageResult = Partial<
  Pick<Message, 'content' | 'status' | 'provider' | 'model' | 'promptTokens' | 'completionTokens' | 'error'>
> & { cost?: number };

/** An exchange waiting for its statement (addExchange). */
interface Exchange {
  userId: string;
  conversationId: string;
  user: NewMessage;
  assistant: NewMessage;
}

type ExchangeRows = { userMessage: Message; assistantMessage: Message } | null;
/** An exchange of a batch: its place in the batch and its messages' ids. */
interface Entry {
  exchange: Exchange;
  i: number;
  ids: { user: string; assistant: string };
}

/** The most exchanges one statement stores. */
const EXCHANGES_PER_STATEMENT = 100;

/** The first entry of each conversation, in order. */
function firstPerConversation<T extends { exchange: Exchange }>(entries: T[]): T[] {
  const seen = new Set<string>();
  return entries.filter(({ exchange }) => {
    if (seen.has(exchange.conversationId)) return false;
    seen.add(exchange.conversationId);
    return true;
  });
}

const asError = (error: unknown) => (error instanceof Error ? error : new Error(String(error)));

/** A promise that resolves at the first release(), which also calls `onRelease`; later calls do nothing. */
function heldUntilReleased(onRelease: () => void): { done: Promise<void>; release(): void } {
  let resolve = () => {};
  const done = new Promise<void>((r) => {
    resolve = r;
  });
  let released = false;
  return {
    done,
    release() {
      if (released) return;
      released = true;
      onRelease();
      resolve();
    },
  };
}

export class MessageStore {
  private readonly exchanges: DataLoader<Exchange, ExchangeRows>;
  /**
   * Each conversation with exchanges being stored, and when the batch storing them is done. Batches
   * of successive turns run side by side; a batch's exchanges in a conversation an earlier batch is
   * still storing wait for it, so that they are stored after its own (see storeExchanges).
   */
  private readonly storing = new Map<string, Promise<void>>();

  constructor(private readonly sql: Sql) {
    this.exchanges = new DataLoader((batch) => this.storeExchanges(batch), {
      cache: false,
      maxBatchSize: EXCHANGES_PER_STATEMENT,
      // The rest of this turn of the event loop: a burst's requests come back from Redis together.
      batchScheduleFn: (run) => setImmediate(run),
    });
  }

  /**
   * Stores the user's message in `conversationId` if `userId` may write to it (src/access). Returns the
   * message and the conversation's project, or null (nothing stored) when they may not or it does not exist.
   */
  async addUserMessage(
    userId: string,
    conversationId: string,
    m: NewMessage,
  ): Promise<{ message: Message; projectId: string | null } | null> {
    const { rows } = await this.sql.query<Row & { projectId: string | null }>({
      name: 'dawg-add-user-message',
      text: `WITH c AS (${WRITABLE_CONVERSATION}),
       m AS (INSERT INTO messages (id, conversation_id, user_id, role, content, status, intent, entities)
             SELECT $3::uuid, c.id, $2::uuid, 'USER', $4, $5::"MessageStatus", $6::"Intent", $7::jsonb FROM c RETURNING ${MESSAGE})
       SELECT m.*, c.project_id AS "projectId" FROM m, c`,
      values: [conversationId, userId, randomUUID(), m.content, m.status, m.intent, json(m.entities)],
    });
    const row = rows[0];
    if (!row) return null;
    const { projectId, ...message } = row;
    return { message: toMessage(message), projectId };
  }

  /**
   * Stores the user's message and the assistant's reply to it (strictly after it) in `conversationId`
   * if `userId` may write to it, and marks the conversation updated. Null (nothing stored) when the
   * conversation is not theirs or does not exist. Exchanges added in the same turn of the event loop
   * (a burst of messages resumes together) share one statement (see storeExchanges).
   */
  addExchange(
    userId: string,
    conversationId: string,
    user: NewMessage,
    assistant: NewMessage,
  ): Promise<{ userMessage: Message; assistantMessage: Message } | null> {
    return this.exchanges.load({ userId, conversationId, user, assistant });
  }

  /**
   * A batch of exchanges, in statements of one exchange per conversation, one after another: a
   * conversation's exchanges keep the order they came in (each is stored at least a millisecond after
   * the conversation's last message, whatever now() reads), within the batch and across batches. An
   * exchange in a conversation an earlier batch is still storing goes once that batch has stored its
   * last exchange there; the batch's other conversations do not wait for it.
   * If a shared statement fails, each of its exchanges is tried alone, so one bad exchange fails
   * only its own caller.
   */
  private async storeExchanges(batch: readonly Exchange[]): Promise<(ExchangeRows | Error)[]> {
    const results: (ExchangeRows | Error)[] = [];
    // Ids made once: an exchange tried again alone after a shared statement that did commit (its answer
    // lost with the connection) meets its own rows' keys and fails, instead of being stored twice.
    let left = batch.map((exchange, i) => ({ exchange, i, ids: { user: randomUUID(), assistant: randomUUID() } }));
    // What this batch holds, by conversation: done once its last exchange there is stored.
    const held = new Map<string, { done: Promise<void>; release(): void }>();
    // The earlier batches this one waits for, by conversation; each leaves the map once released.
    const earlier = new Map<string, Promise<void>>();
    for (const id of new Set(batch.map((exchange) => exchange.conversationId))) {
      const before = this.storing.get(id);
      if (before)
        earlier.set(
          id,
          before.then(() => void earlier.delete(id)),
        );
      const hold = heldUntilReleased(() => {
        if (this.storing.get(id) === hold.done) this.storing.delete(id);
      });
      held.set(id, hold);
      this.storing.set(id, hold.done);
    }
    try {
      while (left.length) {
        const first = firstPerConversation(left);
        const round = first.filter(({ exchange }) => !earlier.has(exchange.conversationId));
        // Every conversation left waits for an earlier batch: go on once one of them is released.
        if (!round.length) {
          await Promise.race(earlier.values());
          continue;
        }
        left = left.filter((entry) => !round.includes(entry));
        await this.storeRound(round, results);
        for (const { exchange } of round)
          if (!left.some((entry) => entry.exchange.conversationId === exchange.conversationId))
            held.get(exchange.conversationId)?.release();
      }
    } finally {
      for (const hold of held.values()) hold.release();
    }
    return results;
  }

  /** One statement for `round` (one exchange per conversation), its rows or errors put in `results`. */
  private async storeRound(round: Entry[], results: (ExchangeRows | Error)[]): Promise<void> {
    const stored = await this.insertExchanges(round).catch(async (error: unknown) => {
      if (round.length === 1) return [asError(error)];
      const alone = (entry: Entry) => this.insertExchanges([entry]).then((r) => r[0] as ExchangeRows, asError);
      return Promise.all(round.map(alone));
    });
    round.forEach(({ i }, k) => {
      results[i] = stored[k] as ExchangeRows | Error;
    });
  }

  /** One statement for exchanges in different conversations; a row each, in order (null: refused). */
  private async insertExchanges(entries: readonly Entry[]): Promise<ExchangeRows[]> {
    const exchanges = entries.map((e) => e.exchange);
    const ids = entries.map((e) => e.ids);
    const column = <T>(value: (e: Exchange, i: number) => T) => exchanges.map(value);
    const { rows } = await this.sql.query<Row>({
      name: 'dawg-add-exchanges',
      text: `WITH i AS (
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::"MessageStatus"[], $6::"Intent"[], $7::jsonb[],
           $8::uuid[], $9::text[], $10::"MessageStatus"[], $11::"Intent"[], $12::jsonb[], $13::uuid[], $14::text[], $15::text[])
           AS i(conversation_id, user_id, u_id, u_content, u_status, u_intent, u_entities,
             a_id, a_content, a_status, a_intent, a_entities, a_generation_id, a_provider, a_model)),
       w AS (SELECT i.*, GREATEST(now(), (SELECT max(m.created_at) + interval '1 millisecond' FROM messages m
               WHERE m.conversation_id = i.conversation_id)) AS at
             FROM i JOIN conversations c ON c.id = i.conversation_id AND ${conversationSql('write', 'c', 'i.user_id')}),
       u AS (INSERT INTO messages (id, conversation_id, user_id, role, content, status, intent, entities, created_at)
             SELECT u_id, conversation_id, user_id, 'USER', u_content, u_status, u_intent, u_entities, at FROM w
             RETURNING ${MESSAGE}),
       a AS (INSERT INTO messages (id, conversation_id, user_id, role, content, status, intent, entities,
               generation_id, provider, model, created_at)
             SELECT a_id, conversation_id, user_id, 'ASSISTANT', a_content, a_status, a_intent, a_entities,
               a_generation_id, a_provider, a_model, at + interval '1 millisecond' FROM w
             RETURNING ${MESSAGE}),
       t AS (UPDATE conversations SET updated_at = now() WHERE id IN (SELECT conversation_id FROM w))
       SELECT * FROM u UNION ALL SELECT * FROM a`,
      values: [
        column((e) => e.conversationId),
        column((e) => e.userId),
        column((_, i) => ids[i]?.user),
        column((e) => e.user.content),
        column((e) => e.user.status),
        column((e) => e.user.intent),
        column((e) => json(e.user.entities)),
        column((_, i) => ids[i]?.assistant),
        column((e) => e.assistant.content),
        column((e) => e.assistant.status),
        column((e) => e.assistant.intent),
        column((e) => json(e.assistant.entities)),
        column((e) => e.assistant.generationId ?? null),
        column((e) => e.assistant.provider ?? null),
        column((e) => e.assistant.model ?? null),
      ],
    });
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map(({ user, assistant }) => {
      const userRow = byId.get(user);
      const assistantRow = byId.get(assistant);
      return userRow && assistantRow ? { userMessage: toMessage(userRow), assistantMessage: toMessage(assistantRow) } : null;
    });
  }

  /**
   * Stores the assistant's message, strictly after `after` (messages are listed by createdAt, then
   * id), and marks the conversation updated, in one statement.
   */
  async addAssistantMessage(conversationId: string, userId: string, after: Date, m: NewMessage): Promise<Message> {
    const { rows } = await this.sql.query<Row>({
      name: 'dawg-add-assistant-message',
      text: `WITH m AS (INSERT INTO messages (id, conversation_id, role, content, status, intent, entities,
                    generation_id, provider, model, created_at, user_id)
                  VALUES ($1, $2, 'ASSISTANT', $3, $4, $5, $6, $7, $8, $9,
                    GREATEST(now(), $10::timestamptz + interval '1 millisecond'), $11)
                  RETURNING ${MESSAGE}),
       c AS (UPDATE conversations SET updated_at = now() WHERE id = $2)
       SELECT * FROM m`,
      values: [
        randomUUID(),
        conversationId,
        m.content,
        m.status,
        m.intent,
        json(m.entities),
        m.generationId ?? null,
        m.provider ?? null,
        m.model ?? null,
        after,
        userId,
      ],
    });
    return toMessage(rows[0] as Row);
  }

  /** Writes how a reply ended; the fields not given stay as they are. Null if the message is gone. */
  async finish(id: string, result: MessageResult): Promise<Message | null> {
    const fields = Object.entries(result).filter(([, v]) => v !== undefined);
    const set = fields.map(([k], i) => `${COLUMN[k as keyof MessageResult]} = $${i + 2}`);
    const { rows } = await this.sql.query<Row>({
      // One prepared statement per set of columns; named by their initials because PostgreSQL cuts
      // names at 63 bytes, which would give two column sets one name.
      name: `dawg-finish:${fields.map(([k]) => STATEMENT_TAG[k as keyof MessageResult]).join('')}`,
      // Only a reply still streaming: one that was ended (an orphan swept, see ReplyLeases) stays so.
      text: `UPDATE messages SET ${set.join(', ')} WHERE id = $1 AND status = 'STREAMING' RETURNING ${MESSAGE}`,
      values: [id, ...fields.map(([, v]) => v)],
    });
    return rows[0] ? toMessage(rows[0]) : null;
  }
}

const COLUMN: Record<keyof MessageResult, string> = {
  content: 'content',
  status: 'status',
  provider: 'provider',
  model: 'model',
  promptTokens: 'prompt_tokens',
  completionTokens: 'completion_tokens',
  cost: 'cost',
  error: 'error',
};

/** A letter per column for prepared statement names (see finish). */
const STATEMENT_TAG: Record<keyof MessageResult, string> = {
  content: 'c',
  status: 's',
  provider: 'p',
  model: 'm',
  promptTokens: 'i',
  completionTokens: 'o',
  cost: '$',
  error: 'e',
};

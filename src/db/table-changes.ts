/**
 * Committed writes to the tables cached reads are made of, as PostgreSQL reports them: a statement
 * trigger on each NOTIFYs `dawg_reads` when its transaction commits, whoever wrote (migration
 * 20261201234000_reads_notify). One connection per api process LISTENs; `epoch` moves on every
 * notification. While that connection is down a write could go unseen, so `live` is false (nothing
 * may be cached) and the epoch moves again once it is back: what was cached before cannot be trusted.
 */
import pg from 'pg';
import type { Logger } from '../logger.js';

export const READS_CHANNEL = 'dawg_reads';

export interface TableChangesOptions {
  connectionString: string;
  log: Logger;
  /** Wait before listening again after the connection is lost. */
  retryMs?: number;
}

export class TableChanges {
  /** Moves on every committed write to the watched tables, and whenever one may have gone unseen. */
  epoch = 0;
  /** Listening now: a write will move the epoch. */
  live = false;
  private client: pg.Client | null = null;
  private retry: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly opts: TableChangesOptions) {}

  start(): void {
    void this.listen();
  }

  /** What a cache must do after a local write it cannot wait for PostgreSQL to report. */
  bump(): void {
    this.epoch++;
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.opts.connectionString, application_name: 'dawg-api-listen' });
    let gone = false;
    const lost = (err?: Error) => {
      if (gone) return;
      gone = true;
      if (this.client === client) this.client = null;
      const wasLive = this.live;
      this.live = false;
      this.epoch++;
      client.end().catch(() => {});
      if (this.stopped) return;
      // Once per loss: the retries of an outage that goes on are not news.
      if (wasLive)
        this.opts.log.warn(
          { err: err?.message },
          'lost the database notifications of writes; caching no reads until they are back',
        );
      else this.opts.log.debug({ err: err?.message }, 'database notifications of writes not available yet');
      this.retry = setTimeout(() => {
        this.retry = null;
        void this.listen();
      }, this.opts.retryMs ?? 1000);
      this.retry.unref();
    };
    client.on('notification', () => this.epoch++);
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      await client.query(`LISTEN ${READS_CHANNEL}`);
    } catch (err) {
      lost(err as Error);
      return;
    }
    if (this.stopped || gone) {
      gone = true;
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.epoch++;
    this.live = true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.live = false;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
  }
}

/**
 * Paces a reply's text into frames: the first piece is sent at once, and pieces that arrive within
 * `frameMs` (a number, or read at each piece: FramePace) of the last send are joined and sent together when the frame ends. A model streaming
 * 50-100 tokens a second (or the local provider's three words every CHAT_CHUNK_DELAY_MS) then costs
 * one chatStream event per frame instead of one per token; each event is a Redis publish, a GraphQL
 * execution and a WebSocket frame per subscriber (docs/benchmarks.md, chat). `frameMs` 0 sends
 * every piece as it comes. Sends run one after another, in order.
 */
export class Frames {
  private pending = '';
  private lastSent = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | null = null;

  constructor(
    private readonly frameMs: number | (() => number),
    private readonly send: (text: string) => Promise<void>,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Adds text; resolves once it is sent or scheduled. Rejects if an earlier send failed. */
  push(text: string): Promise<void> {
    if (this.failure) return Promise.reject(this.failure.error);
    this.pending += text;
    if (this.timer) return Promise.resolve();
    const frame = typeof this.frameMs === 'number' ? this.frameMs : this.frameMs();
    const wait = this.lastSent + frame - this.now();
    if (wait <= 0) return this.flush();
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush().catch(() => {}); // kept in `failure`; the next push or end() reports it
    }, wait);
    return Promise.resolve();
  }

  /** Sends what is still pending and waits for every send; rejects if any failed. */
  async end(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pending) this.flush().catch(() => {});
    await this.chain;
    if (this.failure) throw this.failure.error;
  }

  private flush(): Promise<void> {
    const text = this.pending;
    this.pending = '';
    this.lastSent = this.now();
    const sent = this.chain
      .then(() => {
        if (this.failure) throw this.failure.error;
        return this.send(text);
      })
      .catch((error) => {
        this.failure ??= { error };
        throw error;
      });
    this.chain = sent.catch(() => {});
    return sent;
  }
}

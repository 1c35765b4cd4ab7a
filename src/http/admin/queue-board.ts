/**
 * Bull Board (the queues' pages, static assets and JSON API) as a plain Node handler under
 * QUEUE_BOARD_PATH. It does no access check of its own: admin-area.ts lets only an ADMIN's
 * request reach it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import express from 'express';
import { QUEUE_BOARD_PATH } from './paths.js';

/** Answers a request under QUEUE_BOARD_PATH; false when the board has no such page (the caller's 404). */
export type QueueBoard = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export function createQueueBoard(queues: Queue[]): QueueBoard {
  const adapter = new ExpressAdapter().setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue)),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'dawg queues' } },
  });
  const board = adapter.getRouter() as express.Express;
  // No X-Powered-By: a path the board does not serve must answer exactly like any unknown path.
  board.disable('x-powered-by');
  const app = express().disable('x-powered-by').use(QUEUE_BOARD_PATH, board);
  return (req, res) =>
    new Promise<boolean>((resolve, reject) => {
      res.once('close', () => resolve(true));
      // Called only when no route of the board answered (or one threw): the front stage answers then.
      app(req as express.Request, res as express.Response, (err?: unknown) => (err ? reject(err) : resolve(false)));
    });
}

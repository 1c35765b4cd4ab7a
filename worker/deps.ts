import type { Config } from '../src/config.js';
import type { Db } from '../src/db/client.js';
import type { WriteMarks } from '../src/db/write-marks.js';
import type { Logger } from '../src/logger.js';
import type { PubSub } from '../src/pubsub.js';
import type { Storage } from '../src/storage/index.js';
import type { EnginePool } from './engine-pool/pool.js';

export interface WorkerDeps {
  config: Config;
  prisma: Db;
  /** Read-your-writes marks for the users whose generations change state; null without read replicas. */
  marks: WriteMarks | null;
  pubsub: PubSub;
  storage: Storage;
  log: Logger;
  /** The audio engine's threads: every render and encode runs there. */
  engine: EnginePool;
}

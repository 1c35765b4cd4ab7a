import type { Generation } from '../../src/generated/prisma/client.js';
import type { GenerationOutputData } from '../../src/modules/generations/generation-output.js';
import type { WorkerDeps } from '../deps.js';

/** Reports a stage and its percent; throws CancelledError when the generation was cancelled. */
export type Report = (stage: string, percent: number) => Promise<void>;

export type Handler = (generation: Generation, report: Report, deps: WorkerDeps) => Promise<GenerationOutputData>;

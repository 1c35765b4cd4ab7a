/** What each mutation field costs in the cost model (src/graphql/limits.ts); query fields cost 1. */

/**
 * Mutations that cost more than a row write: password hashing, queued jobs, AI replies. With the
 * default GRAPHQL_MAX_COST (1,000) one operation holds at most one logIn or signUp, and a handful of
 * generateBeat or sendMessage (the alias limit comes first anyway). Other mutation fields cost MUTATION_COST, query fields 1.
 */
export const MUTATION_COSTS: Readonly<Record<string, number>> = {
  logIn: 600,
  signUp: 600,
  generateBeat: 100,
  retryGeneration: 100,
  mixProject: 100,
  masterTrack: 100,
  createStems: 100,
  sendMessage: 100,
  // Waits for a decode and analysis in the worker.
  completeUpload: 100,
};
/** Any other mutation field. */
export const MUTATION_COST = 20;

/** The dearest single field: GRAPHQL_MAX_COST and GRAPHQL_COST_PER_MINUTE must allow it (src/config.ts). */
export const MAX_FIELD_COST = Math.max(MUTATION_COST, ...Object.values(MUTATION_COSTS));

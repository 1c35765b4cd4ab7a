import { Failure } from '../src/failures.js';
import type { Storage } from '../src/storage/index.js';

/**
 * The worker's storage: any read or write that fails (a full disk, a missing
 * file, S3 down or refusing) becomes STORAGE_UNAVAILABLE for the client, with
 * the driver's own error kept as the cause for the logs. Retried like any job.
 */
export function guardedStorage(storage: Storage): Storage {
  const guard =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } catch (err) {
        throw new Failure('STORAGE_UNAVAILABLE', undefined, { cause: err });
      }
    };
  return {
    driver: storage.driver,
    put: guard(storage.put.bind(storage)),
    get: guard(storage.get.bind(storage)),
    exists: guard(storage.exists.bind(storage)),
    size: guard(storage.size.bind(storage)),
    delete: guard(storage.delete.bind(storage)),
    uploadUrl: guard(storage.uploadUrl.bind(storage)),
    signedUrl: guard(storage.signedUrl.bind(storage)),
  };
}

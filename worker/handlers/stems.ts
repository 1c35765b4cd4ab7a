import { Failure } from '../../src/failures.js';
import { parseKey } from '../../src/music/keys.js';
import { type GenerationOutputData, isOutputData } from '../../src/modules/generations/generation-output.js';
import { storedBeatInput, storedStemsInput } from '../../src/modules/generations/generation.rules.js';
import { storageKeys } from '../../src/storage/index.js';
import { PARTS } from '../engine/index.js';
import { asBuffer, parseStored } from './shared.js';
import type { Handler } from './types.js';

/**
 * Re-renders the source beat (deterministic: same input and seed) and writes
 * each part as a 24-bit WAV, mastered with the mix's own gain curve so the
 * stems sum to the source's mix, sample-aligned.
 */
export const stemsHandler: Handler = async (generation, report, deps) => {
  const { sourceGenerationId } = parseStored(storedStemsInput, generation.input);
  const source = await deps.prisma.generation.findUnique({ where: { id: sourceGenerationId } });
  const sourceOutput = source?.output;
  if (source?.status !== 'COMPLETED' || source.type !== 'BEAT' || !isOutputData(sourceOutput)) {
    throw new Failure('INVALID_INPUT', 'the source generation is not a finished beat', { final: true });
  }
  const input = parseStored(storedBeatInput, source.input);
  const key = parseKey(input.key);
  if (!key) throw new Failure('INVALID_INPUT', 'key: not a key we know', { final: true });
  const out: { name: string; key: string }[] = [];
  // Rendered on an engine thread, which hands over one stem at a time: encoded, stored, let go.
  await deps.engine.stems(
    { ...input, key },
    (stage) => report(stage === 'mastering' ? 'mastering' : `rendering ${stage}`, stage === 'mastering' ? 60 : 10),
    async (part, wav) => {
      await report(`stem ${part}`, 70 + PARTS.indexOf(part) * 7);
      const k = storageKeys.stem(generation.userId, generation.id, part);
      await deps.storage.put(k, asBuffer(wav), 'audio/wav');
      out.push({ name: part, key: k });
    },
  );
  const base: GenerationOutputData = sourceOutput;
  return { ...base, files: { ...base.files, stems: out } };
};

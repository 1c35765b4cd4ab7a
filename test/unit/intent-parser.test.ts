import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/modules/chat/intent-parser.js';
import { CORPUS } from './intent-corpus.js';

describe('local intent parser', () => {
  it(`understands the corpus (${CORPUS.length} phrasings) with at least 95 % accuracy`, () => {
    const misses: string[] = [];
    for (const [text, intent, entities] of CORPUS) {
      const parsed = parseMessage(text);
      const entityMiss = Object.entries(entities).filter(([k, v]) => parsed.entities[k as keyof typeof entities] !== v);
      if (parsed.intent !== intent || entityMiss.length) {
        misses.push(
          `${JSON.stringify(text)} → ${parsed.intent} ${JSON.stringify(parsed.entities)} (wanted ${intent} ${JSON.stringify(entities)})`,
        );
      }
    }
    const accuracy = 1 - misses.length / CORPUS.length;
    console.log(
      `intent parser accuracy: ${(accuracy * 100).toFixed(1)} % (${CORPUS.length - misses.length}/${CORPUS.length})${misses.length ? `\n  ${misses.join('\n  ')}` : ''}`,
    );
    expect(CORPUS.length).toBeGreaterThanOrEqual(100);
    expect(accuracy).toBeGreaterThanOrEqual(0.95);
  });

  it('reads follow-ups as changes to the last generation', () => {
    expect(parseMessage('make it faster')).toMatchObject({
      intent: 'GENERATE_BEAT',
      followUp: true,
      modifiers: { tempo: 'faster' },
    });
    expect(parseMessage('same but in D minor')).toMatchObject({
      intent: 'GENERATE_BEAT',
      followUp: true,
      entities: { key: 'D minor' },
    });
    expect(parseMessage('master it louder')).toMatchObject({
      intent: 'MASTER_TRACK',
      followUp: true,
      modifiers: { loudness: 'louder' },
    });
    expect(parseMessage('give me the stems')).toMatchObject({ intent: 'CREATE_STEMS', followUp: true });
    expect(parseMessage('make a new techno beat')).toMatchObject({ intent: 'GENERATE_BEAT', followUp: false });
  });

  it('understands negations', () => {
    expect(parseMessage('a lofi beat, not too fast').modifiers.tempo).toBe('slower');
    expect(parseMessage('a lofi beat, not too dark').entities.mood).toBeUndefined();
    expect(parseMessage('trap beat, not slow').modifiers.tempo).toBe('faster');
  });

  it('ignores tempos and durations out of range rather than guessing', () => {
    expect(parseMessage('make a beat at 500 bpm').entities.bpm).toBeUndefined();
    expect(parseMessage('make a trap beat at 12 bpm').entities.bpm).toBeUndefined();
  });
});

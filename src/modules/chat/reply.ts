/** The local provider's replies: templates that say what was understood and what happens next. */
import type { Generation } from '../../generated/prisma/client.js';
import type { ParsedMessage } from './intent-parser.js';

export function localReply(parsed: ParsedMessage, generation: Generation | null, problem: string | null): string {
  if (problem) return `I understood that as ${describeIntent(parsed)}, but I can't do it yet: ${problem}`;
  if (!generation) {
    return 'I\'m dawg: tell me what to make, like "a mellow 90 bpm lo-fi beat in A minor, about 20 seconds". Then ask for changes ("make it faster", "same but in D minor"), "give me the stems" or "master it louder".';
  }
  const input = generation.input as Record<string, unknown>;
  switch (generation.type) {
    case 'BEAT':
      return `On it: a ${input.mood} ${input.genre} beat at ${input.bpm} bpm in ${input.key}, ${input.durationSec} seconds long. I'm composing the drums, bass and melody now; it'll be ready in a few seconds and you can follow the progress live.`;
    case 'STEMS':
      return 'Splitting your last beat into stems: drums, bass, chords and lead as separate WAV files that line up sample for sample.';
    case 'MASTER':
      return `Re-mastering your last track to ${input.targetLufs} LUFS with the true peak kept under -1 dBTP.`;
    case 'MIX':
      return "Mixing your project's tracks with their gain, pan and mute settings, then mastering the mix.";
  }
}

function describeIntent(parsed: ParsedMessage): string {
  return {
    GENERATE_BEAT: 'a new beat',
    CREATE_STEMS: 'a request for stems',
    MASTER_TRACK: 'a mastering request',
    MIX_TRACK: 'a mix of your project',
    CHAT: 'a question',
  }[parsed.intent];
}

/** Splits a reply into small chunks (a few words each), as a model would stream tokens. */
export function chunk(text: string): string[] {
  return (
    text.match(/\S+\s*/g)?.reduce<string[]>((out, word, i) => {
      if (i % 3 === 0) out.push(word);
      else out[out.length - 1] += word;
      return out;
    }, []) ?? [text]
  );
}

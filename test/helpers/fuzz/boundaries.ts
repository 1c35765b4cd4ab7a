/**
 * The bounds of every mutation argument that has one, from the zod rules in src/modules/*.rules.ts
 * and chat's CONTENT_MAX. The schema has the argument types but not these bounds; the fuzzer checks
 * that every Int, Float and String argument of every mutation is listed here, so a new argument
 * fails the run until its bounds are added.
 */
export type Bound =
  | { kind: 'int'; min: number; max: number }
  | { kind: 'float'; min: number; max: number }
  /** Length after trim; `stored` text must refuse \u0000 (PostgreSQL cannot store it). */
  | { kind: 'text'; min: number; max: number; stored: boolean; format?: 'email' | 'key' | 'genre' | 'filename' | 'audioType' }
  /** No bound beyond its type (a password may hold any code point). */
  | { kind: 'free'; min: number; max: number };

const name = { kind: 'text', min: 1, max: 200, stored: true } as const;
const title = { kind: 'text', min: 0, max: 200, stored: true } as const;
const key = { kind: 'text', min: 1, max: 32, stored: true, format: 'key' } as const;
const bpm = { kind: 'int', min: 40, max: 220 } as const;
const lufs = { kind: 'float', min: -24, max: -6 } as const;
const gain = { kind: 'float', min: -60, max: 12 } as const;
const pan = { kind: 'float', min: -1, max: 1 } as const;
const email = { kind: 'text', min: 3, max: 254, stored: true, format: 'email' } as const;
const password = { kind: 'free', min: 8, max: 128 } as const;

/** Keyed by "Mutation.field.arg" or "InputType.field". */
export const BOUNDS: Record<string, Bound> = {
  'Mutation.addTrack.name': name,
  'Mutation.addTrack.gainDb': gain,
  'Mutation.addTrack.pan': pan,
  'Mutation.createConversation.title': title,
  'Mutation.createProject.name': name,
  'Mutation.createProject.bpm': bpm,
  'Mutation.createProject.key': key,
  'Mutation.updateProject.name': name,
  'Mutation.updateProject.bpm': bpm,
  'Mutation.updateProject.key': key,
  'Mutation.renameConversation.title': title,
  'Mutation.updateTrack.name': name,
  'Mutation.updateTrack.gainDb': gain,
  'Mutation.updateTrack.pan': pan,
  'Mutation.updateTrack.position': { kind: 'int', min: 0, max: 10_000 },
  'Mutation.updateTrack.version': { kind: 'int', min: 0, max: 2 ** 31 - 1 },
  'Mutation.updateProject.version': { kind: 'int', min: 0, max: 2 ** 31 - 1 },
  'Mutation.addProjectMember.email': email,
  'Mutation.masterTrack.targetLufs': lufs,
  'Mutation.mixProject.targetLufs': lufs,
  'Mutation.sendMessage.content': { kind: 'text', min: 1, max: 4000, stored: true },
  'Mutation.signUp.email': email,
  'Mutation.signUp.password': password,
  'Mutation.logIn.email': email,
  'Mutation.logIn.password': password,
  'Mutation.createUpload.filename': { kind: 'text', min: 1, max: 255, stored: true, format: 'filename' },
  'Mutation.createUpload.contentType': { kind: 'text', min: 1, max: 100, stored: true, format: 'audioType' },
  'Mutation.createUpload.bytes': { kind: 'int', min: 1, max: 100 * 1024 * 1024 },
  'GenerateBeatInput.bpm': bpm,
  'GenerateBeatInput.durationSec': { kind: 'int', min: 5, max: 300 },
  'GenerateBeatInput.genre': { kind: 'text', min: 1, max: 40, stored: true, format: 'genre' },
  'GenerateBeatInput.key': key,
  'GenerateBeatInput.mood': { kind: 'text', min: 0, max: 32, stored: true },
  'GenerateBeatInput.seed': { kind: 'int', min: 0, max: 2 ** 31 - 1 },
  'GenerateBeatInput.targetLufs': lufs,
};

/** A valid value for `bound`, `length` characters long when the format allows it; `tag` makes it unique. */
export function validText(bound: Extract<Bound, { kind: 'text' | 'free' }>, length: number, tag: string): string {
  if (bound.kind === 'text' && bound.format === 'email') {
    // zod's email rule checks the shape, not label lengths; dots keep each label at 63 or fewer.
    const local = `f${tag.replace(/[^a-z0-9]/gi, '')}`.slice(0, 64);
    let domain = 'test';
    while (local.length + 1 + domain.length < length) {
      const room = length - local.length - 1 - domain.length - 1;
      domain = `${'d'.repeat(Math.max(1, Math.min(63, room)))}.${domain}`;
    }
    return `${local}@${domain}`;
  }
  if (bound.kind === 'text' && bound.format === 'key') return 'A minor';
  if (bound.kind === 'text' && bound.format === 'genre') return 'lofi';
  if (bound.kind === 'text' && bound.format === 'audioType') return 'audio/wav';
  return `${tag} `.padEnd(length, 'x').slice(0, length);
}

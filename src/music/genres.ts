/**
 * Genres the engine can make, with the names people use for them. Shared by
 * API validation, the chat parser and the composer.
 */
export const GENRES = ['lofi', 'hiphop', 'trap', 'house', 'techno', 'dnb', 'ambient', 'pop'] as const;
export type Genre = (typeof GENRES)[number];

const ALIASES: Record<string, Genre> = {
  lofi: 'lofi',
  'lo-fi': 'lofi',
  'lo fi': 'lofi',
  chillhop: 'lofi',
  hiphop: 'hiphop',
  'hip-hop': 'hiphop',
  'hip hop': 'hiphop',
  'boom bap': 'hiphop',
  'boom-bap': 'hiphop',
  boombap: 'hiphop',
  rap: 'hiphop',
  trap: 'trap',
  drill: 'trap',
  house: 'house',
  'deep house': 'house',
  edm: 'house',
  disco: 'house',
  techno: 'techno',
  'minimal techno': 'techno',
  dnb: 'dnb',
  'd&b': 'dnb',
  'd and b': 'dnb',
  'drum and bass': 'dnb',
  'drum & bass': 'dnb',
  'drum n bass': 'dnb',
  "drum 'n' bass": 'dnb',
  jungle: 'dnb',
  ambient: 'ambient',
  chillout: 'ambient',
  drone: 'ambient',
  pop: 'pop',
  'synth pop': 'pop',
  synthpop: 'pop',
};

/** Every spelling the parser recognizes, longest first (so "deep house" wins over "house"). */
export const GENRE_ALIASES: readonly string[] = Object.keys(ALIASES).sort((a, b) => b.length - a.length);

export function normalizeGenre(input: string): Genre | null {
  const spelling = input.trim().toLowerCase().replace(/\s+/g, ' ');
  // Own keys only: "constructor" or "__proto__" must not reach Object.prototype.
  return Object.hasOwn(ALIASES, spelling) ? (ALIASES[spelling] as Genre) : null;
}

/** Typical tempo per genre, used when a request names none. */
export const DEFAULT_BPM: Record<Genre, number> = {
  lofi: 85,
  hiphop: 92,
  trap: 140,
  house: 124,
  techno: 130,
  dnb: 174,
  ambient: 80,
  pop: 110,
};

export const MOODS = [
  'mellow',
  'chill',
  'dark',
  'energetic',
  'happy',
  'sad',
  'dreamy',
  'aggressive',
  'uplifting',
  'romantic',
] as const;
export type Mood = (typeof MOODS)[number];

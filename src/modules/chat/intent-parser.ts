/**
 * The local provider's understanding of a chat message: intent (GENERATE_BEAT,
 * CREATE_STEMS, MASTER_TRACK, MIX_TRACK, CHAT) and entities (genre, bpm, key,
 * mood, duration), plus follow-up modifiers ("faster", "louder", "same but in
 * D minor"). Deterministic, no model, no key.
 */
import { GENRE_ALIASES, type Genre, normalizeGenre } from '../../music/genres.js';
import { keyName, parseKey } from '../../music/keys.js';

export type ChatIntent = 'GENERATE_BEAT' | 'CREATE_STEMS' | 'MIX_TRACK' | 'MASTER_TRACK' | 'CHAT';

export interface Entities {
  genre?: Genre;
  bpm?: number;
  key?: string;
  mood?: string;
  durationSec?: number;
}

export interface ParsedMessage {
  intent: ChatIntent;
  entities: Entities;
  /** Relative changes, for follow-ups and negations ("not too fast"). */
  modifiers: { tempo?: 'faster' | 'slower'; loudness?: 'louder' | 'quieter' };
  /** Refers to the conversation's last generation ("make it faster", "same but…", "give me the stems"). */
  followUp: boolean;
  /**
   * A beat to fit the user's upload: 'named' when the message says so ("for my upload", "that fits my
   * vocal"), 'maybe' when it points at something unnamed ("make a beat for this"), else null.
   */
  fitsUpload: 'named' | 'maybe' | null;
}

const MOOD_WORDS: Record<string, string> = {
  mellow: 'mellow',
  chill: 'chill',
  chilled: 'chill',
  relaxed: 'mellow',
  relaxing: 'mellow',
  'laid back': 'mellow',
  'laid-back': 'mellow',
  calm: 'mellow',
  smooth: 'mellow',
  soft: 'mellow',
  dark: 'dark',
  moody: 'dark',
  gloomy: 'dark',
  spooky: 'dark',
  sinister: 'dark',
  eerie: 'dark',
  energetic: 'energetic',
  upbeat: 'energetic',
  hype: 'energetic',
  hyped: 'energetic',
  bouncy: 'energetic',
  driving: 'energetic',
  happy: 'happy',
  cheerful: 'happy',
  sunny: 'happy',
  joyful: 'happy',
  sad: 'sad',
  melancholic: 'sad',
  melancholy: 'sad',
  emotional: 'sad',
  dreamy: 'dreamy',
  ethereal: 'dreamy',
  atmospheric: 'dreamy',
  aggressive: 'aggressive',
  hard: 'aggressive',
  angry: 'aggressive',
  uplifting: 'uplifting',
  euphoric: 'uplifting',
  romantic: 'romantic',
  sexy: 'romantic',
  nostalgic: 'mellow',
  jazzy: 'mellow',
  // comparatives, for follow-ups ("same but darker")
  darker: 'dark',
  happier: 'happy',
  sadder: 'sad',
  chiller: 'chill',
  brighter: 'happy',
  harder: 'aggressive',
  dreamier: 'dreamy',
};
const MOOD_KEYS = Object.keys(MOOD_WORDS).sort((a, b) => b.length - a.length);

const NUMBER_WORDS: Record<string, number> = {
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  fifteen: 15,
  twenty: 20,
  thirty: 30,
  forty: 40,
  'forty five': 45,
  'forty-five': 45,
  fifty: 50,
  sixty: 60,
  ninety: 90,
  a: 1,
  an: 1,
};

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\&]/g, '\\$&');

function normalize(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/♯/g, '#')
    .replace(/♭/g, 'b')
    .replace(/[“”"'’]/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
}

function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0] as number;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j] as number;
      dp[j] = Math.min((dp[j] as number) + 1, (dp[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length] as number;
}

// Patterns built once (every message runs them all).
const GENRE_PATTERNS = GENRE_ALIASES.map((alias) => ({ alias, re: new RegExp(`(^|[^a-z])${escapeRegex(alias)}([^a-z]|$)`) }));
const TYPO_ALIASES = GENRE_ALIASES.filter((alias) => !alias.includes(' ') && alias.length >= 4);
const MOOD_PATTERNS = MOOD_KEYS.map((word) => ({
  word,
  re: new RegExp(`(^|[^a-z])(not (?:too |very |so )?)?${escapeRegex(word)}([^a-z]|$)`),
}));
const NUMBER = `(\\d+(?:\\.\\d+)?|${Object.keys(NUMBER_WORDS)
  .sort((a, b) => b.length - a.length)
  .map(escapeRegex)
  .join('|')})`;
const MINUTES = new RegExp(`\\b${NUMBER}(?: and a half)?\\s*(?:-\\s*)?(?:minutes?|mins?)\\b`);
const SECONDS = new RegExp(`\\b${NUMBER}\\s*(?:-\\s*)?(?:seconds?|secs?|s)\\b`);

function findGenre(lower: string): Genre | undefined {
  // The genre named first wins ("lo-fi hip hop" is lo-fi); at one position, the longest alias.
  let best: { at: number; alias: string } | null = null;
  for (const { alias, re } of GENRE_PATTERNS) {
    const m = re.exec(lower);
    if (m && (!best || m.index < best.at)) best = { at: m.index, alias };
  }
  if (best) return normalizeGenre(best.alias) ?? undefined;
  // Typos: one edit away from a one-word alias of 4+ letters ("lofy", "tecno", "hiphp").
  for (const word of lower.split(/[^a-z&-]+/)) {
    if (word.length < 4) continue;
    for (const alias of TYPO_ALIASES) {
      if (Math.abs(alias.length - word.length) <= 1 && levenshtein(word, alias) === 1) return normalizeGenre(alias) ?? undefined;
    }
  }
  return undefined;
}

function findBpm(lower: string): number | undefined {
  const patterns = [
    /(\d{2,3}(?:\.\d+)?)\s*-?\s*(?:bpm|beats per minute|beats a minute)/,
    /\btempo(?: of| at| around| =|:)?\s*(\d{2,3})\b/,
    /(?:\bat|\baround|\babout|@)\s*(\d{2,3})\b(?!\s*(?:sec|second|min|minute|s\b))/,
    /\b(?:beat|track|loop|groove|song|banger|riddim|tune)\s+(\d{2,3})\b(?!\s*(?:sec|second|min|minute|s\b))/,
  ];
  for (const re of patterns) {
    const m = re.exec(lower);
    if (m?.[1]) {
      const bpm = Math.round(Number(m[1]));
      if (bpm >= 40 && bpm <= 220) return bpm;
    }
  }
  return undefined;
}

function findKey(original: string, lower: string): string | undefined {
  const candidates: string[] = [];
  const keyOf = /\bkey of ([a-g](?:\s*(?:#|sharp|flat|b))?(?:\s*(?:major|minor|maj|min|m))?)\b/.exec(lower);
  if (keyOf?.[1]) candidates.push(keyOf[1]);
  const withMode = /\b([a-g](?:\s*(?:#|sharp|flat)|b)?)\s*(major|minor|maj\b|min\b)/.exec(lower);
  if (withMode) candidates.push(`${withMode[1]} ${withMode[2]}`);
  // "Am", "F#m", "Bbm", "C#" as written (upper-case letter, so "am" in "I am" is not a key).
  const short = /(?:^|[\s,(])([A-G](?:#|b)?m?)(?=$|[\s,.!?)])/.exec(original);
  if (short?.[1] && /[#bm]$/.test(short[1])) candidates.push(short[1]);
  const inShort = /\bin ([a-g](?:#|b)?m?)(?=$|[\s,.!?])/.exec(lower);
  if (inShort?.[1]) candidates.push(inShort[1]);
  for (const c of candidates) {
    const key = parseKey(c);
    if (key) return keyName(key);
  }
  return undefined;
}

function findMood(lower: string): string | undefined {
  for (const { word, re } of MOOD_PATTERNS) {
    const m = re.exec(lower);
    if (m && !m[2]) return MOOD_WORDS[word];
  }
  return undefined;
}

function findDuration(lower: string): number | undefined {
  const mmss = /\b(\d{1,2}):([0-5]\d)\b/.exec(lower);
  if (mmss) return Number(mmss[1]) * 60 + Number(mmss[2]);
  if (/\bhalf a minute\b/.test(lower)) return 30;
  const value = (s: string) => NUMBER_WORDS[s] ?? Number(s);
  const minutes = MINUTES.exec(lower);
  const seconds = SECONDS.exec(lower);
  if (minutes?.[1])
    return Math.round(
      value(minutes[1]) * 60 + (minutes[0].includes('and a half') ? 30 : 0) + (seconds?.[1] ? value(seconds[1]) : 0),
    );
  if (seconds?.[1]) return Math.round(value(seconds[1]));
  if (/\b(short|quick|little) (loop|beat|track|one|sketch|idea)\b|\bshort\b/.test(lower)) return 15;
  if (/\b(long|full[- ]length|full song|extended)\b/.test(lower)) return 120;
  return undefined;
}

const GENERATE =
  /\b(make|create|generate|produce|give me|cook(?: me)? up|build|compose|write|whip up|need|want|drop|craft|do|gimme|bring)\b/;
const AUDIO_NOUN = /\b(beat|beats|track|loop|song|instrumental|tune|groove|riddim|banger|jam|piece|music)\b/;

export function parseMessage(text: string): ParsedMessage {
  const original = normalize(text);
  const lower = original.toLowerCase();
  const entities: Entities = {};
  const genre = findGenre(lower);
  if (genre) entities.genre = genre;
  const bpm = findBpm(lower);
  if (bpm) entities.bpm = bpm;
  const key = findKey(original, lower);
  if (key) entities.key = key;
  const mood = findMood(lower);
  if (mood) entities.mood = mood;
  const durationSec = findDuration(lower);
  if (durationSec) entities.durationSec = durationSec;

  const modifiers: ParsedMessage['modifiers'] = {};
  if (/\bnot (?:too |so |very )?slow\b/.test(lower)) modifiers.tempo = 'faster';
  else if (
    /\bnot (?:too |so |very )?(?:fast|quick|rushed)\b|\bslow(?:er)?\b|\bslow it down\b|\bless fast\b|\bdecrease the tempo\b/.test(
      lower,
    )
  )
    modifiers.tempo = 'slower';
  else if (/\bfaster\b|\bspeed (?:it )?up\b|\bquicker\b|\bmore tempo\b|\bup the tempo\b/.test(lower)) modifiers.tempo = 'faster';
  if (/\blouder\b|\bmore loud\b|\bpunchier\b|\bcrank it\b/.test(lower)) modifiers.loudness = 'louder';
  else if (/\bquieter\b|\bsofter master\b|\bmore dynamic\b|\bless loud\b/.test(lower)) modifiers.loudness = 'quieter';

  const refersBack = /\b(it|that|this|the (?:beat|track|last one|previous one)|same|again|one more|another one|version)\b/.test(
    lower,
  );
  let intent: ChatIntent = 'CHAT';
  if (
    /\bstems?\b|\bseparate (?:the )?(?:tracks|parts|layers)\b|\bsplit (?:it|the (?:beat|track))\b|\bmultitracks?\b|\bindividual (?:tracks|parts)\b/.test(
      lower,
    )
  )
    intent = 'CREATE_STEMS';
  else if (/\b(?:re-?)?master(?:ed|ing)?\b|\bloudness\b|\blufs\b/.test(lower) || (modifiers.loudness && refersBack))
    intent = 'MASTER_TRACK';
  else if (
    /\bmix(?:ing)? (?:down )?(?:the |my |this )?(?:project|tracks|session|everything)\b|\bmixdown\b|\bmix it(?: down)?\b|\bbounce (?:the |my )?project\b/.test(
      lower,
    )
  )
    intent = 'MIX_TRACK';
  else if (
    (GENERATE.test(lower) && (AUDIO_NOUN.test(lower) || genre)) ||
    (genre && (AUDIO_NOUN.test(lower) || bpm || key || mood || durationSec))
  )
    intent = 'GENERATE_BEAT';
  else if (
    (modifiers.tempo || key || bpm || genre || mood) &&
    (refersBack || /^(?:now |ok |okay |and )?(?:make|try|do|same)\b/.test(lower))
  )
    intent = 'GENERATE_BEAT';

  const followUp =
    intent !== 'CHAT' &&
    (refersBack || intent === 'CREATE_STEMS' || intent === 'MASTER_TRACK') &&
    !(intent === 'GENERATE_BEAT' && /\b(new|fresh|another)\b/.test(lower) && !/\bsame\b/.test(lower));
  const fitsUpload =
    intent !== 'GENERATE_BEAT'
      ? null
      : UPLOAD_NAMED.test(lower)
        ? 'named'
        : /\b(?:for|to|under|behind|with|fits?|match(?:es)?|around) (?:this|it)\b/.test(lower)
          ? 'maybe'
          : null;
  return { intent, entities, modifiers, followUp: followUp && !fitsUpload, fitsUpload };
}

/** "my upload", "my vocal", "the file I uploaded", "my recording", "my acapella", "my stem"… */
const UPLOAD_NAMED =
  /\b(?:my|the|this|that) (?:upload(?:ed)?(?: (?:file|track|audio|song|vocals?))?|vocals?|acapella|a cappella|recording|voice ?memo|file|stem|sample|guitar|song i (?:uploaded|sent))\b|\bi (?:just )?(?:uploaded|sent)\b/;

/**
 * Hostile values per GraphQL input type. Each says whether the server must refuse it for a given
 * argument (`invalid`), so the run knows which requests must write nothing.
 */
import type { Bound } from './boundaries.js';
import type { Random } from './random.js';

/** An enum value: bare inline, a string in variables. */
export class EnumValue {
  constructor(readonly name: string) {}
}

export interface Hostile {
  label: string;
  value: unknown;
  /** True when no argument of this type may accept it; false when it depends on the argument. */
  wrongType?: boolean;
  /** NaN and Infinity: JSON has no such number (it would send null), so they go inline. */
  inlineOnly?: boolean;
  /** Sent on every run, whatever the share: the findings issue 16 names. */
  always?: boolean;
  /** Another spelling of a valid value: the server may accept it, so it may write. */
  mayBeValid?: boolean;
}

/** Objects of the run the id values point at (global ids). */
export interface IdPool {
  /** The viewer's object of the wanted type, of another type, and another user's of the wanted type. */
  own: string;
  otherType: string;
  foreign: string;
  typename: string;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

const UNICODE = [
  'é',
  'ß',
  'Ω',
  'ж',
  '中',
  '한',
  'ع',
  'ה',
  '\u0301',
  '\u200d',
  '\u202e',
  '\ufeff',
  '😀',
  '🎹',
  '👩‍👩‍👧',
  '𝄞',
  '\t',
  '"',
  '\\',
  '/',
  '<',
  '$',
  '{',
  '%',
];

export function hostileIds(pool: IdPool, rng: Random): Hostile[] {
  const uuid = rng.uuid();
  const bareForeign = Buffer.from(pool.foreign, 'base64').toString('utf8').split(':')[1] ?? uuid;
  return [
    { label: 'empty', value: '', always: true },
    { label: 'blank', value: '   ' },
    { label: 'malformed base64', value: '!!!not*base64!!!' },
    { label: 'base64 of text', value: b64('hello world') },
    { label: 'type without uuid', value: b64(`${pool.typename}:`) },
    { label: 'unknown type name', value: b64(`Nope:${uuid}`), always: true },
    { label: 'lowercase type name', value: b64(`${pool.typename.toLowerCase()}:${uuid}`) },
    { label: 'wrong type', value: pool.otherType },
    { label: "another user's", value: pool.foreign, always: true },
    { label: "another user's bare uuid", value: bareForeign },
    { label: 'missing row', value: b64(`${pool.typename}:${uuid}`), always: true },
    { label: 'missing bare uuid', value: rng.uuid() },
    { label: 'not a uuid', value: b64(`${pool.typename}:12345`) },
    {
      label: 'non-canonical base64',
      value: /=$/.test(pool.own) ? pool.own.replace(/=+$/, '') : `${pool.own}=`,
      mayBeValid: true,
    },
    {
      label: 'url-safe base64',
      value: `${pool.own.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}==`,
      mayBeValid: true,
    },
    { label: 'huge', value: 'A'.repeat(rng.int(100_000, 200_000)) },
    { label: 'nul', value: `${pool.own}\u0000` },
    { label: 'unicode', value: rng.text(rng.int(1, 40), UNICODE) },
    { label: 'sql injection', value: "' OR '1'='1' --" },
    { label: 'number', value: rng.int(1, 2 ** 31 - 1) },
    { label: 'wrong type: object', value: { id: pool.own }, wrongType: true },
    { label: 'wrong type: boolean', value: true, wrongType: true },
    { label: 'wrong type: float', value: 1.5, wrongType: true },
  ];
}

export function hostileInts(): Hostile[] {
  return [
    { label: 'zero', value: 0 },
    { label: 'minus one', value: -1 },
    { label: 'int32 max', value: 2 ** 31 - 1 },
    { label: 'int32 min', value: -(2 ** 31) },
    { label: '2^31', value: 2 ** 31, wrongType: true },
    { label: '-2^31-1', value: -(2 ** 31) - 1, wrongType: true },
    { label: '2^53+1', value: 2 ** 53 + 1, wrongType: true },
    { label: 'fraction', value: 1.5, wrongType: true },
    { label: '1e308', value: 1e308, wrongType: true },
    { label: 'NaN', value: Number.NaN, wrongType: true, inlineOnly: true },
    { label: 'Infinity', value: Number.POSITIVE_INFINITY, wrongType: true, inlineOnly: true },
    { label: 'string "NaN"', value: 'NaN', wrongType: true },
    { label: 'string "Infinity"', value: 'Infinity', wrongType: true },
    { label: 'numeric string', value: '120', wrongType: true },
    { label: 'boolean', value: false, wrongType: true },
    { label: 'list', value: [120], wrongType: true },
    { label: 'object', value: { n: 1 }, wrongType: true },
  ];
}

export function hostileFloats(): Hostile[] {
  return [
    { label: 'zero', value: 0 },
    { label: 'negative', value: -123.456 },
    { label: 'huge', value: 1e308 },
    { label: 'huge negative', value: -1e308 },
    { label: 'max double', value: Number.MAX_VALUE },
    { label: 'min subnormal', value: 5e-324 },
    { label: 'NaN', value: Number.NaN, wrongType: true, inlineOnly: true },
    { label: 'Infinity', value: Number.NEGATIVE_INFINITY, wrongType: true, inlineOnly: true },
    { label: 'string "NaN"', value: 'NaN', wrongType: true },
    { label: 'string "-Infinity"', value: '-Infinity', wrongType: true },
    { label: 'numeric string', value: '-14', wrongType: true },
    { label: 'boolean', value: true, wrongType: true },
    { label: 'object', value: { x: 1 }, wrongType: true },
  ];
}

export function hostileStrings(rng: Random): Hostile[] {
  return [
    { label: 'empty', value: '' },
    { label: 'blank', value: ' \t\n ' },
    { label: 'nul', value: '\u0000', always: true },
    { label: 'embedded nul', value: `fuzz\u0000${rng.int(0, 999)}` },
    { label: '1 MB', value: 'x'.repeat(1_000_000) },
    { label: '10k characters', value: 'y'.repeat(10_000) },
    { label: 'random unicode', value: rng.text(rng.int(1, 120), UNICODE) },
    { label: 'right-to-left override', value: '\u202egnp.exe\u202c' },
    { label: 'emoji', value: '🎹🔥👩‍👩‍👧'.repeat(rng.int(1, 20)) },
    { label: 'lone surrogate', value: 'a\ud800b' },
    { label: 'byte order mark', value: '\ufeffname' },
    { label: 'crlf', value: 'a\r\nSet-Cookie: x=1' },
    { label: 'sql injection', value: "'; DROP TABLE users; --" },
    { label: 'nosql injection', value: '{"$gt": ""}' },
    // Looked up in a plain object, these name Object.prototype's members (a genre lookup took "__proto__").
    { label: 'js: __proto__', value: '__proto__', always: true },
    { label: 'js: constructor', value: 'constructor' },
    { label: 'js injection', value: "');process.exit(1);//" },
    { label: 'template injection', value: `{{7*7}}\${7*7}#{7*7}` },
    { label: 'path traversal', value: '../../etc/passwd' },
    { label: 'html', value: '<script>alert(1)</script>' },
    { label: 'format string', value: '%s%s%s%n' },
    { label: 'wrong type: number', value: 12345, wrongType: true },
    { label: 'wrong type: boolean', value: true, wrongType: true },
    { label: 'wrong type: object', value: { $gt: '' }, wrongType: true },
    { label: 'list of strings', value: ['a', 'b'], wrongType: true },
  ];
}

/** Connection cursors: Pothos's prisma cursors are base64 of "GPC:<type>:<value>". */
export function hostileCursors(rng: Random): Hostile[] {
  return [
    { label: 'crafted cursor, not a uuid', value: b64('GPC:S:notauuid'), always: true },
    { label: 'crafted cursor, missing row', value: b64(`GPC:S:${rng.uuid()}`) },
    { label: 'crafted cursor, number type', value: b64('GPC:N:1e308') },
    { label: 'crafted cursor, JSON type', value: b64('GPC:J:{"__proto__":{"a":1}}') },
    { label: 'crafted cursor, unknown prefix', value: b64('XYZ:S:1') },
    { label: 'cursor not base64', value: '%%%' },
  ];
}

export function hostileBooleans(): Hostile[] {
  return [
    { label: 'string "true"', value: 'true', wrongType: true },
    { label: 'number 1', value: 1, wrongType: true },
    { label: 'object', value: {}, wrongType: true },
  ];
}

export function hostileEnums(values: string[]): Hostile[] {
  return [
    { label: 'unknown value', value: new EnumValue('NOPE'), wrongType: true },
    { label: 'lowercase value', value: new EnumValue((values[0] ?? 'x').toLowerCase()), wrongType: true },
    { label: 'string literal', value: values[0] ?? 'X', wrongType: false },
    { label: 'number', value: 1, wrongType: true },
    { label: 'empty string', value: '', wrongType: true },
  ];
}

/** Whether `value` breaks `bound` (undefined: the bound is unknown, so it may be valid). */
export function breaks(bound: Bound | undefined, value: unknown): boolean | undefined {
  if (!bound) return undefined;
  if (bound.kind === 'int' || bound.kind === 'float') {
    if (typeof value !== 'number') return true;
    if (bound.kind === 'int' && !Number.isInteger(value)) return true;
    return !(value >= bound.min && value <= bound.max);
  }
  if (typeof value !== 'string') return true;
  // Lengths in code points, as zod counts them ("at most 200 characters"): an emoji of two UTF-16
  // units is one character.
  const length = (s: string) => [...s].length;
  if (bound.kind === 'free') return length(value) < bound.min || length(value) > bound.max;
  const text = value.trim();
  if (length(text) < bound.min || length(text) > bound.max) return true;
  if (bound.stored && value.includes('\u0000')) return true;
  if (bound.format === 'email') return !/^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/.test(text);
  if (bound.format === 'key') return !['A minor', 'Am', 'F# major', 'Bb minor'].includes(text);
  if (bound.format === 'genre') return !['lofi', 'trap', 'house', 'techno', 'ambient', 'pop', 'dnb', 'hiphop'].includes(text);
  // A file name: no path separator and no control character (src/modules/uploads/upload.rules.ts).
  if (bound.format === 'filename') return [...text].some((c) => c.charCodeAt(0) < 0x20 || c === '/' || c === '\\');
  if (bound.format === 'audioType') return !['audio/wav', 'audio/mpeg', 'audio/flac', 'audio/ogg'].includes(text.toLowerCase());
  return false;
}

/**
 * Arrangement → four stereo stems (drums, bass, chords, lead) at 44.1 kHz,
 * each with its own space (reverb, delay) and level. The stems sum to the mix.
 * A render is the arrangement's whole bars, exactly, and what still sounds past
 * the last bar line (releases, reverb, echoes) is folded back onto the start, as
 * a DAW renders a loop: the file loops seamlessly, and played once it starts
 * with the quiet tail of its own end.
 */
import { type Arrangement, BEATS_PER_BAR, type Note, PARTS, type PartName } from './arrangement.js';
import {
  type Stereo,
  SAMPLE_RATE,
  biquadInPlace,
  dbToGain,
  delayInto,
  lowpass,
  noiseTable,
  openingLowpassInPlace,
  reverbInto,
  softClipInPlace,
  stereo,
} from './dsp.js';
import { renderDrum } from './drum-synth.js';
import { type NoteShape, type ToneNote, type ToneOptions, renderTones } from './synth.js';
import { STYLES } from './styles.js';
import { crackleInto, wowAndFlutter } from './vinyl.js';

export type Stems = Record<PartName, Stereo>;

/**
 * How long past the last bar line a part is rendered before that is folded onto the start: the
 * longest hit (a crash, 1.8 s), or a pad's release with its reverb (to −60 dB in 1 s). Echoes
 * still left are faded out over the last quarter second rather than cut.
 */
const TAIL_SEC = 2;
const TAIL_FADE_SEC = 0.25;

/** Samples in the arrangement's whole bars: the length of every render, so that it loops on a bar line. */
export function loopLength(a: Arrangement): number {
  return Math.round(((a.bars * BEATS_PER_BAR * 60) / a.bpm) * SAMPLE_RATE);
}

/**
 * Renders one part alone, with its space and level: what it adds to the mix.
 * Parts are independent (each its own voices, sends and noise), so a part
 * rendered alone is the same, sample for sample, as rendered beside the others;
 * that lets a job hold one stem at a time instead of four.
 */
export function renderPart(a: Arrangement, part: PartName): Stereo {
  const style = STYLES[a.genre];
  const length = loopLength(a);
  const secPerBeat = 60 / a.bpm;
  const at = (beats: number) => Math.round(beats * secPerBeat * SAMPLE_RATE);
  // Notes start within the bars and ring on into the tail; the effects run through it too.
  const s = stereo(length + Math.round(TAIL_SEC * SAMPLE_RATE));
  const rendered = s.left.length;
  // Notes start within the bars (a note the groove pushed past the last bar line is not played).
  const inLoop = (n: ToneNote) => n.start < length;
  const playing = (n: Note, tone: ToneOptions) => toneNote(n, tone, secPerBeat);
  // Space: reverb on chords and lead (more for ambient), a dotted-eighth echo on the lead.
  const send = () => {
    const m = new Float32Array(rendered);
    for (let i = 0; i < rendered; i++) m[i] = ((s.left[i] as number) + (s.right[i] as number)) * 0.5;
    return m;
  };

  if (part === 'drums') {
    const kit = {
      noise: noiseTable(SAMPLE_RATE, a.seed ^ 0x5eed),
      kickDecay: style.kickDecay,
      kickHz: a.palette.kickHz,
      snareHz: a.palette.snareHz,
      hatPitch: a.palette.hatPitch,
    };
    for (const [i, hit] of a.drums.entries()) {
      const start = at(hit.time);
      if (start >= length) continue;
      const strike = { ...hit, lengthSec: (hit.duration ?? 0) * secPerBeat };
      renderDrum(s, start, strike, kit, (i * 7919) % SAMPLE_RATE);
    }
    if (a.vinyl) crackleInto(s, length, a.seed);
    softClipInPlace(s.left, DRUM_CLIP_KNEE, DRUM_CLIP_CEILING);
    softClipInPlace(s.right, DRUM_CLIP_KNEE, DRUM_CLIP_CEILING);
  } else if (part === 'bass') {
    const tones = [toneFor(a, 'bass'), ...(style.bass === 'reese' ? [REESE_SUB] : [])];
    renderTones(
      s,
      legatoRuns(a.bass, secPerBeat)
        .flatMap(({ note, lengthSec, shape }) => tones.map((tone) => ({ ...playing(note, tone), lengthSec, shape })))
        .filter(inLoop),
    );
  } else if (part === 'chords') {
    // Alternate notes lean left and right.
    const left = toneFor(a, 'chords');
    const right = { ...left, pan: -left.pan };
    renderTones(s, a.chords.map((n, i) => playing(n, i % 2 ? right : left)).filter(inLoop));
    reverbInto(send(), s, style.reverb);
  } else {
    const tone = toneFor(a, 'lead');
    renderTones(s, a.lead.map((n) => playing(n, tone)).filter(inLoop));
    const leadSend = send();
    reverbInto(leadSend, s, style.reverb * 0.8);
    delayInto(leadSend, s, at(0.75), 0.35, 0.25);
  }
  if (part === 'chords' || part === 'lead') {
    // A build opens the chords' and lead's filter from 300 Hz; lo-fi's record wobbles them.
    for (const b of a.builds) for (const x of [s.left, s.right]) openingLowpassInPlace(x, at(b.startBeat), at(b.endBeat), 300);
    if (a.vinyl) wowAndFlutter(s, length);
  }

  // Warmth dulls the tonal parts; the drums keep an octave more, or the hats would go.
  const warmth = part === 'drums' ? 2 * style.warmth : style.warmth;
  if (warmth && warmth < 16_000) {
    biquadInPlace(s, lowpass(warmth));
  }
  const loop = foldTail(s, length);
  if (part === 'bass') duckUnderKicks(loop, a);
  scale(loop, dbToGain(style.levels[part]));
  return loop;
}

/** A note of the arrangement as renderTones plays it on `tone`: from its sample, with its shape (brightness). */
export function toneNote(n: Note, tone: ToneOptions, secPerBeat: number): ToneNote {
  return {
    start: Math.round(n.time * secPerBeat * SAMPLE_RATE),
    lengthSec: n.duration * secPerBeat,
    midi: n.midi,
    velocity: n.velocity,
    tone,
    shape: n,
  };
}

/**
 * The bass's voices: a note that glides from the one before (an 808's legato, `glideFrom`) is not a
 * new voice but a slide within that one, which holds on through it.
 */
export function legatoRuns(notes: readonly Note[], secPerBeat: number): { note: Note; lengthSec: number; shape: NoteShape }[] {
  const runs: { note: Note; lengthSec: number; shape: NoteShape & { slides: { atSec: number; midi: number }[] } }[] = [];
  let pitch: number | undefined;
  for (const n of notes) {
    const run = runs[runs.length - 1];
    if (run && n.glideFrom !== undefined && n.glideFrom === pitch) {
      run.shape.slides.push({ atSec: (n.time - run.note.time) * secPerBeat, midi: n.midi });
      run.lengthSec = (n.time + n.duration - run.note.time) * secPerBeat;
    } else runs.push({ note: n, lengthSec: n.duration * secPerBeat, shape: { bright: n.bright, slides: [] } });
    pitch = n.midi;
  }
  return runs;
}

/**
 * The drum bus's clipper (synth.ts levels: a kick peaks at 0.95, hats near 0.3): kicks and claps lose
 * up to about 3 dB of their first milliseconds, and the master need not limit them (master.ts).
 */
const DRUM_CLIP_KNEE = 0.45;
const DRUM_CLIP_CEILING = 0.75;

/** How far the bass dips under each kick, and for how long: the kick's first 50 ms are its own below 120 Hz. */
const DUCK_DB = -12;
const DUCK_ATTACK_SEC = 0.003;
const DUCK_HOLD_SEC = 0.05;
const DUCK_RELEASE_SEC = 0.09;
const DUCK_ATTACK = Math.round(DUCK_ATTACK_SEC * SAMPLE_RATE);
/** The bass's gain around a kick, from DUCK_ATTACK frames before it: down linearly, hold, back on a raised cosine. */
const DUCK = (() => {
  const hold = Math.round(DUCK_HOLD_SEC * SAMPLE_RATE);
  const release = Math.round(DUCK_RELEASE_SEC * SAMPLE_RATE);
  const floor = dbToGain(DUCK_DB);
  return Float32Array.from({ length: DUCK_ATTACK + hold + release }, (_, k) => {
    const depth =
      k < DUCK_ATTACK
        ? k / DUCK_ATTACK
        : k < DUCK_ATTACK + hold
          ? 1
          : 0.5 * (1 + Math.cos((Math.PI * (k - DUCK_ATTACK - hold)) / release));
    return 1 - (1 - floor) * depth;
  });
})();

/**
 * Sidechain: the bass ducks under every kick (ramping down in the 3 ms before it, holding, then back
 * over 90 ms on a raised cosine), so the two do not sum into one muddy, peaky low end. The loop is a
 * loop: a kick near the end ducks the bass at the start.
 */
function duckUnderKicks(loop: Stereo, a: Arrangement): void {
  const n = loop.left.length;
  const at = (beats: number) => Math.round(((beats * 60) / a.bpm) * SAMPLE_RATE);
  const gain = new Float32Array(n).fill(1);
  for (const hit of a.drums) {
    if (hit.drum !== 'kick') continue;
    const start = at(hit.time);
    if (start >= n) continue;
    for (let k = 0; k < DUCK.length; k++) {
      const i = (start - DUCK_ATTACK + k + n) % n;
      if ((DUCK[k] as number) < (gain[i] as number)) gain[i] = DUCK[k] as number;
    }
  }
  const { left, right } = loop;
  for (let i = 0; i < n; i++) {
    left[i] = (left[i] as number) * (gain[i] as number);
    right[i] = (right[i] as number) * (gain[i] as number);
  }
}

/** The sine under a reese, at its pitch: what carries its fundamental below 120 Hz, which the saws' low-pass thins. */
const REESE_SUB: ToneOptions = {
  timbre: 'sine',
  attack: 0.005,
  decay: 0.3,
  sustain: 0.8,
  release: 0.06,
  cutoff: 1200,
  detune: 0,
  pan: 0,
  gain: 0.75,
  drive: 1.3,
};

/** The voice of a tonal part in a render: its genre's, shaped by the render's palette (chords: the left-leaning one). */
export function toneFor(a: Pick<Arrangement, 'genre' | 'palette'>, part: Exclude<PartName, 'drums'>): ToneOptions {
  const style = STYLES[a.genre];
  const { filter, envelope, detune } = a.palette;
  if (part === 'bass') {
    if (style.bass === 'reese')
      // Two saws 22 cents apart, low-passed: the reese's slow beating, in the centre (a sine sub under it).
      return {
        timbre: 'saw',
        attack: 0.005,
        decay: 0.4,
        sustain: 0.85,
        release: 0.06,
        cutoff: 420 * filter,
        detune: 22,
        pan: 0,
        gain: 0.8,
        drive: 1.4,
      };
    return {
      timbre: style.bassTimbre,
      attack: 0.005,
      decay: style.bass === 'slide' ? 1.2 : 0.3,
      sustain: style.bass === 'slide' || style.bass === 'drone' ? 0.8 : 0.75,
      release: 0.06,
      cutoff: style.bassTimbre === 'saw' ? 700 * filter : 1200,
      detune: 0,
      pan: 0,
      gain: 0.8,
      // A sine bass driven a little grows the odd harmonics a phone speaker can play.
      drive: style.bass === 'slide' ? 2.2 : style.bassTimbre === 'sine' ? 1.5 : undefined,
      glide: style.bass === 'slide' ? 0.09 : undefined,
    };
  }
  if (part === 'chords') {
    const slow = style.chords === 'pad' || style.chords === 'swell';
    // Bright enough to carry above the drums: a swell (ambient's, techno's) opens further.
    const bright = (style.chords === 'swell' ? 8500 : 5000) * filter;
    return {
      timbre: style.chordTimbre,
      attack: (style.chords === 'swell' ? 0.8 : slow ? 0.25 : 0.008) * envelope,
      decay: slow ? 1 : style.chords === 'stabs' ? 0.15 : 0.6,
      sustain: slow ? 0.8 : style.chords === 'stabs' ? 0.55 : 0.6,
      release: (slow ? 0.5 : 0.15) * envelope,
      cutoff: style.warmth ? Math.min(bright, style.warmth * 0.7) : bright,
      detune: detune || (style.chordTimbre === 'saw' ? 9 : 4),
      pan: -0.35,
      gain: 0.45,
      phaseByPitch: true,
      // Pads spread their two oscillators across the sides; swells (under a long reverb) and short chords less.
      spread: style.chords === 'swell' ? 0.28 : slow ? 0.35 : 0.3,
    };
  }
  return {
    timbre: style.leadTimbre,
    attack: 0.01 * envelope,
    decay: 0.25,
    sustain: 0.65,
    release: 0.12 * envelope,
    cutoff: (style.leadTimbre === 'square' || style.leadTimbre === 'saw' ? 5000 : 8000) * filter,
    detune: 0,
    pan: -0.1,
    gain: 0.5,
  };
}

/**
 * A part rendered somewhere else (another engine thread), asked for when the mix reaches it: the same
 * samples renderPart gives here.
 */
export type PartsElsewhere = Partial<Record<PartName, () => Promise<Stereo>>>;

/**
 * The mix of all parts, rendered one part at a time and added in as it is done: one stem alive at a
 * time. `onPart` runs after each part rendered here (progress, cancellation checks). A part in
 * `elsewhere` is not rendered here: the parts after it are rendered meanwhile and held, and everything
 * is added in PARTS order, so the mix is the same to the last bit (one or two stems more alive).
 */
export async function renderMix(
  a: Arrangement,
  onPart: (part: PartName) => Promise<void> | void = () => {},
  elsewhere: PartsElsewhere = {},
): Promise<Stereo> {
  const waiting: (Stereo | (() => Promise<Stereo>))[] = [];
  let mix: Stereo | undefined;
  const add = (s: Stereo) => {
    // The first part becomes the mix, the others are added into it: no fresh pair of buffers to fill.
    if (mix) addInto(mix, s, 1);
    else mix = s;
  };
  for (const part of PARTS) {
    const fetch = elsewhere[part];
    if (fetch) waiting.push(fetch);
    else {
      const rendered = renderPart(a, part);
      if (waiting.length) waiting.push(rendered);
      else add(rendered);
      await onPart(part);
    }
    // Let I/O in between parts (lock renewals, progress writes; the api too, when tests run both in one process).
    await new Promise((resolve) => setImmediate(resolve));
  }
  for (const next of waiting) add(typeof next === 'function' ? await next() : next);
  if (!mix) throw new Error('no parts to mix');
  return mix;
}

/** Every part at once (four stems alive: the benchmark and tests; jobs use renderPart/renderMix). */
export async function renderStems(a: Arrangement, onPart: (part: PartName) => Promise<void> | void = () => {}): Promise<Stems> {
  const stems = {} as Stems;
  for (const part of PARTS) {
    stems[part] = renderPart(a, part);
    await onPart(part);
  }
  return stems;
}

/**
 * The first `length` samples of `s` with what follows added onto them from the start (fading out
 * the last TAIL_FADE_SEC of it first): the render as it sounds when looped, its end running on into its start.
 */
function foldTail(s: Stereo, length: number): Stereo {
  const end = s.left.length;
  const fade = Math.min(end - length, Math.round(TAIL_FADE_SEC * SAMPLE_RATE));
  for (const x of [s.left, s.right]) {
    for (let k = 0; k < fade; k++) {
      const i = end - fade + k;
      x[i] = (x[i] as number) * 0.5 * (1 + Math.cos((Math.PI * (k + 1)) / (fade + 1)));
    }
    for (let i = length; i < end; i++) {
      const j = (i - length) % length;
      x[j] = (x[j] as number) + (x[i] as number);
    }
  }
  return { left: s.left.subarray(0, length), right: s.right.subarray(0, length) };
}

function scale(s: Stereo, g: number): void {
  const { left, right } = s;
  for (let i = 0; i < left.length; i++) {
    left[i] = (left[i] as number) * g;
    right[i] = (right[i] as number) * g;
  }
}

/** Sum of stems with per-stem gain (dB), pan offset and mute. */
export function mixStems(
  stems: Stems,
  settings: Partial<Record<PartName, { gainDb?: number; pan?: number; muted?: boolean }>> = {},
): Stereo {
  const first = stems.drums;
  const out = stereo(first.left.length);
  for (const [part, s] of Object.entries(stems) as [PartName, Stereo][]) {
    const set = settings[part] ?? {};
    if (set.muted) continue;
    addInto(out, s, dbToGain(set.gainDb ?? 0), set.pan ?? 0);
  }
  return out;
}

/** out += s × gain, with a balance-style pan (−1..1) that keeps the centre at unity. */
export function addInto(out: Stereo, s: Stereo, gain: number, pan = 0): void {
  const gl = gain * Math.min(1, 1 - pan);
  const gr = gain * Math.min(1, 1 + pan);
  const n = Math.min(out.left.length, s.left.length);
  for (let i = 0; i < n; i++) {
    out.left[i] = (out.left[i] as number) + (s.left[i] as number) * gl;
    out.right[i] = (out.right[i] as number) + (s.right[i] as number) * gr;
  }
}

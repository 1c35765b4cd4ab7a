import { describe, expect, it } from 'vitest';
import { detect, detectKey, detectTempo, fft, mono } from '../../src/music/detect.js';

/** A deterministic noise source (xorshift), -1..1. */
function noise(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 31 - 1;
  };
}

/** Adds a decaying noise burst (a click, a hat or a snare) at `time` seconds. */
function burst(out: Float32Array, rate: number, time: number, amp: number, decay: number, rnd: () => number) {
  const start = Math.round(time * rate);
  for (let i = 0; i < decay * 5 * rate && start + i < out.length; i++)
    out[start + i] = (out[start + i] as number) + amp * rnd() * Math.exp(-i / (decay * rate));
}

/** Adds a kick: a sine falling from 150 to 50 Hz, decaying. */
function kick(out: Float32Array, rate: number, time: number) {
  const start = Math.round(time * rate);
  let phase = 0;
  for (let i = 0; i < 0.3 * rate && start + i < out.length; i++) {
    phase += (50 + 100 * Math.exp(-i / (0.03 * rate))) / rate;
    out[start + i] = (out[start + i] as number) + 0.8 * Math.sin(2 * Math.PI * phase) * Math.exp(-i / (0.08 * rate));
  }
}

/** Adds a note (MIDI number) with four harmonics and a soft attack and release. */
function note(out: Float32Array, rate: number, midi: number, time: number, seconds: number, amp: number) {
  const f = 440 * 2 ** ((midi - 69) / 12);
  const start = Math.round(time * rate);
  const length = Math.round(seconds * rate);
  for (let i = 0; i < length && start + i < out.length; i++) {
    const env = Math.min(1, i / (0.01 * rate), (length - i) / (0.05 * rate));
    let v = 0;
    for (let h = 1; h <= 4; h++) v += Math.sin((2 * Math.PI * f * h * i) / rate) / h;
    out[start + i] = (out[start + i] as number) + amp * env * v;
  }
}

/** A drum loop: kick on beats 1 and 3, snare on 2 and 4, hi-hats on every 8th note. */
function drumLoop(bpm: number, seconds: number, rate: number): Float32Array {
  const out = new Float32Array(Math.round(seconds * rate));
  const rnd = noise(7);
  const beat = 60 / bpm;
  for (let b = 0; b * beat < seconds; b++) {
    const t = b * beat;
    if (b % 2 === 0) kick(out, rate, t);
    else burst(out, rate, t, 0.5, 0.04, rnd);
    burst(out, rate, t, 0.15, 0.01, rnd);
    burst(out, rate, t + beat / 2, 0.1, 0.01, rnd);
  }
  return out;
}

/**
 * A chord progression, one chord a bar (2 s): each chord voiced from its root around C4, with its
 * root in the bass two octaves down. `chords` are [root MIDI, intervals above the root].
 */
function progression(chords: [number, number[]][], rate: number, repeats = 3): Float32Array {
  const bar = 2;
  const out = new Float32Array(Math.round(chords.length * repeats * bar * rate));
  for (let r = 0; r < repeats; r++) {
    chords.forEach(([root, intervals], i) => {
      const t = (r * chords.length + i) * bar;
      for (const step of intervals) note(out, rate, root + step, t, bar, 0.08);
      note(out, rate, root - 24, t, bar, 0.15);
    });
  }
  return out;
}

const MAJOR_TRIAD = [0, 4, 7];
const MINOR_TRIAD = [0, 3, 7];

describe('fft', () => {
  it('puts a cosine of k cycles into bins k and n - k', () => {
    const n = 64;
    const re = Float64Array.from({ length: n }, (_, i) => Math.cos((2 * Math.PI * 5 * i) / n));
    const im = new Float64Array(n);
    fft(re, im);
    expect(re[5]).toBeCloseTo(n / 2, 6);
    expect(re[n - 5]).toBeCloseTo(n / 2, 6);
    expect(Math.hypot(re[4] as number, im[4] as number)).toBeLessThan(1e-9);
  });
});

describe('detectTempo', () => {
  it.each([72, 100, 128, 150])('a click track at %i bpm', (bpm) => {
    const rate = 44100;
    const out = new Float32Array(20 * rate);
    const rnd = noise(bpm);
    for (let t = 0.1; t < 20; t += 60 / bpm) burst(out, rate, t, 0.6, 0.01, rnd);
    expect(Math.abs(detectTempo(out, rate) - bpm)).toBeLessThanOrEqual(1);
  });

  it.each([
    [90, 44100],
    [124, 48000],
    [174, 44100],
    [140, 22050],
  ])('a kick–snare–hat loop at %i bpm (%i Hz) is heard at its beat, not half or double', (bpm, rate) => {
    expect(Math.abs(detectTempo(drumLoop(bpm, 20, rate), rate) - bpm)).toBeLessThanOrEqual(1);
  });
});

describe('detectKey', () => {
  it('C major: C – Am – F – G', () => {
    const audio = progression(
      [
        [60, MAJOR_TRIAD],
        [57, MINOR_TRIAD],
        [53, MAJOR_TRIAD],
        [55, MAJOR_TRIAD],
      ],
      44100,
    );
    expect(detectKey(audio, 44100).key).toMatchObject({ pitchClass: 0, tonic: 'C', mode: 'major' });
  });

  it('A minor (the relative minor of C): Am – F – C – G', () => {
    const audio = progression(
      [
        [57, MINOR_TRIAD],
        [53, MAJOR_TRIAD],
        [60, MAJOR_TRIAD],
        [55, MAJOR_TRIAD],
      ],
      44100,
    );
    expect(detectKey(audio, 44100).key).toMatchObject({ pitchClass: 9, tonic: 'A', mode: 'minor' });
  });

  it('Eb major at 48 kHz: Eb – Ab – Bb – Eb, with a drum loop over it', () => {
    const rate = 48000;
    const chords = progression(
      [
        [63, MAJOR_TRIAD],
        [56, MAJOR_TRIAD],
        [58, MAJOR_TRIAD],
        [63, MAJOR_TRIAD],
      ],
      rate,
    );
    const drums = drumLoop(120, chords.length / rate, rate);
    const audio = mono([chords, drums]);
    const { key, confidence } = detectKey(audio, rate);
    expect(key).toMatchObject({ pitchClass: 3, mode: 'major' });
    expect(confidence).toBeGreaterThan(0.5);
  });

  it('F# minor after a second of silence: F#m – D – A – E', () => {
    const rate = 44100;
    const music = progression(
      [
        [54, MINOR_TRIAD],
        [62, MAJOR_TRIAD],
        [57, MAJOR_TRIAD],
        [52, MAJOR_TRIAD],
      ],
      rate,
    );
    const audio = new Float32Array(music.length + rate);
    audio.set(music, rate);
    expect(detectKey(audio, rate).key).toMatchObject({ pitchClass: 6, mode: 'minor' });
  });
});

describe('detect', () => {
  it('gives tempo and key together', () => {
    const rate = 44100;
    const chords = progression(
      [
        [62, MINOR_TRIAD],
        [58, MAJOR_TRIAD],
        [53, MAJOR_TRIAD],
        [60, MAJOR_TRIAD],
      ],
      rate,
    );
    const audio = mono([chords, drumLoop(96, chords.length / rate, rate)]);
    const result = detect(audio, rate);
    expect(Math.abs(result.bpm - 96)).toBeLessThanOrEqual(1);
    expect(result.key).toMatchObject({ pitchClass: 2, tonic: 'D', mode: 'minor' });
  });

  it('does not throw on silence or an empty buffer', () => {
    for (const audio of [new Float32Array(0), new Float32Array(44100)]) {
      const result = detect(audio, 44100);
      expect(Number.isFinite(result.bpm)).toBe(true);
      expect(result.key.pitchClass).toBeGreaterThanOrEqual(0);
    }
  });

  it('takes about a second or less for a minute of 44.1 kHz audio', () => {
    const rate = 44100;
    const audio = drumLoop(120, 60, rate);
    const started = performance.now();
    detect(audio, rate);
    expect(performance.now() - started).toBeLessThan(3000);
  });
});

/**
 * The same arrangement rendered with node-web-audio-api's OfflineAudioContext
 * (a Rust Web Audio engine), for bench:audio's comparison with the engine's
 * hand-written DSP. A comparable workload, not a bit-identical sound: one
 * oscillator (two for chords) → gain envelope → low-pass per note, sine-sweep
 * kick and noise drums, and a convolution reverb send for chords and lead.
 */
import { OfflineAudioContext } from 'node-web-audio-api';
import type { Arrangement } from '../../worker/engine/arrangement.js';
import { midiToFrequency } from '../../src/music/theory.js';
import { STYLES } from '../../worker/engine/styles.js';

export async function renderWithWebAudio(a: Arrangement): Promise<number> {
  const sr = 44_100;
  const ctx = new OfflineAudioContext({ numberOfChannels: 2, length: Math.round(a.durationSec * sr), sampleRate: sr });
  const spb = 60 / a.bpm;
  const style = STYLES[a.genre];
  const noise = ctx.createBuffer(1, sr, sr);
  const nd = noise.getChannelData(0);
  for (let i = 0; i < nd.length; i++) nd[i] = Math.random() * 2 - 1;
  const ir = ctx.createBuffer(2, Math.round(1.5 * sr), sr);
  for (let c = 0; c < 2; c++) {
    const d = ir.getChannelData(c);
    for (let i = 0; i < d.length; i++) d[i] = (Math.random() * 2 - 1) * Math.exp(-i / (0.3 * sr));
  }
  const reverb = ctx.createConvolver();
  reverb.buffer = ir;
  const wet = ctx.createGain();
  wet.gain.value = style.reverb;
  reverb.connect(wet).connect(ctx.destination);
  const type = (t: string) => (t === 'saw' ? 'sawtooth' : t) as OscillatorType;

  for (const h of a.drums) {
    const t = h.time * spb;
    const g = ctx.createGain();
    g.connect(ctx.destination);
    if (h.drum === 'kick' || h.drum === 'perc') {
      const o = ctx.createOscillator();
      o.frequency.setValueAtTime(h.drum === 'kick' ? 160 : 820, t);
      o.frequency.exponentialRampToValueAtTime(h.drum === 'kick' ? 48 : 800, t + 0.1);
      g.gain.setValueAtTime(h.velocity, t);
      g.gain.exponentialRampToValueAtTime(0.001, t + 0.4);
      o.connect(g);
      o.start(t);
      o.stop(t + 0.5);
    } else {
      const s = ctx.createBufferSource();
      s.buffer = noise;
      const f = ctx.createBiquadFilter();
      f.type = 'highpass';
      f.frequency.value = h.drum === 'snare' || h.drum === 'clap' ? 1500 : 7000;
      g.gain.setValueAtTime(h.velocity * 0.5, t);
      g.gain.exponentialRampToValueAtTime(0.001, t + (h.drum === 'openhat' ? 0.8 : 0.2));
      s.connect(f).connect(g);
      s.start(t);
      s.stop(t + 0.9);
    }
  }
  const voice = (midi: number, start: number, dur: number, vel: number, timbre: string, oscs: number, send: boolean) => {
    const f = ctx.createBiquadFilter();
    f.type = 'lowpass';
    f.frequency.value = 2600;
    const g = ctx.createGain();
    g.gain.setValueAtTime(0, start);
    g.gain.linearRampToValueAtTime(vel, start + 0.01);
    g.gain.setTargetAtTime(vel * 0.5, start + 0.01, 0.2);
    g.gain.setTargetAtTime(0, start + dur, 0.05);
    f.connect(g).connect(ctx.destination);
    if (send) g.connect(reverb);
    for (let i = 0; i < oscs; i++) {
      const o = ctx.createOscillator();
      o.type = type(timbre);
      o.frequency.value = midiToFrequency(midi) * (i ? 1.005 : 1);
      o.connect(f);
      o.start(start);
      o.stop(start + dur + 0.3);
    }
  };
  for (const n of a.bass) voice(n.midi, n.time * spb, n.duration * spb, n.velocity, style.bassTimbre, 1, false);
  for (const n of a.chords) voice(n.midi, n.time * spb, n.duration * spb, n.velocity * 0.4, style.chordTimbre, 2, true);
  for (const n of a.lead) voice(n.midi, n.time * spb, n.duration * spb, n.velocity * 0.5, style.leadTimbre, 1, true);
  const t0 = performance.now();
  await ctx.startRendering();
  return performance.now() - t0;
}

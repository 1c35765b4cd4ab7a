import { parseKey } from './src/music/keys.js';
import * as now from './worker/engine/index.js';
import { encodeMp3 as mp3Now } from './worker/engine/encode.js';
// @ts-ignore
import * as old from '/work/wt/old/worker/engine/index.ts';
// @ts-ignore
import { encodeMp3 as mp3Old } from '/work/wt/old/worker/engine/encode.ts';
const key = parseKey('A minor')!;
const genres = (process.argv[2] ?? 'lofi').split(',');
for (const genre of genres) {
  const t: Record<string, number[]> = { oldR: [], nowR: [], oldM: [], nowM: [] };
  for (let i = 0; i < 7; i++) {
    for (const [name, eng, mp3] of [['old', old, mp3Old], ['now', now, mp3Now]] as const) {
      const input = { genre, bpm: genre === 'dnb' ? 174 : genre === 'trap' ? 140 : genre === 'house' ? 124 : genre === 'techno' ? 130 : 90, key, mood: 'mellow', durationSec: 30, seed: 100 + i };
      const t0 = performance.now();
      const track = await (eng as any).renderBeat(input);
      const t1 = performance.now();
      await (mp3 as any)(track.mix);
      const t2 = performance.now();
      if (i > 0) { t[`${name}R`]!.push(t1 - t0); t[`${name}M`]!.push(t2 - t1); }
    }
  }
  const med = (x: number[]) => x.sort((a, b) => a - b)[Math.floor(x.length / 2)]!.toFixed(0);
  console.log(`| ${genre} | ${med(t.oldR!)} | ${med(t.nowR!)} | ${med(t.oldM!)} | ${med(t.nowM!)} |`);
}

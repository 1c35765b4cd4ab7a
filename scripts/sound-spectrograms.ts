/**
 * `npm run sound:spectrograms [-- --label after --out docs/sound --genres lofi,trap]`: issue 15's
 * spectrogram pictures. One 30 s beat per genre (seed 1, the genre's default tempo, key and mood, as
 * `npm run bench:sound` picks them), rendered as the product renders it (`renderBeat`, the 16-bit WAV),
 * pictured by ffmpeg's showspectrumpic into `<out>/<label>-<genre>.png`: the whole band above, 0–1 kHz
 * below. Run with `--label before` on an older engine (a git worktree) for the pictures to compare.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GENRES, type Genre } from '../src/music/genres.js';
import { soundInput } from '../test/helpers/sound.js';
import { encodeWav } from '../worker/engine/encode.js';
import { renderBeat } from '../worker/engine/index.js';
import { ffmpegPath } from './lib/ffmpeg.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const { values } = parseArgs({
  options: {
    label: { type: 'string', default: 'after' },
    out: { type: 'string', default: join(ROOT, 'docs/sound') },
    genres: { type: 'string', default: GENRES.join(',') },
  },
});
const SEED = 1;
const DURATION_SEC = 30;

/**
 * This ffmpeg build's showspectrumpic has a linear frequency axis only (no `fscale`), and sizes its FFT
 * by the picture's height, so `stop` merely stretches coarse bins. The lower panel therefore resamples
 * to 2 kHz first: 0–1 kHz (kick, bass and chord roots) at 6 Hz a bin. The fourth-root
 * intensity scale shows the hats without saturating the rest, as `log` does. Both panels are centred on
 * one width (the legend's margins grow with the sample rate's digits), which lines up their time axes,
 * and a 16-colour palette keeps a picture under 150 KB.
 */
const PICTURE = [
  '[0:a]asplit=2[full][low]',
  '[full]showspectrumpic=s=800x240:legend=1:scale=4thrt,pad=1100:ih:(ow-iw)/2:0[top]',
  '[low]aresample=2000,showspectrumpic=s=800x160:legend=1:scale=4thrt,pad=1100:ih:(ow-iw)/2:0[bottom]',
  '[top][bottom]vstack,split[picture][forPalette]',
  '[forPalette]palettegen=max_colors=16:stats_mode=single[palette]',
  '[picture][palette]paletteuse=dither=none',
].join(';');

function spectrogram(wav: string, png: string): void {
  const args = ['-v', 'error', '-y', '-i', wav, '-filter_complex', PICTURE, '-frames:v', '1'];
  const r = spawnSync(ffmpegPath(), [...args, '-compression_level', '9', '-pred', 'mixed', png], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg could not picture ${wav}: ${r.stderr.slice(-1000)}`);
}

const outDir = resolve(values.out as string);
mkdirSync(outDir, { recursive: true });
const dir = mkdtempSync(join(tmpdir(), 'dawg-spectrograms-'));
try {
  for (const genre of (values.genres as string).split(',') as Genre[]) {
    const track = await renderBeat(soundInput(genre, SEED, DURATION_SEC));
    const wav = join(dir, `${genre}.wav`);
    writeFileSync(wav, encodeWav(track.mix));
    const png = join(outDir, `${values.label}-${genre}.png`);
    spectrogram(wav, png);
    rmSync(wav);
    console.log(`${png}: ${track.durationSec.toFixed(1)} s, ${(statSync(png).size / 1024).toFixed(0)} KB`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

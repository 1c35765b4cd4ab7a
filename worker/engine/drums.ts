/**
 * The drum part: one line per drum picked by seed from the genre's alternatives (styles.ts), a
 * variation at the end of each 4-bar phrase, layers entering and leaving by section, fills picked
 * from the genre's set, trap's hat rolls with a pitch ramp, and in the genres with a drop a build at
 * the end of the break (a snare roll from 8ths to 32nds and a riser) and a crash on the drop.
 */
import type { DrumHit, DrumName, Section } from './arrangement.js';
import { humanize, type Rng } from './rng.js';
import { ASKS_FOR_DRUMS, type FillName, type Style } from './styles.js';

type Pattern = Partial<Record<DrumName, string>>;

/** A fill: hits at 16th steps of its bar, and the step from which the bar's own hits give way to it. */
interface Fill {
  from: number;
  hits: { step: number; drum: 'S' | DrumName; velocity: number; pitch?: number }[];
}

const ramp = (i: number, n: number, from: number, to: number) => from + ((to - from) * i) / Math.max(1, n - 1);

/** 'S' is the genre's backbeat drum: its snare, or its clap when it has no snare. */
const FILLS: Record<FillName, Fill> = {
  run: { from: 12, hits: [12, 13, 14, 15].map((step, i) => ({ step, drum: 'S', velocity: ramp(i, 4, 0.45, 0.9) })) },
  sixteenths: {
    from: 8,
    hits: Array.from({ length: 8 }, (_, i) => ({ step: 8 + i, drum: 'S' as const, velocity: ramp(i, 8, 0.35, 0.95) })),
  },
  kickSnare: {
    from: 12,
    hits: [
      { step: 12, drum: 'kick', velocity: 0.7 },
      { step: 13, drum: 'S', velocity: 0.6 },
      { step: 14, drum: 'kick', velocity: 0.8 },
      { step: 15, drum: 'S', velocity: 0.9 },
    ],
  },
  flam: {
    from: 10,
    hits: [
      { step: 10, drum: 'S', velocity: 0.55 },
      { step: 11.75, drum: 'S', velocity: 0.35 },
      { step: 12, drum: 'S', velocity: 0.8 },
      { step: 14, drum: 'S', velocity: 0.7 },
      { step: 15, drum: 'openhat', velocity: 0.6 },
    ],
  },
  toms: {
    from: 12,
    hits: [0, -3, -7, -10].map((p, i) => ({
      step: 12 + i,
      drum: 'perc' as const,
      velocity: ramp(i, 4, 0.7, 0.9),
      pitch: p - 12,
    })),
  },
  triplets: {
    from: 12,
    hits: Array.from({ length: 6 }, (_, i) => ({ step: 12 + (i * 4) / 6, drum: 'S' as const, velocity: ramp(i, 6, 0.4, 0.9) })),
  },
  stop: { from: 12, hits: [{ step: 14, drum: 'S', velocity: 0.8 }] },
};

/** The second main section's layer in a genre with no percussion or open-hat lines: an open hat on the last 8th. */
const LAYER_FALLBACK = '0000000000000040';

/** The drums that keep playing under a fill, unless the fill plays them itself. */
const KEEP_UNDER_FILL = new Set<DrumName>(['kick', 'hat']);

/** Which drums play in a section: the intro and break thin out, the second main section adds a layer. */
function playsIn(drum: DrumName, section: Section, barInSection: number): boolean {
  const backbeat = drum === 'snare' || drum === 'clap';
  if (section.name === 'break') return drum === 'hat' || drum === 'perc' || drum === 'openhat';
  if (section.name === 'intro') return !backbeat && (drum !== 'kick' || barInSection >= Math.floor(section.bars / 2));
  if (section.name === 'outro') return !backbeat || barInSection < Math.ceil(section.bars / 2);
  return true;
}

function pickLines(lines: Partial<Record<DrumName, string[]>>, rng: Rng): Pattern {
  const out: Pattern = {};
  for (const [drum, options] of Object.entries(lines) as [DrumName, string[]][]) out[drum] = rng.pick(options);
  return out;
}

const silent = (line: string | undefined) => !line || /^0*$/.test(line);

/**
 * The layer the second main section adds: percussion or open hats where the render has none (a line
 * of the genre's, or an open hat on the last 8th), else another percussion line.
 */
function secondMainLayer(lines: Partial<Record<DrumName, string[]>>, main: Pattern): [DrumName, string] | undefined {
  for (const drum of ['perc', 'openhat'] as const)
    if (silent(main[drum])) return [drum, (lines[drum] ?? []).find((l) => !silent(l)) ?? LAYER_FALLBACK];
  const other = (lines.perc ?? []).find((l) => !silent(l) && l !== main.perc);
  return other ? ['perc', other] : undefined;
}

export interface DrumPlan {
  hits: DrumHit[];
  /** The builds before drops, in beats. */
  builds: { startBeat: number; endBeat: number }[];
  /** The fills played, in order. */
  fills: FillName[];
}

export function composeDrums(style: Style, mood: string, bars: number, sections: readonly Section[], rng: Rng): DrumPlan {
  const lines = style.drumsWhenAsked && ASKS_FOR_DRUMS.test(mood) ? style.drumsWhenAsked : style.drums;
  const main = pickLines(lines, rng);
  if (Object.keys(main).length === 0) return { hits: [], builds: [], fills: [] };
  // The phrase's last bar: another kick line where the genre has one.
  const kicks = (lines.kick ?? []).filter((k) => k !== main.kick);
  const variation: Pattern = { ...main, ...(kicks.length && { kick: rng.pick(kicks) }) };
  const layer = secondMainLayer(lines, main);
  const backbeat: DrumName = lines.snare?.some((l) => !silent(l)) ? 'snare' : 'clap';
  const hits: DrumHit[] = [];
  const builds: DrumPlan['builds'] = [];
  const fills: FillName[] = [];
  const add = (bar: number, step: number, drum: DrumName, velocity: number, pitch?: number) =>
    hits.push({
      time: bar * 4 + step / 4,
      drum,
      velocity: humanize(velocity, rng),
      ...(pitch !== undefined && { pitch }),
      ...(drum === 'hat' && { pan: hatPan(step) }),
    });
  let mains = 0;
  for (const [index, section] of sections.entries()) {
    const next = sections[index + 1];
    if (section.name === 'main') mains++;
    const drop = style.drop && section.name === 'break' && next?.name === 'main';
    const buildBars = drop ? Math.min(2, section.bars) : 0;
    if (buildBars) {
      const startBar = section.startBar + section.bars - buildBars;
      builds.push({ startBeat: startBar * 4, endBeat: (section.startBar + section.bars) * 4 });
      hits.push({ time: startBar * 4, drum: 'riser', velocity: 0.8, duration: buildBars * 4 });
    }
    if (style.drop && section.name === 'main' && sections[index - 1]?.name === 'break')
      hits.push({ time: section.startBar * 4, drum: 'crash', velocity: 0.85 });
    for (let barInSection = 0; barInSection < section.bars; barInSection++) {
      const bar = section.startBar + barInSection;
      const lastOfSection = barInSection === section.bars - 1 && bar < bars - 1;
      const phraseEnd = barInSection % 4 === 3;
      const inBuild = barInSection >= section.bars - buildBars;
      const fillName =
        !inBuild && section.energy > 0.4 && (lastOfSection || (section.name === 'main' && phraseEnd && rng.chance(0.35)))
          ? rng.pick(style.fills)
          : undefined;
      const fill = fillName ? FILLS[fillName] : undefined;
      if (fillName) fills.push(fillName);
      const pattern: Pattern = {
        ...(phraseEnd ? variation : main),
        ...(mains >= 2 && section.name === 'main' && layer && { [layer[0]]: layer[1] }),
      };
      const roll = style.hatRolls && section.energy > 0.8 && rng.chance(0.5) ? hatRoll(rng, fill ? 2 : 3) : undefined;
      for (const [drum, steps] of Object.entries(pattern) as [DrumName, string][]) {
        if (!playsIn(drum, section, barInSection)) continue;
        for (let step = 0; step < 16; step++) {
          const level = Number(steps[step]);
          if (!level) continue;
          if (
            fill &&
            step >= fill.from &&
            (fillName === 'stop' || !KEEP_UNDER_FILL.has(drum) || fill.hits.some((h) => h.drum === drum))
          )
            continue;
          if (roll && drum === 'hat' && step >= roll.beat * 4 && step < roll.beat * 4 + 4) continue;
          add(bar, step, drum, (level / 9) * (0.6 + 0.4 * section.energy));
        }
      }
      if (roll)
        for (const [i, t] of roll.times.entries())
          add(
            bar,
            roll.beat * 4 + t * 4,
            'hat',
            0.35 + (0.3 * i) / roll.times.length,
            roll.pitch * (i / (roll.times.length - 1)),
          );
      if (fill) for (const h of fill.hits) add(bar, h.step, h.drum === 'S' ? backbeat : h.drum, h.velocity, h.pitch);
      if (inBuild) {
        // The roll: 8ths in the bar before the last, then 16ths, then 32nds over the last beat.
        const last = barInSection === section.bars - 1;
        const steps = last
          ? [...Array.from({ length: 12 }, (_, i) => i), ...Array.from({ length: 8 }, (_, i) => 12 + i / 2)]
          : Array.from({ length: 8 }, (_, i) => 2 * i);
        const [from, to] = last ? [0.5, 1] : [0.25, 0.5];
        for (const [i, step] of steps.entries())
          add(bar, step, backbeat, ramp(i, steps.length, from, to), style.hatRolls ? ramp(i, steps.length, 0, 5) : undefined);
      }
    }
  }
  return { hits: hits.sort((a, b) => a.time - b.time), builds, fills };
}

/** Hats alternate sides by their 16th step on the grid: the 8ths right, the 16ths between left. */
const hatPan = (step: number) => (Math.round(step) % 2 ? -0.25 : 0.35);

/** Trap: one beat of hats in 32nds or 16th triplets, rising or falling up to 5 semitones. */
function hatRoll(rng: Rng, lastBeat: number) {
  const perBeat = rng.pick([8, 6, 8]);
  return {
    beat: rng.int(1, lastBeat),
    times: Array.from({ length: perBeat }, (_, i) => i / perBeat),
    pitch: rng.pick([5, 3, -3, 4]),
  };
}

/** The JSON a finished generation stores in `output`, written by the worker and read by the API. */
export interface GenerationOutputData {
  format: 'mp3';
  files: {
    mp3: string;
    wav: string;
    midi: string | null;
    stems: { name: string; key: string }[];
  };
  durationSec: number;
  loudnessLufs: number;
  truePeakDb: number;
  targetLufs: number;
  /**
   * Summary of the arrangement (BEAT): bars, sections, chord roots per bar (scale degrees), and the bars
   * whose chord is borrowed from the parallel mode (its root a degree of that mode: 6 in major is ♭VII).
   */
  arrangement?: { bars: number; sections: { name: string; bars: number }[]; progression: number[]; borrowedBars?: number[] };
}

export function isOutputData(value: unknown): value is GenerationOutputData {
  const v = value as GenerationOutputData | null;
  return !!v && typeof v === 'object' && typeof v.files?.mp3 === 'string' && typeof v.durationSec === 'number';
}

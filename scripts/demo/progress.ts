/** A one-line progress bar on a terminal; one line per stage change when output is not a terminal. */
export function progressBar(out: NodeJS.WriteStream, width = 30) {
  let lastStage: string | null | undefined;
  return {
    update(percent: number, stage: string | null) {
      const label = stage ?? 'queued';
      if (out.isTTY) {
        const filled = Math.round((Math.max(0, Math.min(100, percent)) / 100) * width);
        out.write(`\r  [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(percent).padStart(3)}% ${label.padEnd(16)}`);
      } else if (label !== lastStage) {
        out.write(`  ${String(percent).padStart(3)}% ${label}\n`);
      }
      lastStage = label;
    },
    end() {
      if (out.isTTY) out.write('\n');
    },
  };
}

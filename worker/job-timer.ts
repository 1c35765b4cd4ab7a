/**
 * Times one job attempt for the worker's metrics (each stage it reports, the whole, its render speed)
 * and its trace: a span per stage, under the attempt's span (a no-op when tracing is off).
 */
import { type WorkerMetrics, failureLabel, stageLabel } from '../src/metrics.js';
import { type Span, startSpan } from '../src/tracing.js';

export type JobOutcome = 'completed' | 'failed' | 'cancelled';

export function jobTimer(metrics: WorkerMetrics | undefined, type: string) {
  const started = performance.now();
  let stage: { label: string; at: number; span: Span } | null = null;
  const endStage = (now: number) => {
    if (stage) {
      metrics?.stageDuration.observe({ type, stage: stage.label }, (now - stage.at) / 1000);
      stage.span.end();
    }
    stage = null;
  };
  return {
    /** A new stage starts (the one before it ends). */
    stage(name: string): void {
      const now = performance.now();
      endStage(now);
      const label = stageLabel(name);
      stage = { label, at: now, span: startSpan(`stage ${label}`, { 'dawg.stage': name.slice(0, 64) }) };
    },
    /** The attempt ended; a completed one that produced `audioSec` seconds of audio also gives its speed. */
    end(outcome: JobOutcome, audioSec?: number): void {
      const now = performance.now();
      endStage(now);
      const seconds = (now - started) / 1000;
      metrics?.jobDuration.observe({ type, outcome }, seconds);
      if (outcome === 'completed' && audioSec && seconds > 0) metrics?.renderSpeed.observe({ type }, audioSec / seconds);
    },
    /** The attempt failed with `code` (a FailureCode). */
    failed(code: string): void {
      metrics?.jobFailures.inc({ type, code: failureLabel(code) });
      this.end('failed');
    },
  };
}

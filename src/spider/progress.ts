/**
 * Progress on stderr while measuring (only when stderr is a terminal and not `--quiet`), and the
 * summary line printed at the end of every run.
 */

/** What the progress line shows. */
export interface ProgressSource {
  /** Jobs measured (or skipped). */
  done(): number;
  /** Results written. */
  written(): number;
  total(): number | undefined;
  failures(): number;
}

function eta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(s % 60).padStart(2, "0")}s`;
}

/** Starts redrawing a progress line every second; returns a function that stops and clears it. */
export function startProgress(src: ProgressSource, enabled: boolean): () => void {
  if (!enabled) return () => {};
  const t0 = performance.now();
  const enc = new TextEncoder();
  const draw = () => {
    const done = src.done(), total = src.total();
    const secs = (performance.now() - t0) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const of = total !== undefined ? `/${total}` : "";
    const left = total !== undefined && rate > 0 ? ` ETA ${eta((total - done) / rate)}` : "";
    const line = `pathspider: ${done}${of} jobs measured (${src.written()} written), ` +
      `${rate.toFixed(1)}/s${left}, ${src.failures()} with a failed connection`;
    Deno.stderr.writeSync(enc.encode(`\r${line}\x1b[K`));
  };
  const timer = setInterval(draw, 1000);
  return () => {
    clearInterval(timer);
    Deno.stderr.writeSync(enc.encode("\r\x1b[K"));
  };
}

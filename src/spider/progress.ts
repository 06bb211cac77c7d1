/**
 * Progress on stderr while measuring: a redrawn line when stderr is a terminal, plain status
 * lines every `--status-interval` seconds when it is not (a CI log, a journal); neither with
 * `--quiet`.
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

/** What a status line adds: the signals a scheduled job watches. */
export interface StatusSource extends ProgressSource {
  /** Flows not observed so far. */
  unobserved(): number;
  /** Packets the kernel dropped so far. */
  drops(): number;
}

/** A duration as `1h05m` or `3m07s`; `?` when unknown. */
export function eta(seconds: number): string {
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
    // a stream's total is unknown (src/spider/feeder.ts openJobs): say so rather than guess
    const of = total !== undefined ? `/${total}` : "/?";
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

/**
 * The status line: jobs done of the total, the rate over the last interval, unobserved flows,
 * kernel drops and the time left at the mean rate so far.
 */
export function statusLine(
  src: StatusSource,
  secs: number,
  recentRate: number,
): string {
  const done = src.done(), total = src.total();
  const mean = secs > 0 ? done / secs : 0;
  const of = total !== undefined ? `/${total}` : "";
  const pct = total ? ` (${Math.floor((100 * done) / total)}%)` : "";
  const left = total !== undefined ? (mean > 0 ? eta((total - done) / mean) : "?") : "unknown";
  return `pathspider: status: ${done}${of} jobs${pct}, ${recentRate.toFixed(1)} jobs/s, ` +
    `${src.unobserved()} unobserved flows, ${src.drops()} kernel drops, ETA ${left}`;
}

/**
 * Prints a status line every `intervalSec` seconds (0: none) through `say`; returns a function
 * that stops them. One timer and a few numbers read per line: nothing per job.
 */
export function startStatusLines(
  src: StatusSource,
  intervalSec: number,
  say: (line: string) => void,
): () => void {
  if (!(intervalSec > 0)) return () => {};
  const t0 = performance.now();
  let last = t0, lastDone = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const done = src.done();
    say(statusLine(src, (now - t0) / 1000, ((done - lastDone) * 1000) / (now - last)));
    last = now;
    lastDone = done;
  }, intervalSec * 1000);
  return () => clearInterval(timer);
}

/**
 * `measure --locate`: after a job's result is combined, the jobs that show interference (or all
 * of them, `--locate all`) are traced with their experiment's probe, hop by hop, and their result
 * gets `located` (src/locate/locate.ts) before it is written. Results of other jobs are written at
 * once; located ones when their traces are done, so the output order changes.
 *
 * @module
 */

import type { Job, Model, Plugin, PluginArgs } from "../plugins/plugin.ts";
import {
  changesOf,
  dropOf,
  type Located,
  sentFields,
  type Trace,
  trace,
  type TraceOptions,
} from "./locate.ts";
import { configCount, probeMaker } from "./probe.ts";
import type { ProbeIo } from "./tracer.ts";

/** Default of `--max-hops`. */
export const DEFAULT_MAX_HOPS = 32;
/** Probes per hop before a hop counts as silent: one re-probe, for routers rate-limiting ICMP. */
export const TRIES = 2;
/** Silent hops in a row that end a trace (past the target's hop nothing answers either). */
export const SILENT_STOP = 3;
/** Jobs traced at once, by default. */
export const CONCURRENT = 64;

/**
 * Conditions that show interference on the forward path: connectivity lost or regained, a mark
 * or an ECN setup that did not come through, an option not negotiated or changed.
 */
const INTERFERENCE = [
  /\.connectivity\.(broken|transient)$/,
  /\.mark\.not_seen$/,
  /^ecn\.negotiation\.(failed|reflected)$/,
  /^accecn\.negotiation\.(classic|reflected|none)$/,
  /^accecn\.syn\.([a-z0-9-]+)\.(unanswered|arrived:(?!\1$).*)$/,
  /\.negotiation\.failed$/,
  /^mss\.option\.received\.(absent|deflated|inflated)$/,
  /^tfo\.cookie\.not_received$/,
];

/** Whether a result's conditions show interference worth locating. */
export function showsInterference(conditions: unknown): boolean {
  if (!Array.isArray(conditions)) return false;
  return conditions.some((c) => typeof c === "string" && INTERFERENCE.some((r) => r.test(c)));
}

/** What the locator needs. */
export interface LocatorOptions {
  plugin: Plugin;
  args: PluginArgs;
  /** Trace every job, not only those showing interference. */
  all: boolean;
  maxHops: number;
  /** Where results go once located. */
  write: (result: Record<string, unknown>) => void;
  /** The probe path. */
  io: ProbeIo;
  /** The next probe source port. */
  port: () => number;
  /** Jobs traced at once (default {@link CONCURRENT}). */
  concurrency?: number;
}

/** Locates the changes of one job's result; resolves to its `located` list. */
export async function locateJob(
  model: Model,
  args: PluginArgs,
  job: Job,
  sip: string,
  io: ProbeIo,
  o: TraceOptions,
): Promise<{ located: Located[]; probes: number }> {
  const n = configCount(model);
  const configs = n === 1 ? [0] : Array.from({ length: n - 1 }, (_, i) => i + 1);
  const located: Located[] = [];
  let probes = 0;
  const seen = new Set<string>();
  let base: Promise<Trace | null> | undefined;
  const baseline = () =>
    base ??= (async () => {
      const mb = probeMaker(model, args, job, 0);
      if (!mb) return null;
      const t = await trace(io, mb, sip, o);
      probes += t.probes;
      return t;
    })();
  const traced: Promise<Located[]>[] = [];
  for (const config of configs) {
    const make = probeMaker(model, args, job, config);
    const first = make?.({ addr: sip, port: 0 });
    if (!make || !first) continue;
    // connections whose probes are alike (tfo's two fast-open connections) are traced once
    const sig = JSON.stringify(sentFields(first), (_k, v) => (v instanceof Map ? [...v] : v));
    if (seen.has(sig)) continue;
    seen.add(sig);
    // the connections' traces run side by side: a silent path costs one trace's waits, not one
    // per connection
    traced.push((async () => {
      const t = await trace(io, make, sip, o);
      probes += t.probes;
      const out = changesOf(t, config);
      if (t.end === "silent" && config !== 0) {
        const d = dropOf(t, await baseline(), config);
        if (d) out.push(d);
      }
      return out;
    })());
  }
  // one entry per change: the same change seen by several connections' probes is kept once
  const keys = new Set<string>();
  for (const e of (await Promise.all(traced)).flat()) {
    const k = `${e.what}|${e.sent}|${e.seen}|${e.hop}|${e.after}|${e.at}`;
    if (keys.has(k)) continue;
    keys.add(k);
    located.push(e);
  }
  return { located, probes };
}

/** Runs the locating of a run's results, a bounded number of jobs at once. */
export class Locator {
  readonly #o: LocatorOptions;
  readonly #model: Model;
  readonly #queue: Record<string, unknown>[] = [];
  #active = 0;
  #idle: (() => void) | null = null;
  #stopped = false;
  /** Jobs traced, and the probes each took (for the bench and the summary). */
  readonly probesPerJob: number[] = [];

  constructor(o: LocatorOptions) {
    this.#o = o;
    this.#model = o.plugin.model(o.args);
  }

  /** Takes a combined result: written now, or once located. */
  submit(result: Record<string, unknown>): void {
    const wanted = !this.#stopped && typeof result.sip === "string" &&
      (this.#o.all || showsInterference(result.conditions));
    if (!wanted) {
      this.#o.write(result);
      return;
    }
    this.#queue.push(result);
    this.#pump();
  }

  #pump(): void {
    while (this.#active < (this.#o.concurrency ?? CONCURRENT) && this.#queue.length > 0) {
      const r = this.#queue.shift()!;
      this.#active++;
      this.#one(r).finally(() => {
        this.#active--;
        this.#pump();
        if (this.#active === 0 && this.#queue.length === 0) this.#idle?.();
      });
    }
  }

  async #one(r: Record<string, unknown>): Promise<void> {
    try {
      const { located, probes } = await locateJob(
        this.#model,
        this.#o.args,
        r as Job,
        r.sip as string,
        this.#o.io,
        { maxHops: this.#o.maxHops, tries: TRIES, silentStop: SILENT_STOP, port: this.#o.port },
      );
      // a trace cut short by a stop says nothing: the result goes out without `located`
      if (!this.#stopped) {
        this.probesPerJob.push(probes);
        r.located = located;
      }
    } catch (e) {
      console.error(`pathspider: locating ${r.dip} failed: ${(e as Error).message}`);
    }
    this.#o.write(r);
  }

  /** Resolves once every submitted result is written. */
  drain(): Promise<void> {
    if (this.#active === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#idle = resolve));
  }

  /** Stops locating (a signal): queued results are written as they are, at once. */
  stop(): void {
    this.#stopped = true;
    for (const r of this.#queue.splice(0)) this.#o.write(r);
  }
}

/**
 * Opening the locate machinery for a run: the tracer on the run's interface (probes from the
 * forge port range, paced) and the locator writing to the run's output.
 *
 * @module
 */

import { UserError } from "../errors.ts";
import { CaptureError } from "../ffi/status.ts";
import { FORGE_PORTS } from "../host/firewall.ts";
import type { Plugin, PluginArgs } from "../plugins/plugin.ts";
import { Locator } from "./mod.ts";
import { Tracer } from "./tracer.ts";

/** `--locate` as parsed: which jobs, and how far. */
export interface LocateSetting {
  all: boolean;
  maxHops: number;
}

/** Probes per second when the run sets no `--rate`. */
export const DEFAULT_PROBE_RATE = 500;

/** How long a probe's answer is waited for (ms): routers answer within a round trip. */
export const HOP_WAIT_MS = 1000;

/** The run's locator and tracer; disposing closes the tracer. */
export interface RunLocate extends AsyncDisposable {
  locator: Locator;
  /** Probes sent. */
  probes(): number;
  /** One line for the end of the run: jobs traced, probes per job (median, worst). */
  summary(): string;
  /** Stops locating at once (a signal): traces in flight end, results are written as they are. */
  stop(): void;
}

/**
 * Opens the tracer on `iface` and a locator writing through `write`; `pace` bounds the probes
 * (the run's pacer at `--rate` probes per second); `concurrency` jobs are traced at once (the
 * run's workers: a trace mostly waits). Throws UserError without CAP_NET_RAW.
 */
export function startLocate(
  iface: string,
  plugin: Plugin,
  args: PluginArgs,
  setting: LocateSetting,
  write: (r: Record<string, unknown>) => void,
  pace: () => Promise<void>,
  concurrency: number,
): RunLocate {
  let tracer: Tracer;
  try {
    tracer = Tracer.open(iface, {
      waitMs: HOP_WAIT_MS,
      ports: [FORGE_PORTS.first, FORGE_PORTS.last],
      pace,
    });
  } catch (e) {
    if (e instanceof CaptureError) throw new UserError(`cannot locate: ${e.message}`);
    throw e;
  }
  const n = FORGE_PORTS.last - FORGE_PORTS.first + 1;
  let next = Math.floor(Math.random() * n);
  const locator = new Locator({
    plugin,
    args,
    all: setting.all,
    maxHops: setting.maxHops,
    write,
    io: tracer,
    port: () => FORGE_PORTS.first + (next++ % n),
    concurrency,
  });
  return {
    locator,
    probes: () => tracer.sent,
    summary: () => {
      const p = [...locator.probesPerJob].sort((a, b) => a - b);
      const median = p.length ? p[(p.length - 1) >> 1] : 0;
      return `pathspider: located ${p.length} jobs with ${tracer.sent} probes ` +
        `(per job: median ${median}, worst ${p.length ? p[p.length - 1] : 0})`;
    },
    stop: () => {
      locator.stop();
      void tracer.close();
    },
    [Symbol.asyncDispose]: () => tracer.close(),
  };
}

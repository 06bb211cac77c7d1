/**
 * One `measure` run from parsed options to exit code: checks (interface, permissions), stale
 * journal recovery, the live observation, the engine, signals, progress and the summary line.
 * Settings changed by the plugin are restored on every path out of here.
 */
import { UserError } from "../errors.ts";
import type { FlowRecord } from "../observer/chain.ts";
import type { ConnectMode, Plugin, PluginArgs, Setting } from "../plugins/plugin.ts";
import { type Connector, Engine } from "./engine.ts";
import { newFeederStats, readJobs } from "./feeder.ts";
import { countLines } from "../io/lines.ts";
import { type ForgeRun, startForge } from "./forge.ts";
import { checkInterfaceUp, sourceAddresses } from "../host/iface.ts";
import { recoverStaleJournals, SettingsJournal } from "../host/journal.ts";
import { ringMiB } from "./ring.ts";
import { Merger } from "./merger.ts";
import { ResultWriter } from "../io/output.ts";
import { startProgress } from "./progress.ts";

/** A running live observation feeding flows to a callback. */
export interface LiveObservation {
  /** Stops capturing and releases the interface. */
  stop(): Promise<void>;
  /** Packets the kernel dropped so far. */
  drops(): number;
  /**
   * Hands over every flow the observer holds (at the end, instead of its expiry timers), once
   * every packet the interface carried before the call went through the observer.
   */
  flush(): Promise<void>;
}

/** Starts observing `iface` with `chains`, handing each finished flow to `onFlow`. */
export type ObserveFn = (
  iface: string,
  chains: string[],
  onFlow: (flow: FlowRecord) => void,
  timeouts: ObserverTimeouts,
  capture: { ringMiB: number },
) => LiveObservation;

/** Observer timeouts (seconds), as the original's `idle_timeout` and `expiry_timeout`. */
export interface ObserverTimeouts {
  idle: number;
  expiry: number;
}

/** The options of `measure` and of the plugin's subcommand. */
export interface MeasureOptions {
  iface: string;
  workers: number;
  input?: string;
  output?: string;
  csvInput: boolean;
  outputFlows: boolean;
  quiet: boolean;
  plugin: Plugin;
  args: PluginArgs;
}

/** The components the run uses (real ones from the CLI, fakes in tests). */
export interface MeasureDeps {
  connect: Connector;
  observe: ObserveFn;
  /** Releases what the components hold (sockets). */
  close?: () => void;
  /** Whether `connect` opens a connection of this mode within its call (see EngineOptions). */
  opensAtCall?: (mode: ConnectMode) => boolean;
}

/** Exit status after SIGINT / SIGTERM (128 + signal number). */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/** Runs a measurement; resolves to the process exit status. */
export async function runMeasure(
  o: MeasureOptions,
  makeDeps: () => MeasureDeps | Promise<MeasureDeps>,
): Promise<number> {
  const say = (line: string) => console.error(line);
  checkInterfaceUp(o.iface);
  recoverStaleJournals(say);
  const deps = await makeDeps();

  const source = sourceAddresses(o.iface);
  const merger = new Merger({ flowTtlMs: 60_000 });
  const chains = ["basic", ...o.plugin.chains.filter((c) => c !== "basic")];
  const timeouts = observerTimeouts(o.args.timeout);
  let observation: LiveObservation;
  try {
    observation = deps.observe(o.iface, chains, (f) => merger.addFlow(f), timeouts, {
      ringMiB: ringMiB(o.workers),
    });
  } catch (e) {
    deps.close?.();
    throw e;
  }

  const journal = SettingsJournal.open();
  const restore = () => {
    for (const p of journal.restore()) say(`pathspider: ${p}`);
  };
  const apply = (s: Setting) => {
    try {
      journal.set(s.key, s.value);
    } catch (e) {
      throw new UserError(`cannot set ${s.key}=${s.value}: ${(e as Error).message}`);
    }
  };

  let out: ResultWriter;
  let input: Deno.FsFile | undefined;
  let opening = o.output;
  try {
    out = ResultWriter.open(o.output);
    opening = o.input;
    input = o.input !== undefined && o.input !== "-" ? await Deno.open(o.input) : undefined;
  } catch (e) {
    await observation.stop();
    deps.close?.();
    throw new UserError(`cannot open ${opening}: ${(e as Error).message}`);
  }
  // the forge model's raw sockets and firewall table (journalled), or nothing
  let forge: ForgeRun | undefined;
  try {
    forge = startForge(o.plugin.model(o.args), journal);
  } catch (e) {
    restore();
    out.close();
    input?.close();
    await observation.stop();
    deps.close?.();
    throw e;
  }
  const total = o.input !== undefined && o.input !== "-" ? await countLines(o.input) : undefined;
  const feederStats = newFeederStats();
  const jobs = readJobs(input?.readable ?? Deno.stdin.readable, {
    csv: o.csvInput,
    stats: feederStats,
  });

  const engine = new Engine({
    plugin: o.plugin,
    args: o.args,
    workers: o.workers,
    outputFlows: o.outputFlows,
    jobs,
    write: (r) => out.write(r),
    connect: deps.connect,
    forge: forge?.send,
    apply,
    source,
    merger,
    flowWaitMs: flowWaitMs(timeouts),
    // every packet of the connections (the helpers saw their last one) is in the capture ring
    // within milliseconds: drain it, then no need to wait for the expiry timers (the original
    // flushed at the first packet after its workers ended)
    connectionsDone: async () => {
      await observation.flush();
      // the flush handed every flow over at once: a connection still waiting has none
      merger.giveUp();
    },
    observing: true,
    opensAtCall: deps.opensAtCall?.(o.args.connect) ?? false,
  });

  let signalled: keyof typeof SIGNAL_EXIT | undefined;
  const onSignal = (sig: keyof typeof SIGNAL_EXIT) => () => {
    if (signalled === undefined) {
      signalled = sig;
      say(
        `\npathspider: ${sig}: taking no more jobs; finishing ${engine.inFlight} in flight ` +
          `(again to stop at once)`,
      );
      engine.stop();
      return;
    }
    // second signal: restore settings, write what is finished, go
    restore();
    try {
      out.flushSync();
    } catch { /* the output is gone: nothing more to save */ }
    say(`pathspider: ${sig} again: stopped at once, ${engine.inFlight} jobs in flight dropped`);
    Deno.exit(SIGNAL_EXIT[signalled]);
  };
  const handlers = (["SIGINT", "SIGTERM"] as const).map((s) => [s, onSignal(s)] as const);
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);
  // last resorts: an uncaught error or an exit from elsewhere still restores the settings
  for (const ev of ["error", "unhandledrejection", "unload"]) {
    globalThis.addEventListener(ev, restore);
  }

  const stopProgress = startProgress({
    done: () => engine.stats.measured + feederStats.malformed + feederStats.duplicates,
    written: () => engine.stats.results,
    total: () => total,
    failures: () => engine.stats.failedConnections,
  }, !o.quiet && Deno.stderr.isTerminal());

  let outError: unknown;
  try {
    await engine.run();
  } finally {
    stopProgress();
    forge?.close();
    // settings first: nothing that can fail below may keep them from being restored
    restore();
    try {
      out.close();
    } catch (e) {
      outError = e;
    }
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
    for (const ev of ["error", "unhandledrejection", "unload"]) {
      globalThis.removeEventListener(ev, restore);
    }
    // not awaited: after a signal a read of a quiet stdin may still be pending, and return()
    // would wait for it
    jobs.return(undefined).catch(() => {});
    try {
      input?.close();
    } catch { /* the stream closed it at its end */ }
    await observation.stop();
    deps.close?.();
  }
  if (outError !== undefined) throw outError;
  const s = engine.stats;
  say(
    `pathspider: ${s.taken} jobs, ${s.results} results, ` +
      `${feederStats.malformed + feederStats.duplicates} skipped lines ` +
      `(${feederStats.malformed} malformed, ${feederStats.duplicates} duplicate targets), ` +
      `${s.unobserved} unobserved flows, ${observation.drops()} kernel drops` +
      (signalled ? `; stopped by ${signalled}` : ""),
  );
  return signalled ? SIGNAL_EXIT[signalled] : 0;
}

/**
 * Observer timeouts for a measurement. A live connection is never silent for longer than its
 * timeout, so an idle timeout a little above it cannot split a flow, and a flow that never
 * completed (a SYN nobody answered) is handed on soon after its connection gave up, instead of
 * the original's 30 s. A completed flow (both FINs, or a RST) waits 2 s for late packets instead
 * of 5: what can still come is the last ACK, one round trip later; every job's result waits for
 * its flows, so this wait sets how many jobs are held in memory at once.
 */
export function observerTimeouts(connectTimeoutSec: number): ObserverTimeouts {
  return { idle: connectTimeoutSec + 2, expiry: 2 };
}

/**
 * How long a finished connection waits for its flow: the flow is emitted at most idle + expiry
 * seconds after its last packet (plus the observer's 1-second bins and capture latency).
 */
export function flowWaitMs(t: ObserverTimeouts): number {
  return (t.idle + t.expiry + 3) * 1000;
}

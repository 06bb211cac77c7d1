/**
 * One `measure` run from parsed options to exit code: checks (interface, permissions), stale
 * journal recovery, the live observation, the engine, signals, progress and the summary line.
 * Settings changed by the plugin are restored on every path out of here.
 */
import { DEFAULT_PROBE_RATE, type LocateSetting, startLocate } from "../locate/start.ts";
import { EXIT, firstError, osReason, UserError } from "../errors.ts";
import { RunRecord } from "./metadata.ts";
import { readResumed } from "./resume.ts";
import { findIdentity } from "../host/identity.ts";
import type { AddrSet } from "./addrset.ts";
import { interfaceInfo } from "../ffi/iface.ts";
import type { FlowRecord } from "../observer/chain.ts";
import type { ConnectMode, Model, Plugin, PluginArgs, Setting } from "../plugins/plugin.ts";
import { type Connector, Engine, type EngineOptions, type EngineStats } from "./engine.ts";
import {
  type FeederStats,
  type JobSource,
  newFeederStats,
  openJobs,
  skippedLines,
} from "./feeder.ts";
import type { ExclusionList } from "../targets/exclude.ts";
import { startForge } from "./forge.ts";
import { CaptureError, Status } from "../ffi/status.ts";
import { signalExit, type StopSignal, StopSignals } from "./signals.ts";
import { checkInterfaceUp, sourceAddresses } from "../host/iface.ts";
import { currentNetns, SettingsJournal } from "../host/journal.ts";
import { prepareSettings } from "../host/lock.ts";
import { ringMiB } from "./ring.ts";
import { MAX_UNCLAIMED, Merger } from "./merger.ts";
import { captureFilterFor, type CaptureFilterSpec } from "./capture_filter.ts";
import { ResultWriter } from "../io/output.ts";
import { startProgress, startStatusLines, type StatusSource } from "./progress.ts";
import { distrust } from "./trust.ts";
import {
  DEFAULT_MAX_UNOBSERVED,
  defaultSchedule,
  scheduledJobs,
  type ScheduleOptions,
  type ScheduleStats,
} from "./schedule.ts";
import { Pacer } from "./pacer.ts";

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
  capture: {
    ringMiB: number;
    filter?: CaptureFilterSpec;
    /** Called once if the capture fails (e.g. the interface went down, status -4). */
    onError?: (e: Error) => void;
  },
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
  /** Targets never to probe (`--exclude` lists). */
  exclude?: ExclusionList;
  /** When another run holds the settings lock: wait for it (default) or refuse (`--no-wait`). */
  wait?: boolean;
  /** Scheduled-run options (src/spider/schedule.ts); absent: a plain run. */
  schedule?: ScheduleOptions;
  /** `--locate`: trace the jobs showing interference (or all); absent: no locating. */
  locate?: LocateSetting;
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

/** Where a run's results go. */
export interface ResultSink extends Disposable {
  /** Queues one result; throws once the sink has failed. */
  write(result: Record<string, unknown>): void;
  /** Writes everything queued, now (before a forced exit). */
  flushSync(): void;
}

/** What a run did, for its summary. */
export interface RunOutcome {
  engine: EngineStats;
  feeder: FeederStats;
  /** Packets the kernel dropped before the observer saw them. */
  drops: number;
  /** Flows no connection claimed (background traffic the capture filter let through). */
  unclaimed?: number;
  /** The signal that stopped the run, if one did. */
  signal: StopSignal | undefined;
  /** Why the run stopped early other than by a signal (the capture failed), if it did. */
  failure?: string;
  /** What the schedule stages skipped (shards, resumption). */
  schedule?: ScheduleStats;
  /** `--max-unobserved` (default {@link DEFAULT_MAX_UNOBSERVED}). */
  maxUnobserved?: number;
}

/**
 * The parts of a run a caller may replace (all optional; the defaults are `measure`'s): the
 * campaign worker brings its own jobs and result sink, the scheduler its own summary.
 */
export interface RunHooks {
  /** The job source (default: `--input` or stdin through the feeder, counting into `stats`). */
  jobs?: (stats: FeederStats) => JobSource | Promise<JobSource>;
  /** The result sink (default: `--output` or stdout). */
  sink?: () => ResultSink;
  /** Prints the end of the run and gives the exit status (default: {@link summarise}). */
  summary?: (outcome: RunOutcome, say: (line: string) => void) => number;
  /** Extra engine options (a per-result hook belongs there, beside `write`). */
  engine?: Partial<EngineOptions>;
}

/** Runs a measurement; resolves to the process exit status. */
export async function runMeasure(
  o: MeasureOptions,
  makeDeps: () => MeasureDeps | Promise<MeasureDeps>,
  hooks: RunHooks = {},
): Promise<number> {
  const say = (line: string) => console.error(line);
  checkInterfaceUp(o.iface);
  const record = startRecord(o);
  let outcome: RunOutcome;
  try {
    outcome = await measure(o, makeDeps, hooks, say, record);
  } catch (e) {
    const first = firstError(e);
    record?.write(first instanceof UserError ? first.code : EXIT.INTERNAL, {
      error: first instanceof Error ? first.message : String(first),
    });
    throw e;
  }
  const code = (hooks.summary ?? summarise)(outcome, say);
  record?.write(code, { signal: outcome.signal });
  return code;
}

/**
 * The `--metadata` record of the run, written once at once (a path that cannot be written fails
 * the set-up, before anything is measured; a run killed with SIGKILL leaves that first record,
 * whose `exit_status` is null).
 */
function startRecord(o: MeasureOptions): RunRecord | undefined {
  const sched = o.schedule;
  if (sched?.metadata === undefined) return undefined;
  const record = new RunRecord(sched.metadata, {
    plugin: o.plugin,
    args: o.args,
    model: o.plugin.model(o.args),
    workers: o.workers,
    input: o.input,
    output: o.output,
    schedule: sched,
    iface: o.iface,
  });
  try {
    record.write(null);
  } catch (e) {
    throw new UserError(`cannot write ${sched.metadata}: ${osReason(e)}`, EXIT.SETUP);
  }
  return record;
}

/**
 * The run itself. Each resource is released once, by its `using` declaration, in the reverse of
 * the order it was taken: progress, raw sockets, then the settings (first among what can fail),
 * the input, the output, the capture, the helpers' sockets, and the signal handlers last.
 */
async function measure(
  o: MeasureOptions,
  makeDeps: () => MeasureDeps | Promise<MeasureDeps>,
  hooks: RunHooks,
  say: (line: string) => void,
  record?: RunRecord,
): Promise<RunOutcome> {
  // before any setting changes (recovery below restores some)
  using signals = StopSignals.install(say);
  // a second signal exits at once: the record is the last thing written (after the settings)
  using _recordAtExit = signals.lastAction(() => {
    const sig = signals.signal;
    record?.write(sig ? signalExit(sig) : null, { signal: sig });
  });
  const sched = o.schedule ?? defaultSchedule();
  // --verbose: one line per step of the run
  const log = sched.verbose ? (line: string) => say(`pathspider: ${line}`) : () => {};
  const model = o.plugin.model(o.args);
  log(
    `measure ${o.plugin.name} on ${o.iface}: model ${model.kind}, connect ${o.args.connect}, ` +
      `timeout ${o.args.timeout} s, ${o.workers} workers` +
      (sched.rate !== undefined ? `, at most ${sched.rate} jobs/s` : "") +
      (sched.seed !== undefined ? `, seed ${sched.seed}` : "") +
      (sched.shards > 1 ? `, shard ${sched.shard} of ${sched.shards}` : ""),
  );
  using _lock = await prepareSettings(changesSettings(model), {
    wait: o.wait ?? true,
    say,
    netns: currentNetns(),
    cancelled: () => signals.signal && { why: signals.signal, code: signalExit(signals.signal) },
  });
  record?.settingsBefore();
  const deps = await makeDeps();
  using _deps = { [Symbol.dispose]: () => deps.close?.() };

  const merger = new Merger({
    flowTtlMs: 60_000,
    maxUnclaimed: Math.max(MAX_UNCLAIMED, 4 * o.workers),
  });
  const chains = ["basic", ...o.plugin.chains.filter((c) => c !== "basic")];
  const timeouts = observerTimeouts(o.args.timeout);
  const filter = captureFilterFor(o.plugin.model(o.args), o.args.connect);
  const observation = deps.observe(o.iface, chains, (f) => merger.addFlow(f), timeouts, {
    ringMiB: ringMiB(o.workers),
    filter,
    onError: (e) => signals.fail(captureFailure(o.iface, e)),
  });
  await using _observation = {
    [Symbol.asyncDispose]: async () => {
      await observation.stop();
      log(`capture on ${o.iface} closed; ${observation.drops()} kernel drops`);
    },
  };
  log(
    `capture opened on ${o.iface}: chains ${chains.join(" ")}, ring ${ringMiB(o.workers)} MiB, ` +
      `filter ${filter.protocols.join("/")} ports ` +
      `${filter.ports.map(([a, b]) => `${a}-${b}`).join(",")}` +
      (filter.icmpErrors ? " and ICMP errors" : "") +
      `, idle timeout ${timeouts.idle} s, expiry ${timeouts.expiry} s`,
  );

  // --resume: the targets the output already holds (a torn last line cut off first)
  const resumed = sched.resume && o.output !== undefined
    ? await resumeFrom(o.output, say)
    : undefined;
  using out = (hooks.sink ?? (() => openOutput(o.output, resumed !== undefined)))();
  using _flushAtExit = signals.lastAction(() => out.flushSync());
  const feederStats = newFeederStats();
  await using input = await (hooks.jobs ??
    ((stats) => openJobs(o.input, { csv: o.csvInput, stats, exclude: o.exclude })))(feederStats);

  log(`input: ${o.input ?? "standard input"}${o.csvInput ? " (CSV)" : ""}`);
  log(`output: ${o.output ?? "standard output"}`);
  const schedStats: ScheduleStats = { otherShards: 0, resumed: 0 };

  using settings = new RunSettings(SettingsJournal.open(), say, log);
  using _restoreAtExit = signals.lastAction(() => settings.restore());
  settings.preflight(modelSettings(model));
  settings.onFailure = (line) => signals.fail(line);
  // the forge model's raw sockets and firewall table (journalled), or nothing
  using forge = startForge(model, settings.journal);
  // --locate: results pass through the locator, which adds `located` before writing them
  const probePacer = new Pacer(sched.rate ?? DEFAULT_PROBE_RATE);
  await using locating = o.locate &&
    startLocate(
      o.iface,
      o.plugin,
      o.args,
      o.locate,
      (r) => out.write(r),
      () => probePacer.take(),
      o.workers,
    );

  const source = sourceAddresses(o.iface);
  if (record !== undefined) {
    record.host.addresses = (interfaceInfo(o.iface)?.addresses ?? []).map((a) =>
      `${a.address}/${a.prefix}`
    );
    record.host.sip = { v4: source.v4 ?? null, v6: source.v6 ?? null };
  }
  log(`source addresses: IPv4 ${source.v4 ?? "none"}, IPv6 ${source.v6 ?? "none"}`);
  const identity = await findIdentity(source, sched, say);
  if (identity.publicFrom !== null || sched.asnDb.length > 0) {
    log(
      `public addresses (${identity.publicFrom ?? "none asked for"}): ` +
        `IPv4 ${identity.v4.public ?? "unknown"}, IPv6 ${identity.v6.public ?? "unknown"}; ` +
        `AS IPv4 ${identity.v4.asn ?? "unknown"}, IPv6 ${identity.v6.asn ?? "unknown"}`,
    );
  }
  if (record !== undefined) {
    record.host.sip_public = { v4: identity.v4.public ?? null, v6: identity.v6.public ?? null };
    record.host.sip_public_from = identity.publicFrom;
    record.host.sip_asn = { v4: identity.v4.asn ?? null, v6: identity.v6.asn ?? null };
  }
  const engine = new Engine({
    plugin: o.plugin,
    args: o.args,
    workers: o.workers,
    outputFlows: o.outputFlows,
    jobs: scheduledJobs(input.jobs, sched, schedStats, resumed),
    write: locating ? (r) => locating.locator.submit(r) : (r) => out.write(r),
    connect: deps.connect,
    forge: forge?.send,
    apply: (s) => settings.apply(s),
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
    pacer: sched.rate !== undefined ? new Pacer(sched.rate) : undefined,
    identity,
    opensAtCall: deps.opensAtCall?.(o.args.connect) ?? false,
    ...hooks.engine,
  });
  if (record !== undefined) {
    record.counts = () => ({
      jobs: engine.stats.taken,
      results: engine.stats.results,
      skipped: feederStats.malformed + feederStats.duplicates,
      flows: engine.stats.flows,
      unobserved: engine.stats.unobserved,
      kernel_drops: observation.drops(),
      other_shards: schedStats.otherShards,
      resumed: schedStats.resumed,
    });
  }
  signals.inFlight = () => engine.inFlight;
  // after a signal: the connections in flight end within their timeout, their flows within the
  // capture's flush (1 s); 10 s more before the watchdog stops the run as a second signal would
  signals.graceMs = (o.args.timeout + 10) * 1000;
  signals.onStop(() => engine.stop());
  if (locating) {
    signals.onStop(() => {
      probePacer.cancel();
      locating.stop();
    });
  }

  const progress: StatusSource = {
    done: () =>
      engine.stats.measured + skippedLines(feederStats) + schedStats.otherShards +
      schedStats.resumed,
    written: () => engine.stats.results,
    total: () => input.total(),
    failures: () => engine.stats.failedConnections,
    unobserved: () => engine.stats.unobserved,
    drops: () => observation.drops(),
  };
  const terminal = Deno.stderr.isTerminal();
  using _progress = {
    [Symbol.dispose]: startProgress(progress, !o.quiet && terminal),
  };
  // a CI log or a journal gets plain lines instead of a redrawn one
  using _status = {
    [Symbol.dispose]: startStatusLines(
      progress,
      o.quiet || terminal ? 0 : sched.statusInterval,
      say,
    ),
  };

  await engine.run();
  if (locating) {
    await locating.locator.drain();
    say(locating.summary());
  }
  log(
    `engine done: ${engine.stats.taken} jobs taken, ${engine.stats.results} results, ` +
      `${engine.stats.flows} flows (${engine.stats.unobserved} unobserved)`,
  );
  return {
    engine: engine.stats,
    feeder: feederStats,
    schedule: schedStats,
    maxUnobserved: sched.maxUnobserved,
    get drops() {
      return observation.drops();
    },
    get unclaimed() {
      return merger.unclaimed;
    },
    get signal() {
      return signals.signal;
    },
    get failure() {
      return signals.failure;
    },
  };
}

/** One line for a capture that failed mid-run. */
function captureFailure(iface: string, e: Error): string {
  if (e instanceof CaptureError && e.code === Status.INTERFACE_DOWN) {
    return `interface ${iface} went down`;
  }
  return `capture on ${iface} failed: ${e.message}`;
}

/** Whether a run in `model` changes system settings (and so takes the settings lock). */
function changesSettings(model: Model): boolean {
  // forge: its nftables table, and the forge port range it must not share
  return model.kind === "forge" || modelSettings(model).length > 0;
}

/** The sysctls a run in `model` may set. */
function modelSettings(model: Model): Setting[] {
  if (model.kind === "sync") return model.configurations.flat();
  if (model.kind === "desync") return model.settings ?? [];
  return [];
}

/** The summary line of a run; the exit status (128 + the signal's number after a signal). */
export function summarise(r: RunOutcome, say: (line: string) => void): number {
  const s = r.engine, f = r.feeder;
  say(
    `pathspider: ${s.taken} jobs, ${s.results} results, ` +
      `${skippedLines(f)} skipped lines ` +
      `(${f.malformed} malformed, ${f.duplicates} duplicate targets, ` +
      `${f.unprobeable} never probed, ${f.excluded} excluded), ` +
      `${s.unobserved} unobserved flows, ${r.drops} kernel drops` +
      (r.unclaimed !== undefined ? `, ${r.unclaimed} unclaimed flows dropped` : "") +
      (r.schedule?.otherShards ? `, ${r.schedule.otherShards} jobs left to other shards` : "") +
      (r.schedule?.resumed ? `, ${r.schedule.resumed} jobs already in the output` : "") +
      (r.signal ? `; stopped by ${r.signal}` : r.failure ? `; stopped: ${r.failure}` : ""),
  );
  if (r.signal) return signalExit(r.signal);
  if (r.failure) return EXIT.FAILURE;
  const why = distrust(
    { flows: s.flows, unobserved: s.unobserved, drops: r.drops },
    r.maxUnobserved ?? DEFAULT_MAX_UNOBSERVED,
  );
  if (why === null) return EXIT.OK;
  say(`pathspider: measured, but the data cannot be trusted (exit ${EXIT.UNTRUSTED}): ${why}`);
  return EXIT.UNTRUSTED;
}

/** Reads the output to resume; one line says what it holds. */
async function resumeFrom(path: string, say: (line: string) => void): Promise<AddrSet> {
  let r;
  try {
    r = await readResumed(path);
  } catch (e) {
    throw new UserError(`cannot resume ${path}: ${osReason(e)}`, EXIT.SETUP);
  }
  say(
    r.existed
      ? `pathspider: resuming ${path}: ${r.results} results kept` +
        (r.tornBytes > 0 ? `, a torn last line of ${r.tornBytes} bytes dropped` : "") +
        (r.unreadable > 0 ? `, ${r.unreadable} lines that are not results left as they are` : "")
      : `pathspider: resuming ${path}: no such file yet, measuring every job`,
  );
  return r.done;
}

/** `--output` (or stdout) as a result sink; a UserError if it cannot be opened. */
function openOutput(path: string | undefined, append = false): ResultSink {
  try {
    return ResultWriter.open(path, { append });
  } catch (e) {
    throw new UserError(`cannot write ${path}: ${osReason(e)}`, EXIT.SETUP);
  }
}

/**
 * The settings this run changes, through its journal: restored when disposed, and by the last
 * resorts (an uncaught error, an exit from elsewhere) before that.
 */
class RunSettings implements Disposable {
  static readonly #LAST_RESORTS = ["error", "unhandledrejection", "unload"];
  readonly #restore = () => this.restore();

  /** The settings applied so far (`key=value`), each logged once. */
  readonly #logged = new Set<string>();

  constructor(
    readonly journal: SettingsJournal,
    private readonly say: (line: string) => void,
    private readonly log: (line: string) => void = () => {},
  ) {
    for (const ev of RunSettings.#LAST_RESORTS) globalThis.addEventListener(ev, this.#restore);
  }

  /** Told when a setting cannot be changed mid-run (the run then stops). */
  onFailure: ((line: string) => void) | undefined;

  /**
   * Checks before the run that every sysctl of `settings` can be changed here: a one-line
   * UserError (exit 3) otherwise, instead of a failure at the first switch, deep in the engine.
   */
  preflight(settings: readonly Setting[]): void {
    for (const key of new Set(settings.map((s) => s.key))) {
      try {
        this.journal.checkWritable(key);
      } catch (e) {
        const denied = e instanceof Deno.errors.PermissionDenied ||
          e instanceof Deno.errors.NotCapable;
        throw new UserError(
          `cannot change ${key} in this network namespace: ${osReason(e)}` +
            (denied ? " (needs root, or CAP_NET_ADMIN over the namespace)" : ""),
          EXIT.SETUP,
        );
      }
    }
  }

  /**
   * Changes one setting (journalled first). If the system refuses it mid-run, the run is told
   * (`onFailure`: it stops taking jobs) instead of an exception thrown from the engine's timers.
   */
  apply(s: Setting): void {
    try {
      this.journal.set(s.key, s.value);
    } catch (e) {
      const line = `cannot set ${s.key}=${s.value}: ${osReason(e)}`;
      if (this.onFailure === undefined) throw new UserError(line);
      this.onFailure(line);
      return;
    }
    // a sync plugin switches its settings thousands of times a run: each value is logged once
    const kv = `${s.key}=${s.value}`;
    if (!this.#logged.has(kv)) {
      this.#logged.add(kv);
      const old = this.journal.entries.find((e) => e.key === s.key)?.old;
      this.log(`setting ${kv} (was ${old}; later switches between values are not logged)`);
    }
  }

  /** Puts back what was changed; problems are one line each. Idempotent. */
  restore(): void {
    const entries = this.journal.entries.length;
    const problems = this.journal.restore();
    for (const p of problems) this.say(`pathspider: ${p}`);
    if (entries > 0 && problems.length === 0 && this.#logged.size > 0) {
      this.log(
        `settings restored: ${this.journal.entries.map((e) => `${e.key}=${e.old}`).join(", ")}`,
      );
      this.#logged.clear();
    }
  }

  [Symbol.dispose](): void {
    this.restore();
    for (const ev of RunSettings.#LAST_RESORTS) {
      globalThis.removeEventListener(ev, this.#restore);
    }
  }
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

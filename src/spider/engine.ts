/**
 * The measure engine: pulls jobs from the feeder, runs the plugin's connections with `workers`
 * concurrent tasks in the plugin's model, joins every connection with its observed flow, asks
 * the plugin for conditions and hands each job's result to `write` as soon as it is complete.
 *
 * Every job taken gives exactly one result, whatever happens to its connections or flows.
 */
import type { ConnectOptions as HelperConnectOptions, ConnResult } from "../connect/types.ts";
import type { FlowRecord } from "../observer/chain.ts";
import {
  CONN_FAILED,
  CONN_OK,
  CONN_TIMEOUT,
  type ConnectionOptions,
  type ConnectMode,
  type FlowResult,
  type Model,
  type Plugin,
  type PluginArgs,
  type Setting,
} from "../plugins/plugin.ts";
import type { FedJob } from "./feeder.ts";
import type { Job } from "../plugins/plugin.ts";
import type { SourceAddresses } from "../host/iface.ts";
import { canonicalIp } from "../wire/ip.ts";
import { flowKey, Merger, portlessKey } from "./merger.ts";
import { type ConnOutcome, flowResult, jobResult, type SourceFacts } from "./result.ts";

export type { ConnResult } from "../connect/types.ts";

/**
 * Options the engine passes to a connection: the one options type of the helpers
 * (`src/connect/types.ts`) with the source (the interface's address of the job's family) set,
 * and the timeout of the whole connection in seconds.
 */
export type ConnectOptions = HelperConnectOptions & { source: string; timeout: number };

/** Runs one connection in a mode; never rejects for network reasons (states say what happened). */
export type Connector = (mode: ConnectMode, job: Job, opts: ConnectOptions) => Promise<ConnResult>;

/** Applies one system setting (journalled by the caller's implementation). */
export type SettingApplier = (setting: Setting) => void;

/** Default destination port of each mode when the job has no `dp`. */
export const DEFAULT_PORT: Record<ConnectMode, number> = {
  http: 80,
  https: 443,
  tcp: 80,
  dnsudp: 53,
  dnstcp: 53,
};

/** Jobs one worker may start in one phase of the sync model. */
const SYNC_JOBS_PER_WORKER = 20;

/** Counters of a run. */
export interface EngineStats {
  /** Jobs taken from the feeder. */
  taken: number;
  /** Jobs whose connections have all ended (their results may still wait for flows). */
  measured: number;
  /** Results written. */
  results: number;
  /** Flows that were never observed (connections reported as not observed). */
  unobserved: number;
  /** Flows of the results written (observed or not). */
  flows: number;
  /** Jobs whose experiment or baseline connection did not succeed. */
  failedConnections: number;
}

/** Everything the engine needs. */
export interface EngineOptions {
  plugin: Plugin;
  args: PluginArgs;
  workers: number;
  outputFlows: boolean;
  jobs: AsyncIterator<FedJob>;
  write: (result: Record<string, unknown>) => void;
  connect: Connector;
  /** Sends a job's forged packet (forge model only; src/spider/forge.ts). */
  forge?: (job: Job, config: number, source: string) => Promise<ConnResult>;
  apply: SettingApplier;
  source: SourceAddresses;
  merger: Merger;
  /** How long to wait for a connection's flow after the connection ended (ms). */
  flowWaitMs: number;
  /** Extra time beyond the plugin's timeout before the engine gives up on a helper (ms). */
  connectGraceMs?: number;
  /**
   * Called once every connection has ended while results still wait for their flows (e.g. to
   * flush the observer instead of waiting out its expiry timers).
   */
  connectionsDone?: () => Promise<void>;
  /** The public address and AS of each family's source (`--public-ip`, `--stun`, `--asn-db`). */
  identity?: { v4: SourceFacts; v6: SourceFacts };
  /** Paces job starts (`--rate`); absent: start as fast as workers free up. */
  pacer?: { take(): Promise<void>; cancel(): void };
  /** Whether flows are observed at all (false: every flow is reported unobserved at once). */
  observing: boolean;
  /**
   * The connector has opened the connection (its first SYN is built) when its call returns,
   * before the promise settles: sync plugins whose settings count only at that moment
   * (`openOnly`) then switch configurations between connection starts.
   */
  opensAtCall?: boolean;
}

/** Wall-clock time in epoch seconds (the clock of capture timestamps). */
function epochSec(): number {
  return (performance.timeOrigin + performance.now()) / 1000;
}

/** A job taken from the feeder, with what the engine derives from it once. */
interface Taken {
  job: Job;
  /** The target address in canonical text (the merger's keys). */
  dip: string;
  dp: number;
  /** The interface's address of the target's family (undefined: it has none). */
  source: string | undefined;
}

/** A connection in flight: the engine gives up on it at `deadline` if its helper has not. */
interface Guard {
  deadline: number;
  source: string;
  resolve: (conn: ConnResult) => void;
}

/**
 * A job whose connections have all ended, waiting for their flows. The one object a job keeps
 * while it waits (no promise chain): a long run holds thousands of them.
 */
class WaitingJob {
  readonly flows: (FlowRecord | null)[];
  left: number;
  constructor(readonly t: Taken, readonly outcomes: ConnOutcome[]) {
    this.flows = new Array(outcomes.length).fill(null);
    // one more than the flows: `#finish` holds the job until it has asked for every flow, so
    // that flows handed over at once (already in the merger) cannot complete it twice
    this.left = outcomes.length + 1;
  }
}

/** A running measurement. `run()` once; `stop()` to stop taking jobs (SIGINT). */
export class Engine {
  readonly stats: EngineStats = {
    taken: 0,
    measured: 0,
    results: 0,
    unobserved: 0,
    flows: 0,
    failedConnections: 0,
  };
  #stopping = false;
  #fatal: Error | undefined;
  /**
   * Workers waiting for input; stop() releases them, so that a quiet stdin cannot hold the run.
   * (Not a race against one shared "stopped" promise: that would keep a reaction per job.)
   */
  #waiting = new Set<(r: IteratorResult<FedJob> | null) => void>();
  /** Jobs whose connections have ended and whose results are not written yet. */
  #waitingJobs = 0;
  /** Called when `#waitingJobs` drops to 0 (set while `run` waits for the last results). */
  #drained: (() => void) | null = null;
  #model: Model;
  #mode: ConnectMode;
  #proto: number;
  #timeout: number;
  #ticker: ReturnType<typeof setInterval> | undefined;
  /** Connections in flight (their helpers' promises not settled). */
  #guards = new Set<Guard>();

  constructor(private readonly o: EngineOptions) {
    this.#model = o.plugin.model(o.args);
    this.#mode = o.args.connect;
    const m = this.#model;
    if (m.kind === "forge") this.#proto = m.proto === "udp" ? 17 : 6;
    else this.#proto = this.#mode === "dnsudp" ? 17 : 6;
    this.#timeout = o.args.timeout;
  }

  /** Stop taking new jobs; jobs in flight still finish and are written. */
  stop(): void {
    this.#stopping = true;
    this.o.pacer?.cancel();
    for (const w of this.#waiting) w(null);
    this.#waiting.clear();
  }

  /** True once `stop()` was called. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /** Jobs taken whose result is not written yet. */
  get inFlight(): number {
    return this.stats.taken - this.stats.results;
  }

  /** Runs until the feeder is exhausted (or `stop()`), and every result is written. */
  async run(): Promise<EngineStats> {
    this.#ticker = setInterval(() => {
      this.o.merger.tick();
      this.#checkGuards();
    }, 100);
    try {
      const m = this.#model;
      if (m.kind === "sync" && m.openOnly && this.o.opensAtCall) {
        const gate = new ConfigGate(m.configurations, (c) => this.#configure(c));
        await Promise.all(
          Array.from({ length: this.o.workers }, () => this.#gatedWorker(gate, m.configurations)),
        );
      } else if (m.kind === "sync") await this.#runSync(m.configurations);
      else {
        if (m.kind === "desync" && m.settings) this.#configure(m.settings);
        const conns = m.kind === "desync"
          ? m.connections
          : m.kind === "forge"
          ? Array.from({ length: m.packets }, () => ({}))
          : [{}];
        const concurrent = m.kind === "desync" && m.concurrent === true;
        const workers = Array.from(
          { length: this.o.workers },
          () => this.#desyncWorker(conns, concurrent),
        );
        await Promise.all(workers);
      }
      // no connection is left: the observer may hand over the flows it still holds
      if (this.#waitingJobs > 0) await this.o.connectionsDone?.();
      while (this.#waitingJobs > 0) {
        await new Promise<void>((resolve) => this.#drained = resolve);
      }
    } finally {
      clearInterval(this.#ticker);
    }
    if (this.#fatal) throw this.#fatal;
    return this.stats;
  }

  async #next(): Promise<Taken | null> {
    if (this.#stopping) return null;
    const r = await new Promise<IteratorResult<FedJob> | null>((resolve, reject) => {
      this.#waiting.add(resolve);
      this.o.jobs.next().then((v) => {
        if (this.#waiting.delete(resolve)) resolve(v);
      }, (e) => {
        if (this.#waiting.delete(resolve)) reject(e);
      });
    });
    if (r === null || r.done) return null;
    // a job starts when it is taken, with a permit (a job's connections count as one); asked
    // for once a job is in hand, so that idle workers at the end of the input wait for none
    if (this.o.pacer !== undefined && !this.#stopping) await this.o.pacer.take();
    // a job read after stop() is dropped before it was taken: it gives no result
    if (this.#stopping) return null;
    this.stats.taken++;
    const job = r.value.job;
    if (job.dp === undefined) job.dp = DEFAULT_PORT[this.#mode];
    const dip = canonicalIp(job.dip);
    return {
      job,
      dip,
      dp: Number(job.dp),
      source: dip.includes(":") ? this.o.source.v6 : this.o.source.v4,
    };
  }

  /**
   * Desync and single: each worker runs its job's connections in turn (or all at once when they
   * are `concurrent`), on its own.
   */
  async #desyncWorker(conns: ConnectionOptions[], concurrent: boolean): Promise<void> {
    while (true) {
      const t = await this.#next();
      if (t === null) return;
      let outcomes: ConnOutcome[] = [];
      if (concurrent) {
        outcomes = await Promise.all(conns.map((opts, c) => this.#connect(t, c, opts)));
      } else {
        for (const [c, opts] of conns.entries()) outcomes.push(await this.#connect(t, c, opts));
      }
      this.#finish(t, outcomes);
    }
  }

  /**
   * Sync with `openOnly` settings: each connection waits until the gate has its configuration in
   * force, opens at once (the connector's call builds the SYN), and the gate may switch as soon
   * as the current batch of starts is through; a job's connections then run side by side.
   */
  async #gatedWorker(gate: ConfigGate, configs: Setting[][]): Promise<void> {
    while (true) {
      const t = await this.#next();
      if (t === null) return;
      const running: Promise<ConnOutcome>[] = [];
      for (let c = 0; c < configs.length; c++) {
        await gate.acquire(c);
        // synchronous up to the connector's call: the SYN leaves under configuration c
        running.push(this.#connect(t, c, {}));
      }
      this.#finish(t, await Promise.all(running));
    }
  }

  /**
   * Sync: phases. The configurator applies configuration 0; for one connection timeout every
   * worker keeps taking jobs and running their connection (a fast path does not idle while a
   * silent one times out); then, once every connection of the phase has ended, the configurator
   * applies configuration 1 and the same jobs run again, `workers` at a time; and so on. Every
   * connection still runs entirely under its own configuration, as in the original, whose
   * workers took one job per round and so waited at each barrier for the slowest connection.
   */
  async #runSync(configs: Setting[][]): Promise<void> {
    const phaseMs = this.#timeout * 1000;
    // bounds the jobs of one phase (memory, and the gap between a job's A and B connections)
    const maxBatch = this.o.workers * SYNC_JOBS_PER_WORKER;
    let exhausted = false;
    while (!this.#stopping && !exhausted) {
      this.#configure(configs[0]!);
      const batch: { t: Taken; outcomes: ConnOutcome[] }[] = [];
      const start = performance.now();
      await Promise.all(Array.from({ length: this.o.workers }, async () => {
        // every worker takes at least one job per phase, more while the phase is young
        for (let first = true; !exhausted; first = false) {
          if (!first && (performance.now() - start >= phaseMs || batch.length >= maxBatch)) return;
          const t = await this.#next();
          if (t === null) {
            exhausted = true;
            return;
          }
          const item = { t, outcomes: [] as ConnOutcome[] };
          batch.push(item);
          item.outcomes.push(await this.#connect(t, 0, {}));
        }
      }));
      for (let c = 1; c < configs.length && batch.length > 0; c++) {
        this.#configure(configs[c]!);
        let next = 0;
        await Promise.all(
          Array.from({ length: Math.min(this.o.workers, batch.length) }, async () => {
            while (next < batch.length) {
              const item = batch[next++]!;
              item.outcomes.push(await this.#connect(item.t, c, {}));
            }
          }),
        );
      }
      for (const item of batch) this.#finish(item.t, item.outcomes);
    }
  }

  #configure(settings: Setting[]): void {
    for (const s of settings) this.o.apply(s);
  }

  async #connect(t: Taken, config: number, opts: ConnectionOptions): Promise<ConnOutcome> {
    const t0 = epochSec();
    const source = t.source;
    let conn: ConnResult;
    if (source === undefined) {
      // the original fails such a job the same way (no address of that family to bind)
      conn = { sp: 0, spdr_state: CONN_FAILED };
    } else {
      let helper: Promise<ConnResult>;
      try {
        helper = this.#model.kind === "forge"
          ? this.#forge(t.job, config, source)
          : this.o.connect(this.#mode, t.job, { ...opts, source, timeout: this.#timeout });
      } catch (e) {
        // a helper that throws before it returns a promise fails its connection, not the run
        helper = Promise.reject(e);
      }
      conn = await this.#guarded(helper, source);
    }
    return { conn, config, from: t0, to: epochSec() };
  }

  /**
   * The helper's result, or a timeout once it overruns its own timeout by the grace: this bound
   * keeps one stuck helper from holding a round. Checked by the ticker, not a timer per
   * connection (a long run starts thousands a second).
   */
  #guarded(helper: Promise<ConnResult>, source: string): Promise<ConnResult> {
    return new Promise<ConnResult>((resolve) => {
      const limit = this.#timeout * 1000 + (this.o.connectGraceMs ?? 2000);
      const g: Guard = { deadline: performance.now() + limit, source, resolve };
      this.#guards.add(g);
      helper.then((conn) => {
        if (this.#guards.delete(g)) resolve(conn);
      }, (e) => {
        if (!this.#guards.delete(g)) return;
        resolve({ sip: source, sp: 0, spdr_state: CONN_FAILED, spdr_error: (e as Error).message });
      });
    });
  }

  /** Gives up on the connections whose helpers overran (see `#guarded`). */
  #checkGuards(): void {
    const now = performance.now();
    // every guard has the same limit, so the set's insertion order is deadline order
    for (const g of this.#guards) {
      if (g.deadline > now) break;
      this.#guards.delete(g);
      g.resolve({ sip: g.source, sp: 0, spdr_state: CONN_TIMEOUT });
    }
  }

  #forge(job: Job, config: number, source: string): Promise<ConnResult> {
    if (this.o.forge === undefined) throw new Error("the forge model needs a raw sender");
    return this.o.forge(job, config, source);
  }

  /** Hands a job to the merger; its result is written when its flows are in (or overdue). */
  #finish(t: Taken, outcomes: ConnOutcome[]): void {
    this.stats.measured++;
    this.#waitingJobs++;
    const w = new WaitingJob(t, outcomes);
    const sip = t.source ?? null;
    const deadline = performance.now() + this.o.flowWaitMs;
    for (const [i, o] of outcomes.entries()) {
      const sp = Number(o.conn.sp);
      // a helper that reports no local address (a failed TLS connect) used the job's source
      const local = typeof o.conn.sip === "string" && o.conn.sip !== "" ? o.conn.sip : sip;
      // a successful helper that cannot tell its port has no flow to find
      if (!this.o.observing || local === null || (sp === 0 && o.conn.spdr_state === CONN_OK)) {
        w.left--;
        continue;
      }
      const done = (flow: FlowRecord | null) => {
        w.flows[i] = flow;
        if (--w.left === 0) this.#complete(w);
      };
      // the merger's keys hold canonical text (the job's address is, since `#next`)
      const src = canonicalIp(local);
      if (sp === 0) {
        // a helper that cannot tell the port of a failed connection: its flow is the one to
        // this target that began while it ran (one job per target, connections in turn)
        const pk = portlessKey(this.#proto, src, t.dip, t.dp);
        this.o.merger.waitForPortless(pk, o.from, o.to, deadline, done);
      } else {
        this.o.merger.waitFor(flowKey(this.#proto, src, sp, t.dip, t.dp), deadline, done);
      }
    }
    if (--w.left === 0) this.#complete(w);
  }

  /** Writes the result of a job whose flows are all in (or given up on). */
  #complete(w: WaitingJob): void {
    try {
      this.#writeResult(w);
    } catch (e) {
      // the output failed (plugin errors are caught below): nothing more can be written
      this.#fatal ??= e as Error;
      this.stop();
    }
    if (--this.#waitingJobs === 0 && this.#drained !== null) {
      const drained = this.#drained;
      this.#drained = null;
      drained();
    }
  }

  #writeResult(w: WaitingJob): void {
    const { outcomes, flows } = w;
    const job = w.t.job;
    const jobId = crypto.randomUUID().replaceAll("-", "");
    const sip = w.t.source ?? null;
    const records: FlowResult[] = outcomes.map((o, i) =>
      flowResult(flows[i] ?? null, o, job.dip, jobId)
    );
    records.sort((a, b) => a.config - b.config);
    let conditions: string[] | null = null;
    try {
      conditions = this.o.plugin.combineFlows(records, this.o.args);
    } catch (e) {
      console.error(
        `pathspider: plugin ${this.o.plugin.name} failed on ${job.dip}: ${(e as Error).message}`,
      );
    }
    this.stats.unobserved += records.filter((r) => !r.observed).length;
    this.stats.flows += records.length;
    if (records.some((r) => r.spdr_state !== 0)) this.stats.failedConnections++;
    const facts = this.o.identity?.[w.t.dip.includes(":") ? "v6" : "v4"];
    this.o.write(jobResult(job, sip as string, records, conditions, this.o.outputFlows, facts));
    this.stats.results++;
  }
}

/**
 * Hands out system configurations one at a time. `acquire(c)` resolves once configuration `c`
 * is in force; the caller must open its connection in the same turn (before its next await). A
 * switch happens only in a later macrotask, after every connection started under the current
 * configuration has made its `connect()` call, and serves the configurations that are waited for
 * in turn, so none starves.
 */
export class ConfigGate {
  #current = -1;
  #waiters: (() => void)[][];
  #scheduled = false;

  constructor(
    private readonly configs: Setting[][],
    private readonly apply: (settings: Setting[]) => void,
  ) {
    this.#waiters = configs.map(() => []);
  }

  /** Resolves when configuration `c` is in force (open the connection right away). */
  acquire(c: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#waiters[c]!.push(resolve);
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // a macrotask: the connections released by the previous switch all opened before it
    setImmediate(() => this.#switch());
  }

  #switch(): void {
    this.#scheduled = false;
    const n = this.#waiters.length;
    // the next configuration after the current one that somebody waits for
    for (let k = 1; k <= n; k++) {
      const c = (this.#current + k + n) % n;
      if (this.#waiters[c]!.length === 0) continue;
      if (c !== this.#current) {
        this.apply(this.configs[c]!);
        this.#current = c;
      }
      const ready = this.#waiters[c]!;
      this.#waiters[c] = [];
      for (const r of ready) r();
      if (this.#waiters.some((w) => w.length > 0)) this.#schedule();
      return;
    }
  }
}

/**
 * A campaign's state in JetStream: creating its streams and definition, adding jobs, the status
 * per vantage point and collecting the results. The worker's side is in worker.ts.
 *
 * Deduplication is by the streams' per-subject limit (`max_msgs_per_subject: 1` with
 * `discard_new_per_subject`): a job's subject carries its id, a result's its vantage point and job
 * id, so the server refuses a second message for the same job or the same (vantage, job) however
 * much later it comes. A `Nats-Msg-Id` (JetStream's duplicate window, 2 minutes) is set too: a
 * publish retried after a lost acknowledgement then gets an ordinary "duplicate" answer. A long
 * duplicate window alone would dedupe only within the window and keep every id in the server's
 * memory for that long.
 *
 * @module
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { EXIT, UserError } from "../errors.ts";
import { type CampaignNames, campaignNames, jobId } from "./names.ts";
import type { FedJob } from "../spider/feeder.ts";

/** What fixes a campaign: every vantage point runs the same measurement. */
export interface CampaignDef {
  campaign: string;
  plugin: string;
  /** The plugin's option words as given to `create` (each worker parses them again). */
  args: string[];
  /** The options as parsed, for people and the metadata. */
  options: Record<string, unknown>;
  /** How long a job delivered to a worker may stay unacknowledged before it is redelivered. */
  ackWaitSec: number;
  /** When it was created (ISO 8601, UTC). */
  created: string;
  /** The tool and version that created it. */
  tool: string;
}

/** JetStream's error code for "maximum messages per subject exceeded": already stored. */
export const PER_SUBJECT_LIMIT = 10077;
const STREAM_NOT_FOUND = 10059;

/** The API error code of `e`, if it is a JetStream API error. */
export function apiCode(e: unknown): number | undefined {
  const c = (e as { code?: unknown })?.code;
  return typeof c === "number" ? c : undefined;
}

/** Counts of one `add`. */
export interface AddStats {
  /** Jobs new to the campaign. */
  added: number;
  /** Jobs the campaign already had. */
  known: number;
}

/** One vantage point's progress. */
export interface VantageStatus {
  vantage: string;
  /** Jobs acknowledged (their result stored). */
  done: number;
  /** Jobs delivered to a worker and not acknowledged yet. */
  inFlight: number;
  /** Jobs not delivered yet. */
  left: number;
  /** Jobs delivered again (a worker died or gave them back) and not acknowledged yet. */
  redelivered: number;
  /** Results stored over the last minute, per second. */
  rate: number;
  /** The last delivery or acknowledgement (undefined: none yet). */
  lastSeen?: Date;
  /** Pull requests waiting (about how many workers are idle now). */
  waiting: number;
}

/** The whole campaign's progress. */
export interface CampaignStatus {
  def: CampaignDef;
  jobs: number;
  results: number;
  vantages: VantageStatus[];
}

/** A consumer's `last_active`: the server sends a time text (typed as nanoseconds). */
function epochMs(t: unknown): number {
  if (typeof t === "string") return Date.parse(t);
  return typeof t === "number" ? t / 1e6 : NaN;
}

/** Seconds over which `status` measures the rate. */
const RATE_WINDOW_SEC = 60;
/** Publishes in flight while adding jobs or collecting. */
const PIPELINE = 512;

/** One campaign on one server. */
export class Campaign {
  readonly names: CampaignNames;
  readonly js: JetStreamClient;

  private constructor(
    readonly nc: NatsConnection,
    readonly jsm: JetStreamManager,
    name: string,
  ) {
    this.names = campaignNames(name);
    this.js = jetstream(nc);
  }

  /** A handle on campaign `name` (nothing is checked or created yet). */
  static async open(nc: NatsConnection, name: string): Promise<Campaign> {
    let jsm: JetStreamManager;
    try {
      jsm = await jetstreamManager(nc);
    } catch (e) {
      throw new UserError(
        `the NATS server has no JetStream (start nats-server with -js): ${(e as Error).message}`,
        EXIT.SETUP,
      );
    }
    return new Campaign(nc, jsm, name);
  }

  #streamConfig(name: string, subjects: string[]): Partial<StreamConfig> & { name: string } {
    return {
      name,
      subjects,
      storage: StorageType.File,
      max_msgs_per_subject: 1,
      discard: DiscardPolicy.New,
      discard_new_per_subject: true,
    };
  }

  /**
   * Creates the streams and stores the definition. Creating a campaign again with the same
   * plugin and options is a no-op; with others it fails (the jobs of a campaign are measured one
   * way everywhere). Resolves with the definition in force.
   */
  async create(def: CampaignDef): Promise<{ def: CampaignDef; existed: boolean }> {
    const n = this.names;
    try {
      await this.jsm.streams.add(this.#streamConfig(n.jobsStream, [n.jobsFilter, n.defSubject]));
      await this.jsm.streams.add(this.#streamConfig(n.resultsStream, [n.resultsFilter]));
    } catch (e) {
      throw new UserError(`cannot create the streams of ${n.name}: ${(e as Error).message}`);
    }
    try {
      const ack = await this.js.publish(n.defSubject, JSON.stringify(def), {
        msgID: `${n.name}.def`,
      });
      if (!ack.duplicate) return { def, existed: false };
    } catch (e) {
      if (apiCode(e) !== PER_SUBJECT_LIMIT) throw e;
    }
    const old = await this.definition();
    if (old.plugin !== def.plugin || JSON.stringify(old.args) !== JSON.stringify(def.args)) {
      throw new UserError(
        `campaign ${n.name} exists with another measurement: ${old.plugin} ${old.args.join(" ")}`,
      );
    }
    return { def: old, existed: true };
  }

  /** The stored definition; a UserError when the campaign does not exist. */
  async definition(): Promise<CampaignDef> {
    const n = this.names;
    let m;
    try {
      m = await this.jsm.streams.getMessage(n.jobsStream, { last_by_subj: n.defSubject });
    } catch (e) {
      if (apiCode(e) !== STREAM_NOT_FOUND) throw e;
      m = null;
    }
    if (m === null) {
      throw new UserError(`no campaign ${n.name} on this server (campaign create first)`);
    }
    return m.json<CampaignDef>();
  }

  /** Number of jobs in the campaign. */
  async jobCount(): Promise<number> {
    const si = await this.jsm.streams.info(this.names.jobsStream);
    // every message but the definition is a job
    return Math.max(0, si.state.messages - 1);
  }

  /** Publishes jobs; a job the campaign has already is counted, not added again. */
  async add(jobs: AsyncIterable<FedJob>): Promise<AddStats> {
    const stats: AddStats = { added: 0, known: 0 };
    const pending = new Set<Promise<void>>();
    for await (const { job } of jobs) {
      const id = jobId(job);
      const p = this.js.publish(this.names.jobSubject(id), JSON.stringify(job), { msgID: id })
        .then((ack) => {
          if (ack.duplicate) stats.known++;
          else stats.added++;
        }, (e) => {
          if (apiCode(e) !== PER_SUBJECT_LIMIT) throw e;
          stats.known++;
        });
      pending.add(p);
      p.finally(() => pending.delete(p)).catch(() => {});
      if (pending.size >= PIPELINE) await Promise.race(pending);
    }
    await Promise.all(pending);
    return stats;
  }

  /** Progress per vantage point (one durable consumer each). */
  async status(): Promise<CampaignStatus> {
    const def = await this.definition();
    const n = this.names;
    const jobs = await this.jobCount();
    const results = (await this.jsm.streams.info(n.resultsStream)).state.messages;
    const vantages: VantageStatus[] = [];
    for await (const ci of this.jsm.consumers.list(n.jobsStream)) {
      const seen = [ci.delivered.last_active, ci.ack_floor.last_active].map(epochMs)
        .filter((t) => !Number.isNaN(t));
      const left = ci.num_pending;
      const inFlight = ci.num_ack_pending;
      vantages.push({
        vantage: ci.name,
        done: Math.max(0, jobs - left - inFlight),
        inFlight,
        left,
        redelivered: ci.num_redelivered,
        rate: await this.#recentResults(ci.name) / RATE_WINDOW_SEC,
        lastSeen: seen.length > 0 ? new Date(Math.max(...seen)) : undefined,
        waiting: ci.num_waiting,
      });
    }
    vantages.sort((a, b) => a.vantage < b.vantage ? -1 : 1);
    return { def, jobs, results, vantages };
  }

  /**
   * Results of `vantage` stored in the last minute: the pending count of a throw-away consumer
   * starting a minute ago (the server counts; nothing is read).
   */
  async #recentResults(vantage: string): Promise<number> {
    const n = this.names;
    const ci = await this.jsm.consumers.add(n.resultsStream, {
      filter_subject: n.vantageResults(vantage),
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(Date.now() - RATE_WINDOW_SEC * 1000).toISOString(),
      ack_policy: AckPolicy.None,
      inactive_threshold: 10e9,
    });
    await this.jsm.consumers.delete(n.resultsStream, ci.name).catch(() => {});
    return ci.num_pending;
  }

  /**
   * Hands every stored result to `write`, in the order stored (one per vantage point and job: the
   * stream holds no more). Resolves with the count per vantage point.
   */
  async collect(write: (data: Uint8Array) => void): Promise<Map<string, number>> {
    const n = this.names;
    await this.definition();
    const perVantage = new Map<string, number>();
    const total = (await this.jsm.streams.info(n.resultsStream)).state.messages;
    if (total === 0) return perVantage;
    // the stream holds nothing but results (filter_subjects needs a 2.10 server)
    const c = await this.js.consumers.get(n.resultsStream);
    const msgs = await c.consume({ max_messages: PIPELINE });
    for await (const m of msgs) {
      write(m.data);
      // psc.<name>.results.<vantage>.<jobid>
      const parts = m.subject.split(".");
      const v = parts[parts.length - 2]!;
      perVantage.set(v, (perVantage.get(v) ?? 0) + 1);
      if (m.info.pending === 0) break;
    }
    await msgs.close();
    return perVantage;
  }

  /** Whether the result of job `id` at `vantage` is stored. */
  async hasResult(vantage: string, id: string): Promise<boolean> {
    const m = await this.jsm.streams.getMessage(this.names.resultsStream, {
      last_by_subj: this.names.resultSubject(vantage, id),
    });
    return m !== null;
  }
}

/**
 * A campaign worker's two ends: the jobs of its vantage point (pulled from the vantage point's
 * durable consumer, shared by every worker of that vantage point) as the engine's job source, and
 * the results (published to the results stream, each job acknowledged once its result is stored)
 * as the engine's result sink.
 *
 * A job is acknowledged only after the server confirmed its result: a worker that dies leaves
 * every job it held unacknowledged, and the server delivers them again after the consumer's ack
 * wait. Jobs held longer than a third of the ack wait (a slow phase, `--rate`) are reported as in
 * progress, so a live worker never loses a job to that timer. A redelivered job whose result is
 * already stored (the first worker died between storing and acknowledging) is acknowledged
 * without measuring it again; a result stored twice is refused by the stream anyway.
 *
 * @module
 */
import { AckPolicy, DeliverPolicy, type JsMsg } from "@nats-io/jetstream";
import type { ConsumerMessages } from "@nats-io/jetstream";
import type { FedJob } from "../spider/feeder.ts";
import { apiCode, type Campaign, type CampaignDef, PER_SUBJECT_LIMIT } from "./store.ts";
import { idOfSubject } from "./names.ts";

/** Jobs one vantage point may hold unacknowledged at once, all its workers together. */
const MAX_ACK_PENDING = 100_000;

/** Options of a worker. */
export interface WorkerOptions {
  vantage: string;
  /** Jobs to keep pulled ahead of the engine (about the engine's concurrency). */
  buffer: number;
  /**
   * End the jobs once the vantage point has none left (none pending, none in flight), after it
   * has had at least one.
   */
  untilDone: boolean;
  /** Seconds between the checks for "nothing left" while no job comes. */
  idleCheckSec?: number;
  say: (line: string) => void;
}

/** Counters of a worker. */
export interface WorkerStats {
  /** Jobs handed to the engine. */
  taken: number;
  /** Results stored (and their jobs acknowledged). */
  stored: number;
  /** Results the stream already had (a redelivered job measured twice). */
  alreadyStored: number;
  /** Redelivered jobs skipped because their result was already stored. */
  skipped: number;
  /** Jobs whose message was not a JSON object (terminated, never redelivered). */
  malformed: number;
}

/** Creates (or checks) the durable consumer of a vantage point; idempotent. */
export async function ensureVantage(c: Campaign, def: CampaignDef, vantage: string): Promise<void> {
  await c.jsm.consumers.add(c.names.jobsStream, {
    durable_name: vantage,
    filter_subject: c.names.jobsFilter,
    ack_policy: AckPolicy.Explicit,
    ack_wait: def.ackWaitSec * 1e9,
    deliver_policy: DeliverPolicy.All,
    max_deliver: -1,
    max_ack_pending: MAX_ACK_PENDING,
  });
}

/** One worker of one vantage point. */
export class CampaignWorker {
  readonly stats: WorkerStats = { taken: 0, stored: 0, alreadyStored: 0, skipped: 0, malformed: 0 };
  /** Deliveries of the jobs the engine holds, by job id (a redelivery joins its job's list). */
  #held = new Map<string, JsMsg[]>();
  #publishing = new Set<Promise<void>>();
  #messages: ConsumerMessages | undefined;
  #closed = false;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #idle: ReturnType<typeof setInterval> | undefined;
  #lastMessage = 0;

  constructor(
    readonly campaign: Campaign,
    readonly def: CampaignDef,
    readonly o: WorkerOptions,
  ) {}

  /** Jobs held by this worker (taken, result not stored yet). */
  get held(): number {
    return this.#held.size;
  }

  /** The jobs of the vantage point, as the engine asks for them. */
  async *jobs(): AsyncGenerator<FedJob> {
    const c = this.campaign;
    const consumer = await c.js.consumers.get(c.names.jobsStream, this.o.vantage);
    const msgs = await consumer.consume({ max_messages: Math.max(1, this.o.buffer) });
    this.#messages = msgs;
    // in-progress reports for held jobs: a third of the ack wait leaves two chances to spare
    this.#heartbeat = setInterval(() => {
      for (const ds of this.#held.values()) for (const m of ds) m.working();
    }, this.def.ackWaitSec * 1000 / 3);
    if (this.o.untilDone) {
      const every = (this.o.idleCheckSec ?? 0.25) * 1000;
      this.#lastMessage = performance.now();
      this.#idle = setInterval(() => this.#checkDone(every), every);
    }
    let line = 0;
    try {
      for await (const m of msgs) {
        this.#lastMessage = performance.now();
        const id = idOfSubject(m.subject);
        const same = this.#held.get(id);
        if (same !== undefined) {
          // the ack wait ran out while we measure it: acknowledge both when the result is in
          same.push(m);
          continue;
        }
        if (m.info.redelivered && await this.#resultStored(id)) {
          m.ack();
          this.stats.skipped++;
          continue;
        }
        let job: Record<string, unknown>;
        try {
          job = m.json<Record<string, unknown>>();
          if (job === null || typeof job !== "object" || Array.isArray(job)) throw new Error();
        } catch {
          this.o.say(`pathspider: warning: job ${id} is not a JSON object; dropped`);
          m.term("not a JSON object");
          this.stats.malformed++;
          continue;
        }
        job.job_id = id;
        this.#held.set(id, [m]);
        this.stats.taken++;
        yield { job: job as FedJob["job"], line: ++line };
      }
    } finally {
      this.#stopTimers();
    }
  }

  /** Whether the result of job `id` is stored already; on doubt (server gone), false. */
  async #resultStored(id: string): Promise<boolean> {
    try {
      return await this.campaign.hasResult(this.o.vantage, id);
    } catch {
      return false;
    }
  }

  /**
   * Ends the jobs when the vantage point has nothing left anywhere (`--until-done`): nothing
   * pending, nothing delivered and unacknowledged but what this worker measures (a dead worker's
   * jobs come back), and at least one job delivered ever (a worker started before the first
   * `add` waits).
   */
  async #checkDone(everyMs: number): Promise<void> {
    if (this.#closed) return;
    if (performance.now() - this.#lastMessage < everyMs) return;
    try {
      const ci = await this.campaign.jsm.consumers.info(
        this.campaign.names.jobsStream,
        this.o.vantage,
      );
      // a vantage point that never had a job waits for the first ones (started before `add`)
      const never = ci.delivered.consumer_seq === 0;
      // every job in flight is one this worker measures: no other can come back from a dead
      // worker, so the engine may finish what it holds (it then flushes the capture at once
      // instead of waiting out the flows' expiry timers)
      const onlyOurs = ci.num_ack_pending <= this.#held.size;
      if (!never && ci.num_pending === 0 && onlyOurs) {
        this.o.say(`pathspider: vantage point ${this.o.vantage} has no jobs left`);
        this.#closed = true;
        this.#messages?.stop();
      }
    } catch { /* the server is away: ask again later */ }
  }

  /** The result sink: stores a result, then acknowledges its job. */
  write(result: Record<string, unknown>): void {
    const id = String(result.job_id);
    result.vantage = this.o.vantage;
    const p = this.#store(id, JSON.stringify(result)).then(() => {
      for (const m of this.#held.get(id) ?? []) m.ack();
      this.#held.delete(id);
    });
    this.#publishing.add(p);
    p.finally(() => this.#publishing.delete(p));
  }

  /** Publishes until the server confirms (or refuses it as a result it already has). */
  async #store(id: string, data: string): Promise<void> {
    const c = this.campaign;
    const subject = c.names.resultSubject(this.o.vantage, id);
    let told = false;
    for (let wait = 250;; wait = Math.min(wait * 2, 5000)) {
      try {
        const ack = await c.js.publish(subject, data, { msgID: `${this.o.vantage}.${id}` });
        if (ack.duplicate) this.stats.alreadyStored++;
        else this.stats.stored++;
        return;
      } catch (e) {
        if (apiCode(e) === PER_SUBJECT_LIMIT) {
          this.stats.alreadyStored++;
          return;
        }
        if (c.nc.isClosed()) throw e;
        if (!told) {
          this.o.say(`pathspider: cannot store a result yet (${(e as Error).message}); retrying`);
          told = true;
        }
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /**
   * Waits for every result in flight to be stored, then gives the jobs taken but never measured
   * (the engine stopped) back to the vantage point at once instead of after the ack wait.
   */
  async drain(): Promise<void> {
    this.#closed = true;
    this.#stopTimers();
    while (this.#publishing.size > 0) await Promise.allSettled([...this.#publishing]);
    for (const ds of this.#held.values()) for (const m of ds) m.nak();
    this.#held.clear();
    this.#messages?.stop();
    // the naks leave with the next flush
    await this.campaign.nc.flush().catch(() => {});
  }

  #stopTimers(): void {
    clearInterval(this.#heartbeat);
    clearInterval(this.#idle);
  }
}

/**
 * The merger: joins each connection with the flow the observer saw for it.
 *
 * The key is the full 5-tuple (proto, sip, sp, dip, dp) in canonical address text. The original
 * keys by (dip, sp) only, and its failed connections report `sp: 0`, so they never meet a flow;
 * here a failed connection that got a local port still finds its flow.
 *
 * Flows and connections may arrive in either order: a flow waiting for its connection is kept
 * for `flowTtlMs` (unrelated traffic on the interface is dropped that way); a connection waiting
 * for its flow waits until its deadline, then resolves with null (not observed). Nothing here
 * ever drops a connection.
 */
import type { FlowRecord } from "../observer/chain.ts";
import { canonicalIp } from "../wire/ip.ts";

/**
 * The 5-tuple of a flow or connection, as a map key. The addresses must be in canonical text
 * (`canonicalIp`): the engine has them so once per job; the merger brings the observer's there.
 */
export function flowKey(
  proto: number,
  sip: string,
  sp: number,
  dip: string,
  dp: number,
): string {
  return `${proto}|${sip}|${sp}|${dip}|${dp}`;
}

/**
 * The key of a connection that never learnt its local port (a helper that cannot tell it for a
 * failed connection): (proto, sip, dip, dp), addresses in canonical text. Such a connection
 * takes the flow of that key whose first packet falls within its own time span.
 */
export function portlessKey(proto: number, sip: string, dip: string, dp: number): string {
  return `${proto}|${sip}|${dip}|${dp}`;
}

/** Receives a connection's flow, or null when it was not observed in time. */
export type FlowCallback = (flow: FlowRecord | null) => void;

/** A connection waiting for its flow; waiters of one key are chained in arrival order. */
interface Waiter {
  deadline: number;
  done: FlowCallback;
  next: Waiter | null;
  /** Port-less waiters only: the connection's span, epoch seconds. */
  from: number;
  to: number;
}

/** Packet timestamps and the wall clock of a connection's span may differ by a little. */
const SPAN_SLACK_SEC = 0.05;

function inSpan(flow: FlowRecord, w: Waiter): boolean {
  const t = flow.pkt_first;
  return typeof t === "number" && t >= w.from - SPAN_SLACK_SEC && t <= w.to + SPAN_SLACK_SEC;
}

/** Options of the merger. */
export interface MergerOptions {
  /** How long an unclaimed flow is kept (ms). */
  flowTtlMs: number;
  /**
   * Unclaimed flows held at most (default `MAX_UNCLAIMED`): beyond it the oldest is dropped, so
   * that traffic no connection of the run claims (a SYN flood the capture filter could not tell
   * from the run's own) costs neither memory nor the time of the scans beyond this bound.
   */
  maxUnclaimed?: number;
  /** Clock in ms (tests pass their own). */
  now?: () => number;
}

/**
 * Default bound on unclaimed flows. A flow of the run normally waits here only between its
 * emission and its connection's `waitFor` (milliseconds), so a run holds about as many as it has
 * connections in flight; `measure` raises the bound with its worker count.
 */
export const MAX_UNCLAIMED = 10_000;

/**
 * Joins connections and flows by 5-tuple. Callbacks rather than promises: a long run has
 * thousands of connections waiting at once, and a waiter here is one small object.
 */
export class Merger {
  /** Unclaimed flows by key, with their port-less key (`waitForPortless` scans them). */
  #flows = new Map<string, { flow: FlowRecord; at: number; pk: string }>();
  #waiters = new Map<string, Waiter>();
  #portless = new Map<string, Waiter>();
  /** No waiter is due before this (ms); lets `tick` skip its scan. */
  #due = Infinity;
  #now: () => number;
  /** Flows that arrived while one with the same key was still unclaimed (kept: the first). */
  duplicateFlows = 0;
  /** Unclaimed flows let go: past their time to live, or the oldest beyond `maxUnclaimed`. */
  droppedFlows = 0;
  readonly #max: number;

  constructor(private readonly opts: MergerOptions) {
    this.#now = opts.now ?? (() => performance.now());
    this.#max = Math.max(1, opts.maxUnclaimed ?? MAX_UNCLAIMED);
  }

  /** A flow from the observer. */
  addFlow(flow: FlowRecord): void {
    // the basic chain's fields; a flow without ports has no key
    const { proto, sip, sp, dip, dp } = flow;
    if (typeof sip !== "string" || typeof dip !== "string") return;
    if (typeof sp !== "number" || typeof dp !== "number" || typeof proto !== "number") return;
    // the observer's address text, canonical (once for both keys)
    const csip = canonicalIp(sip), cdip = canonicalIp(dip);
    const key = flowKey(proto, csip, sp, cdip, dp);
    const w = this.#waiters.get(key);
    if (w !== undefined) {
      if (w.next === null) this.#waiters.delete(key);
      else this.#waiters.set(key, w.next);
      w.done(flow);
      return;
    }
    const pk = portlessKey(proto, csip, cdip, dp);
    if (this.#portless.size > 0 && this.#takePortless(pk, flow)) return;
    if (this.#flows.has(key)) {
      this.duplicateFlows++;
      return;
    }
    if (this.#flows.size >= this.#max) {
      // the oldest goes (a Map iterates in insertion order): O(1)
      this.#flows.delete(this.#flows.keys().next().value!);
      this.droppedFlows++;
    }
    this.#flows.set(key, { flow, at: this.#now(), pk });
  }

  /** Hands `flow` to the first port-less waiter of `pk` whose span holds it. */
  #takePortless(pk: string, flow: FlowRecord): boolean {
    let prev: Waiter | null = null;
    for (let w = this.#portless.get(pk) ?? null; w !== null; prev = w, w = w.next) {
      if (!inSpan(flow, w)) continue;
      if (prev !== null) prev.next = w.next;
      else if (w.next === null) this.#portless.delete(pk);
      else this.#portless.set(pk, w.next);
      w.done(flow);
      return true;
    }
    return false;
  }

  #add(table: Map<string, Waiter>, key: string, w: Waiter): void {
    const first = table.get(key);
    if (first === undefined) table.set(key, w);
    else {
      let last = first;
      while (last.next !== null) last = last.next;
      last.next = w;
    }
    if (w.deadline < this.#due) this.#due = w.deadline;
  }

  /**
   * Calls `done` with the flow of a connection: at once when it is already here, else when it
   * arrives, or with null once `deadline` (ms on the merger's clock) has passed and `tick` has
   * run.
   */
  waitFor(key: string, deadline: number, done: FlowCallback): void {
    const have = this.#flows.get(key);
    if (have !== undefined) {
      this.#flows.delete(key);
      done(have.flow);
      return;
    }
    this.#add(this.#waiters, key, { deadline, done, next: null, from: 0, to: 0 });
  }

  /**
   * Calls `done` with the flow of a connection without a local port (see `portlessKey`) whose
   * first packet lies in [from, to] (epoch seconds); with null once `deadline` has passed.
   */
  waitForPortless(
    pk: string,
    from: number,
    to: number,
    deadline: number,
    done: FlowCallback,
  ): void {
    const w: Waiter = { deadline, done, next: null, from, to };
    for (const [key, f] of this.#flows) {
      if (f.pk === pk && inSpan(f.flow, w)) {
        this.#flows.delete(key);
        done(f.flow);
        return;
      }
    }
    this.#add(this.#portless, pk, w);
  }

  /** Gives up on overdue waiters (null) and forgets stale unclaimed flows. */
  tick(): void {
    const now = this.#now();
    if (now >= this.#due) {
      // a scan only when some waiter may be due; it also finds the next due time
      let due = Infinity;
      const overdue: Waiter[] = [];
      for (const table of [this.#waiters, this.#portless]) {
        for (const [key, first] of table) {
          let head: Waiter | null = first, prev: Waiter | null = null;
          for (let w: Waiter | null = first; w !== null; w = w.next) {
            if (w.deadline > now) {
              if (w.deadline < due) due = w.deadline;
              prev = w;
              continue;
            }
            overdue.push(w);
            if (prev === null) head = w.next;
            else prev.next = w.next;
          }
          if (head === null) table.delete(key);
          else if (head !== first) table.set(key, head);
        }
      }
      this.#due = due;
      for (const w of overdue) w.done(null);
    }
    // insertion order is arrival order: the stale ones are first, and the scan ends at the
    // first fresh one (a scan costs what it removes, not what is held)
    for (const [key, f] of this.#flows) {
      if (now - f.at <= this.opts.flowTtlMs) break;
      this.#flows.delete(key);
      this.droppedFlows++;
    }
  }

  /** Gives up on every waiter now (end of the run when the observer has stopped). */
  giveUp(): void {
    const all: Waiter[] = [];
    for (const table of [this.#waiters, this.#portless]) {
      for (const first of table.values()) {
        for (let w: Waiter | null = first; w !== null; w = w.next) all.push(w);
      }
      table.clear();
    }
    this.#due = Infinity;
    for (const w of all) w.done(null);
  }

  /** Connections still waiting for their flow (counted on demand: tests and diagnostics). */
  get waiting(): number {
    let n = 0;
    for (const table of [this.#waiters, this.#portless]) {
      for (const first of table.values()) {
        for (let w: Waiter | null = first; w !== null; w = w.next) n++;
      }
    }
    return n;
  }

  /** Unclaimed flows held. */
  get held(): number {
    return this.#flows.size;
  }

  /** Flows no connection claimed: let go so far plus held now. */
  get unclaimed(): number {
    return this.droppedFlows + this.#flows.size;
  }
}

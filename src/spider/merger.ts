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
import { canonicalIp } from "./ip.ts";

/** The 5-tuple of a flow or connection, as a map key. */
export function flowKey(
  proto: number,
  sip: string,
  sp: number,
  dip: string,
  dp: number,
): string {
  return `${proto}|${canonicalIp(sip)}|${sp}|${canonicalIp(dip)}|${dp}`;
}

/** The key of an observer flow record (basic chain fields), or null when it has no ports. */
export function keyOfFlow(flow: FlowRecord): string | null {
  const { proto, sip, sp, dip, dp } = flow;
  if (typeof sip !== "string" || typeof dip !== "string") return null;
  if (typeof sp !== "number" || typeof dp !== "number" || typeof proto !== "number") return null;
  return flowKey(proto, sip, sp, dip, dp);
}

interface Waiter {
  deadline: number;
  resolve: (flow: FlowRecord | null) => void;
}

/** Options of the merger. */
export interface MergerOptions {
  /** How long an unclaimed flow is kept (ms). */
  flowTtlMs: number;
  /** Clock in ms (tests pass their own). */
  now?: () => number;
}

/** Joins connections and flows by 5-tuple. */
export class Merger {
  #flows = new Map<string, { flow: FlowRecord; at: number }>();
  #waiters = new Map<string, Waiter[]>();
  #now: () => number;
  /** Flows that arrived while one with the same key was still unclaimed (kept: the first). */
  duplicateFlows = 0;

  constructor(private readonly opts: MergerOptions) {
    this.#now = opts.now ?? (() => performance.now());
  }

  /** A flow from the observer. */
  addFlow(flow: FlowRecord): void {
    const key = keyOfFlow(flow);
    if (key === null) return;
    const waiting = this.#waiters.get(key);
    if (waiting !== undefined && waiting.length > 0) {
      const w = waiting.shift()!;
      if (waiting.length === 0) this.#waiters.delete(key);
      w.resolve(flow);
      return;
    }
    if (this.#flows.has(key)) {
      this.duplicateFlows++;
      return;
    }
    this.#flows.set(key, { flow, at: this.#now() });
  }

  /**
   * The flow of a connection: at once when it is already here, else when it arrives, or null
   * once `deadline` (ms on the merger's clock) has passed and `tick` has run.
   */
  waitFor(key: string, deadline: number): Promise<FlowRecord | null> {
    const have = this.#flows.get(key);
    if (have !== undefined) {
      this.#flows.delete(key);
      return Promise.resolve(have.flow);
    }
    return new Promise((resolve) => {
      const list = this.#waiters.get(key);
      const w = { deadline, resolve };
      if (list === undefined) this.#waiters.set(key, [w]);
      else list.push(w);
    });
  }

  /** Resolves overdue waiters with null and forgets stale unclaimed flows. */
  tick(): void {
    const now = this.#now();
    for (const [key, list] of this.#waiters) {
      const keep = list.filter((w) => {
        if (w.deadline > now) return true;
        w.resolve(null);
        return false;
      });
      if (keep.length === 0) this.#waiters.delete(key);
      else if (keep.length !== list.length) this.#waiters.set(key, keep);
    }
    for (const [key, f] of this.#flows) {
      if (now - f.at > this.opts.flowTtlMs) this.#flows.delete(key);
    }
  }

  /** Resolves every waiter with null now (end of the run when the observer has stopped). */
  giveUp(): void {
    for (const list of this.#waiters.values()) for (const w of list) w.resolve(null);
    this.#waiters.clear();
  }

  /** Connections still waiting for their flow. */
  get waiting(): number {
    let n = 0;
    for (const l of this.#waiters.values()) n += l.length;
    return n;
  }

  /** Unclaimed flows held. */
  get held(): number {
    return this.#flows.size;
  }
}

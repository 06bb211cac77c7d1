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

/**
 * The key of a connection that never learnt its local port (a helper that cannot tell it for a
 * failed connection): (proto, sip, dip, dp). Such a connection takes the flow of that key whose
 * first packet falls within its own time span.
 */
export function portlessKey(proto: number, sip: string, dip: string, dp: number): string {
  return `${proto}|${canonicalIp(sip)}|${canonicalIp(dip)}|${dp}`;
}

function portlessOfFlow(flow: FlowRecord): string | null {
  const { proto, sip, dip, dp } = flow;
  if (typeof sip !== "string" || typeof dip !== "string") return null;
  if (typeof dp !== "number" || typeof proto !== "number") return null;
  return portlessKey(proto, sip, dip, dp);
}

interface Waiter {
  deadline: number;
  resolve: (flow: FlowRecord | null) => void;
  /** Port-less waiters only: the connection's span, epoch seconds. */
  from?: number;
  to?: number;
}

/** Packet timestamps and the wall clock of a connection's span may differ by a little. */
const SPAN_SLACK_SEC = 0.05;

function inSpan(flow: FlowRecord, w: Waiter): boolean {
  const t = flow.pkt_first;
  return typeof t === "number" && t >= w.from! - SPAN_SLACK_SEC && t <= w.to! + SPAN_SLACK_SEC;
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
  #portless = new Map<string, Waiter[]>();
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
    const pk = this.#portless.size > 0 ? portlessOfFlow(flow) : null;
    const pw = pk === null ? undefined : this.#portless.get(pk);
    const i = pw === undefined ? -1 : pw.findIndex((w) => inSpan(flow, w));
    if (i >= 0) {
      const [w] = pw!.splice(i, 1);
      if (pw!.length === 0) this.#portless.delete(pk!);
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

  /**
   * The flow of a connection without a local port (see `portlessKey`) whose first packet lies in
   * [from, to] (epoch seconds); null once `deadline` has passed.
   */
  waitForPortless(
    pk: string,
    from: number,
    to: number,
    deadline: number,
  ): Promise<FlowRecord | null> {
    const w0: Waiter = { deadline, resolve: () => {}, from, to };
    for (const [key, f] of this.#flows) {
      if (portlessOfFlow(f.flow) === pk && inSpan(f.flow, w0)) {
        this.#flows.delete(key);
        return Promise.resolve(f.flow);
      }
    }
    return new Promise((resolve) => {
      const w = { ...w0, resolve };
      const list = this.#portless.get(pk);
      if (list === undefined) this.#portless.set(pk, [w]);
      else list.push(w);
    });
  }

  /** Resolves overdue waiters with null and forgets stale unclaimed flows. */
  tick(): void {
    const now = this.#now();
    for (const table of [this.#waiters, this.#portless]) {
      for (const [key, list] of table) {
        const keep = list.filter((w) => {
          if (w.deadline > now) return true;
          w.resolve(null);
          return false;
        });
        if (keep.length === 0) table.delete(key);
        else if (keep.length !== list.length) table.set(key, keep);
      }
    }
    for (const [key, f] of this.#flows) {
      if (now - f.at > this.opts.flowTtlMs) this.#flows.delete(key);
    }
  }

  /** Resolves every waiter with null now (end of the run when the observer has stopped). */
  giveUp(): void {
    for (const table of [this.#waiters, this.#portless]) {
      for (const list of table.values()) for (const w of list) w.resolve(null);
      table.clear();
    }
  }

  /** Connections still waiting for their flow. */
  get waiting(): number {
    let n = 0;
    for (const l of this.#waiters.values()) n += l.length;
    for (const l of this.#portless.values()) n += l.length;
    return n;
  }

  /** Unclaimed flows held. */
  get held(): number {
    return this.#flows.size;
  }
}

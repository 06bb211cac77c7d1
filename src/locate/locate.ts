/**
 * Locating a change: the hops of one probe (TTL 1, 2, ... until the target answers), and the
 * entries of `located` from what each hop's quotation showed against what was sent.
 *
 * A router quotes the packet as it received it, before its own forwarding rules ran (Linux sends
 * time-exceeded from the routing decision, ahead of the forward hook), so a change made by the
 * router at hop k first shows in the quotation of hop k + 1, and a packet dropped at hop k leaves
 * hop k + 1 silent. `hop` is therefore the first hop whose quotation shows the change (or the
 * first silent hop); `after` the last hop still showing what was sent: the change happened
 * between them, in `after` or in the link or device between `after` and `at`.
 *
 * @module
 */

import type { PacketSpec } from "../wire/build.ts";
import { optionMap } from "../wire/icmp.ts";
import type { ProbeMaker, ProbeSource } from "./probe.ts";
import type { Answer, ProbeIo, Quoted } from "./tracer.ts";

/** How a trace is run. */
export interface TraceOptions {
  /** Highest TTL / hop limit tried. */
  maxHops: number;
  /** Probes per hop before it counts as silent (re-probing routers that rate-limit ICMP). */
  tries: number;
  /** Silent hops in a row after which the trace stops. */
  silentStop: number;
  /** The next source port of a probe. */
  port: () => number;
}

/** One hop of a trace. */
export interface Hop {
  hop: number;
  /** The answer, null when the hop stayed silent after every try. */
  answer: Answer | null;
}

/** A trace: its hops, how it ended, and how many probes it took. */
export interface Trace {
  hops: Hop[];
  /** `target`: the target answered; `unreachable`: an ICMP error ended it; `silent`; `max`. */
  end: "target" | "unreachable" | "silent" | "max";
  probes: number;
  /** The fields of what was sent (null when the maker made no probe). */
  sent: Quoted | null;
}

/** One entry of a result's `located`. */
export interface Located {
  /** `dscp`, `ecn`, `flags`, `evil`, `option:<kind>` or `drop`. */
  what: string;
  /** What was sent (null for drop; for an option, its value in hex, null when not sent). */
  sent: number | string | boolean | null;
  /** What the quotation at `hop` showed. */
  seen: number | string | boolean | null;
  /** The TTL / hop limit of the first probe whose quotation shows the change (drop: silence). */
  hop: number;
  /** The last hop that still showed what was sent (null: none did). */
  after: string | null;
  /** The address that answered at `hop` (null when silent). */
  at: string | null;
  /** The connection (`config`) whose probe showed it. */
  config: number;
  /** Hops before `hop` that never answered, when there were any. */
  silent?: number[];
}

/** The compared fields of a probe as built. */
export function sentFields(spec: PacketSpec): Quoted {
  const l4 = spec.l4;
  return {
    tos: spec.tos ?? 0,
    evil: spec.evil === true && !spec.dst.includes(":"),
    flags: l4.proto === "tcp" ? l4.flags & 0x1ff : -1,
    options: l4.proto === "tcp" ? optionMap(l4.options ?? new Uint8Array(0)) : null,
  };
}

/** Runs one trace of `make`'s probe from `addr`. */
export async function trace(
  io: ProbeIo,
  make: ProbeMaker,
  addr: string,
  o: TraceOptions,
): Promise<Trace> {
  const hops: Hop[] = [];
  let probes = 0, silentRun = 0, sent: Quoted | null = null;
  for (let ttl = 1; ttl <= o.maxHops; ttl++) {
    let answer: Answer | null = null;
    for (let t = 0; t < o.tries && answer === null; t++) {
      const src: ProbeSource = { addr, port: o.port() };
      const spec = make(src);
      if (spec === null) return { hops, end: "silent", probes, sent };
      sent ??= sentFields(spec);
      probes++;
      answer = await io.probe({ ...spec, ttl });
    }
    hops.push({ hop: ttl, answer });
    if (answer === null) {
      if (++silentRun >= o.silentStop) return { hops, end: "silent", probes, sent };
      continue;
    }
    silentRun = 0;
    if (answer.kind === "target") return { hops, end: "target", probes, sent };
    if (answer.kind === "unreachable") return { hops, end: "unreachable", probes, sent };
  }
  return { hops, end: "max", probes, sent };
}

type Field = { what: string; get: (q: Quoted) => number | string | boolean | null | undefined };

/** The fields compared for a probe that sent `s` (undefined from a quotation: not quoted). */
function fieldsOf(s: Quoted, seenKinds: Set<number>): Field[] {
  const f: Field[] = [
    { what: "dscp", get: (q) => q.tos >> 2 },
    { what: "ecn", get: (q) => q.tos & 3 },
  ];
  if (s.evil) f.push({ what: "evil", get: (q) => q.evil });
  if (s.flags >= 0) f.push({ what: "flags", get: (q) => (q.flags < 0 ? undefined : q.flags) });
  if (s.options) {
    const kinds = new Set([...s.options.keys(), ...seenKinds]);
    for (const k of [...kinds].sort((a, b) => a - b)) {
      f.push({
        what: `option:${k}`,
        get: (q) => (q.options === null ? undefined : q.options.get(k) ?? null),
      });
    }
  }
  return f;
}

/** The changes a trace shows against what was sent (config `config`). */
export function changesOf(t: Trace, config: number): Located[] {
  const s = t.sent;
  if (s === null) return [];
  const quoted = t.hops.filter((h) => h.answer?.quote);
  const seenKinds = new Set<number>();
  for (const h of quoted) for (const k of h.answer!.quote!.options?.keys() ?? []) seenKinds.add(k);
  const out: Located[] = [];
  for (const f of fieldsOf(s, seenKinds)) {
    const want = f.get(s);
    let after: string | null = null;
    for (const h of quoted) {
      const seen = f.get(h.answer!.quote!);
      if (seen === undefined) continue;
      if (seen === want) {
        after = h.answer!.from;
        continue;
      }
      out.push(entry(t, f.what, want ?? null, seen, h.hop, after, h.answer!.from, config));
      break;
    }
  }
  return out;
}

function entry(
  t: Trace,
  what: string,
  sent: Located["sent"],
  seen: Located["seen"],
  hop: number,
  after: string | null,
  at: string | null,
  config: number,
): Located {
  const e: Located = { what, sent, seen, hop, after, at, config };
  const silent = t.hops.filter((h) => h.hop < hop && h.answer === null).map((h) => h.hop);
  if (silent.length > 0) e.silent = silent;
  return e;
}

/** The last hop that answered before the trailing silence, and the first silent hop after it. */
function lastAnswered(t: Trace): { hop: number; from: string | null } {
  for (let i = t.hops.length - 1; i >= 0; i--) {
    const { hop, answer: a } = t.hops[i]!;
    if (a) return { hop, from: a.from };
  }
  return { hop: 0, from: null };
}

/**
 * A drop: the experiment's trace went silent where the baseline's went on (further hops
 * answered, or the target did). Null when the baseline stopped as early (loss, or a path that
 * ends there for both).
 */
export function dropOf(exp: Trace, base: Trace | null, config: number): Located | null {
  if (exp.end !== "silent" || base === null) return null;
  const last = lastAnswered(exp);
  const baseLast = lastAnswered(base);
  if (base.end !== "target" && baseLast.hop <= last.hop) return null;
  return entry(exp, "drop", null, null, last.hop + 1, last.from, null, config);
}

/**
 * Compares flow records of the original PATHspider (golden fixtures) with ours.
 *
 * Flow records are flat JSON objects, one a line. The original emits the flows that expire in
 * the same 1-second bin in Python set order (hash-randomised), so flows are compared as
 * multisets. Values are compared by their JSON text (numbers exactly as printed: `1.0` is not
 * `1`), strings by value (escaping may differ). Key order is compared for flows that match.
 *
 * The original's documented bugs are undone in its records before the comparison, each by a
 * named normaliser that points to its section of docs/differences.md; nothing else is forgiven.
 *
 * @module
 */

/** One flow record: its keys in output order and the canonical text of each value. */
export interface Flow {
  /** Keys in the order they were printed. */
  keys: string[];
  /** Canonical text of each value. */
  values: Map<string, string>;
  /** The line it was parsed from. */
  line: string;
}

/** Parses one ndjson line of flat JSON object into a {@link Flow}; throws on anything else. */
export function parseFlow(line: string): Flow {
  const obj = JSON.parse(line); // validates the line as a whole
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    throw new Error(`not a JSON object: ${line}`);
  }
  const keys: string[] = [];
  const values = new Map<string, string>();
  let i = skipWs(line, 0);
  if (line[i] !== "{") throw new Error(`not a JSON object: ${line}`);
  i = skipWs(line, i + 1);
  while (line[i] !== "}") {
    const keyEnd = stringEnd(line, i);
    const key = JSON.parse(line.slice(i, keyEnd)) as string;
    i = skipWs(line, keyEnd);
    i = skipWs(line, i + 1); // ':'
    const end = valueEnd(line, i);
    const raw = line.slice(i, end);
    keys.push(key);
    values.set(key, canonicalValue(raw));
    i = skipWs(line, end);
    if (line[i] === ",") i = skipWs(line, i + 1);
  }
  return { keys, values, line };
}

function skipWs(s: string, i: number): number {
  while (s[i] === " " || s[i] === "\t" || s[i] === "\n" || s[i] === "\r") i++;
  return i;
}

function stringEnd(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    if (s[j] === "\\") j++;
    else if (s[j] === '"') return j + 1;
  }
  throw new Error(`unterminated string: ${s}`);
}

function valueEnd(s: string, i: number): number {
  if (s[i] === '"') return stringEnd(s, i);
  if (s[i] === "{" || s[i] === "[") {
    let depth = 0;
    for (let j = i; j < s.length; j++) {
      if (s[j] === '"') j = stringEnd(s, j) - 1;
      else if (s[j] === "{" || s[j] === "[") depth++;
      else if (s[j] === "}" || s[j] === "]") {
        if (--depth === 0) return j + 1;
      }
    }
    throw new Error(`unterminated value: ${s}`);
  }
  let j = i;
  while (j < s.length && s[j] !== "," && s[j] !== "}" && s[j] !== " ") j++;
  return j;
}

function canonicalValue(raw: string): string {
  const c = raw[0];
  if (c === '"' || c === "{" || c === "[") return JSON.stringify(JSON.parse(raw));
  return raw;
}

/** A documented difference, undone in the original's record before comparing. */
export interface Normaliser {
  /** Short name used in failure messages. */
  id: string;
  /** The section of docs/differences.md that documents it. */
  section: string;
  /** Whether it applies to a run with these chains. */
  appliesTo(chains: readonly string[]): boolean;
  /** Rewrites one of the original's flows in place. */
  apply(flow: Flow): void;
}

/** The normalisers in the order they are applied. */
export const NORMALISERS: readonly Normaliser[] = [
  {
    id: "idle-bin",
    section: "Observer: no `_idle_bin` in flow records",
    appliesTo: () => true,
    apply(flow) {
      if (flow.values.delete("_idle_bin")) flow.keys = flow.keys.filter((k) => k !== "_idle_bin");
    },
  },
  {
    id: "fin-swap",
    section: "tcp chain: a FIN from the initiator sets `tcp_fin_fwd`",
    appliesTo: (chains) => chains.includes("tcp"),
    apply(flow) {
      const fwd = flow.values.get("tcp_fin_fwd");
      const rev = flow.values.get("tcp_fin_rev");
      if (fwd === undefined || rev === undefined) return;
      flow.values.set("tcp_fin_fwd", rev);
      flow.values.set("tcp_fin_rev", fwd);
    },
  },
];

/** Applies every normaliser that applies to `chains`; returns their ids. */
export function normalise(flows: Flow[], chains: readonly string[]): string[] {
  const used: string[] = [];
  for (const n of NORMALISERS) {
    if (!n.appliesTo(chains)) continue;
    used.push(n.id);
    for (const f of flows) n.apply(f);
  }
  return used;
}

function canonical(flow: Flow): string {
  return [...flow.values.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`).join(" ");
}

/** Identity of a flow for pairing mismatches: protocol, addresses, ports, first packet time. */
function identity(flow: Flow): string {
  const v = flow.values;
  return ["proto", "sip", "sp", "dip", "dp", "pkt_first"].map((k) => v.get(k) ?? "-").join(" ");
}

/** The outcome of a comparison: null when equal. */
export interface Mismatch {
  /** Number of the original's flows without an equal flow in ours. */
  missing: number;
  /** Number of our flows without an equal flow in the original's. */
  extra: number;
  /** Human-readable description of the first difference. */
  first: string;
}

/**
 * Compares the original's flows (already normalised) with ours as multisets, then checks the
 * key order of equal flows. Returns null when equal.
 */
export function compareFlows(expected: Flow[], actual: Flow[]): Mismatch | null {
  const pool = new Map<string, Flow[]>();
  for (const f of actual) {
    const k = canonical(f);
    const list = pool.get(k);
    if (list) list.push(f);
    else pool.set(k, [f]);
  }
  const unmatched: Flow[] = [];
  let orderProblem = "";
  for (const f of expected) {
    const list = pool.get(canonical(f));
    const ours = list?.pop();
    if (!ours) {
      unmatched.push(f);
      continue;
    }
    if (list!.length === 0) pool.delete(canonical(f));
    if (orderProblem === "" && ours.keys.join(",") !== f.keys.join(",")) {
      orderProblem = `field order differs for flow ${identity(f)}:\n  original: ${
        f.keys.join(", ")
      }\n  ours:     ${ours.keys.join(", ")}`;
    }
  }
  const extra = [...pool.values()].flat();
  if (unmatched.length === 0 && extra.length === 0) {
    return orderProblem === "" ? null : { missing: 0, extra: 0, first: orderProblem };
  }
  return { missing: unmatched.length, extra: extra.length, first: describe(unmatched, extra) };
}

function describe(unmatched: Flow[], extra: Flow[]): string {
  const byId = new Map<string, Flow[]>();
  for (const f of extra) {
    const id = identity(f);
    const list = byId.get(id);
    if (list) list.push(f);
    else byId.set(id, [f]);
  }
  for (const f of unmatched) {
    const candidates = byId.get(identity(f));
    if (!candidates) continue;
    // the candidate with the fewest differing fields
    let best = candidates[0]!, bestDiff = fieldDiffs(f, best);
    for (const c of candidates.slice(1)) {
      const d = fieldDiffs(f, c);
      if (d.length < bestDiff.length) [best, bestDiff] = [c, d];
    }
    return `flow ${identity(f)}: ` + bestDiff.slice(0, 4).join("; ") +
      (bestDiff.length > 4 ? `; and ${bestDiff.length - 4} more fields` : "") +
      `\n  original: ${f.line}\n  ours:     ${best.line}`;
  }
  if (unmatched.length > 0) {
    return `flow missing from ours: ${unmatched[0]!.line}` +
      (extra.length > 0 ? `\n  first extra flow of ours: ${extra[0]!.line}` : "");
  }
  return `extra flow in ours: ${extra[0]!.line}`;
}

function fieldDiffs(a: Flow, b: Flow): string[] {
  const out: string[] = [];
  const keys = new Set([...a.values.keys(), ...b.values.keys()]);
  for (const k of keys) {
    const x = a.values.get(k), y = b.values.get(k);
    if (x !== y) out.push(`${k}: original ${x ?? "(absent)"}, ours ${y ?? "(absent)"}`);
  }
  return out;
}

/**
 * Building one job's output record the way the original does: the job's own fields, `sip`,
 * `path`, then `flow_results` (with `--output-flows`), `time {from, to}`, `missed_flows`
 * (with `--output-flows`) and `conditions` from the plugin.
 */
import type { FlowRecord } from "../observer/chain.ts";
import type { FlowResult } from "../plugins/plugin.ts";
import type { Job } from "../plugins/plugin.ts";
import { scalarText } from "../io/json_exact.ts";

/**
 * Wall-clock time as the original writes it (Python's `str(datetime.utcnow())`):
 * `YYYY-MM-DD HH:MM:SS.ffffff`, UTC, no zone suffix.
 */
export function pyUtcNow(epochMs = performance.timeOrigin + performance.now()): string {
  const whole = Math.floor(epochMs);
  const micros = Math.floor((epochMs - whole) * 1000) + (whole % 1000) * 1000;
  const sec = Math.floor(whole / 1000);
  if (sec !== lastSecond) {
    // every connection of the same second shares the date and time text
    const iso = new Date(sec * 1000).toISOString(); // 2026-11-22T23:07:35.000Z
    lastSecond = sec;
    lastSecondText = `${iso.slice(0, 10)} ${iso.slice(11, 19)}.`;
  }
  return lastSecondText + String(micros).padStart(6, "0");
}
let lastSecond = NaN;
let lastSecondText = "";

/**
 * What a worker learned from one connection. Kept small: a job holds its outcomes while it waits
 * for its flows, and a long run has thousands of jobs waiting; the times become text only when
 * the result is written.
 */
export interface ConnOutcome {
  /** Connection helper result: `sp`, `spdr_state` and helper-specific fields. */
  conn: Record<string, unknown>;
  /** 0 baseline, 1.. experiment. */
  config: number;
  /** When the connection started and ended, epoch seconds (also to match a flow in time). */
  from: number;
  to: number;
}

/** What is known of the source beyond its address (src/host/identity.ts). */
export interface SourceFacts {
  /** The public address, when known (`--public-ip`, `--stun`). */
  public?: string;
  /** The source's AS number, when known (`--asn-db`). */
  asn?: number;
}

/**
 * The `path` of a job, as the original builds it: the source address, the public address when
 * it differs, the source's AS, the target's AS when the input gives it, the target.
 */
export function pathOf(job: Job, sip: string, src: SourceFacts = {}): string[] {
  const path = [sip];
  if (src.public !== undefined && src.public !== sip) path.push(src.public);
  if (src.asn !== undefined) path.push(`AS${src.asn}`);
  const info = job.info as Record<string, unknown> | undefined;
  if (job.dip_asn !== undefined) path.push(`AS${scalarText(job.dip_asn)}`);
  else if (info && typeof info === "object" && info.ASN !== undefined) {
    path.push(`AS${scalarText(info.ASN)}`);
  }
  path.push(job.dip);
  return path;
}

/**
 * One configuration's record: the flow (when observed) merged with its connection. The flow
 * record becomes the result, extended in place: the observer hands each record to exactly one
 * connection, and copying some thirty fields per flow was the largest allocation of a run.
 */
export function flowResult(
  flow: FlowRecord | null,
  o: ConnOutcome,
  dip: string,
  jobId: string,
): FlowResult {
  // the flow's fields, `observed`, then the connection's: private (`_`) keys left out, and on a
  // key both sides know the observation wins (the original dropped the whole job then)
  const rec: Record<string, unknown> = flow ?? {};
  for (const k in rec) if (k.charCodeAt(0) === 95) delete rec[k];
  rec.observed = flow !== null;
  const conn = o.conn;
  for (const k in conn) if (k.charCodeAt(0) !== 95 && !(k in rec)) rec[k] = conn[k];
  if (!("spdr_start" in rec)) rec.spdr_start = pyUtcNow(o.from * 1000);
  if (!("spdr_stop" in rec)) rec.spdr_stop = pyUtcNow(o.to * 1000);
  if (!("config" in rec)) rec.config = o.config;
  if (!("dip" in rec)) rec.dip = dip;
  if (!("jobId" in rec)) rec.jobId = jobId;
  return rec as FlowResult;
}

/** Assembles the output record of a job. */
export function jobResult(
  job: Job,
  sip: string,
  flows: FlowResult[],
  conditions: string[] | null,
  outputFlows: boolean,
  src: SourceFacts = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...job, sip, path: pathOf(job, sip, src) };
  // the original's fields after `path`; ours only when known (it looked them up online)
  if (src.public !== undefined) out.sip_public = src.public;
  if (src.asn !== undefined) out.sip_asn = src.asn;
  const starts = flows.map((f) => String(f.spdr_start)).sort();
  const stops = flows.map((f) => String(f.spdr_stop)).sort();
  const missed = flows.filter((f) => !f.observed).length;
  if (outputFlows) out.flow_results = flows;
  out.time = { from: starts[0], to: stops[stops.length - 1] };
  if (outputFlows) out.missed_flows = missed;
  if (conditions !== null) {
    out.conditions = missed > 0 ? [...conditions, `pathspider.missed_flows:${missed}`] : conditions;
  }
  return out;
}

/**
 * Building one job's output record the way the original does: the job's own fields, `sip`,
 * `path`, then `flow_results` (with `--output-flows`), `time {from, to}`, `missed_flows`
 * (with `--output-flows`) and `conditions` from the plugin.
 */
import type { FlowRecord } from "../observer/chain.ts";
import type { FlowResult } from "../plugins/plugin.ts";
import type { Job } from "./feeder.ts";

/**
 * Wall-clock time as the original writes it (Python's `str(datetime.utcnow())`):
 * `YYYY-MM-DD HH:MM:SS.ffffff`, UTC, no zone suffix.
 */
export function pyUtcNow(epochMs = performance.timeOrigin + performance.now()): string {
  const whole = Math.floor(epochMs);
  const micros = Math.floor((epochMs - whole) * 1000) + (whole % 1000) * 1000;
  const iso = new Date(whole).toISOString(); // 2026-11-22T23:07:35.123Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(micros).padStart(6, "0")}`;
}

/** What a worker learned from one connection. */
export interface ConnOutcome {
  /** Connection helper result: `sp`, `spdr_state` and helper-specific fields. */
  conn: Record<string, unknown>;
  /** 0 baseline, 1.. experiment. */
  config: number;
  /** When the connection started / ended (the original's time format). */
  start: string;
  stop: string;
  /** The same span in epoch seconds (to match a flow by its first packet's time). */
  span: [number, number];
}

/** The `path` of a job: source address, the target's AS when the input gives it, the target. */
export function pathOf(job: Job, sip: string): string[] {
  const path = [sip];
  const info = job.info as Record<string, unknown> | undefined;
  if (job.dip_asn !== undefined) path.push(`AS${job.dip_asn}`);
  else if (info && typeof info === "object" && info.ASN !== undefined) path.push(`AS${info.ASN}`);
  path.push(job.dip);
  return path;
}

/** One configuration's record: the flow (when observed) merged with its connection. */
export function flowResult(
  flow: FlowRecord | null,
  o: ConnOutcome,
  dip: string,
  jobId: string,
): FlowResult {
  const rec: Record<string, unknown> = flow === null ? {} : { ...flow };
  rec.observed = flow !== null;
  const extra: Record<string, unknown> = {
    ...o.conn,
    spdr_start: o.start,
    spdr_stop: o.stop,
    config: o.config,
    dip,
    jobId,
  };
  // on a key both sides know, the observation wins (the original dropped the whole job then)
  for (const [k, v] of Object.entries(extra)) if (!(k in rec)) rec[k] = v;
  for (const k of Object.keys(rec)) if (k.startsWith("_")) delete rec[k];
  return rec as FlowResult;
}

/** Assembles the output record of a job. */
export function jobResult(
  job: Job,
  sip: string,
  flows: FlowResult[],
  conditions: string[] | null,
  outputFlows: boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...job, sip, path: pathOf(job, sip) };
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

/**
 * Where a campaign lives in JetStream, and what identifies a job. The one home of these names:
 * the CLI's `--help` text is built from them.
 *
 *   stream PSC_<name>_JOBS     subjects psc.<name>.jobs.<jobid>        one message per job
 *                                       psc.<name>.def                 the campaign's definition
 *   stream PSC_<name>_RESULTS  subjects psc.<name>.results.<vantage>.<jobid>   one per (vantage, job)
 *   consumer <vantage> on PSC_<name>_JOBS: that vantage point's durable pull consumer
 *
 * @module
 */
import { createHash } from "node:crypto";

/** Campaign and vantage names: they become parts of stream names and subjects. */
const NAME_RE = /^[A-Za-z0-9_-]{1,48}$/;

/** Why `name` cannot name a campaign or vantage point, or undefined when it can. */
export function badName(name: string): string | undefined {
  if (NAME_RE.test(name)) return undefined;
  return `${JSON.stringify(name)}: use 1 to 48 letters, digits, '-' or '_' ` +
    `(it becomes part of JetStream stream names and subjects)`;
}

/** The streams and subjects of one campaign. */
export interface CampaignNames {
  name: string;
  jobsStream: string;
  resultsStream: string;
  /** Subject of the definition message (in the jobs stream). */
  defSubject: string;
  /** Every job's subject (the consumers' filter). */
  jobsFilter: string;
  /** Every result's subject. */
  resultsFilter: string;
  /** Subject of job `id`. */
  jobSubject(id: string): string;
  /** Subject of the result of job `id` at `vantage`. */
  resultSubject(vantage: string, id: string): string;
  /** Subjects of every result of `vantage`. */
  vantageResults(vantage: string): string;
}

/** The names of campaign `name` (already checked with {@link badName}). */
export function campaignNames(name: string): CampaignNames {
  const p = `psc.${name}`;
  return {
    name,
    jobsStream: `PSC_${name}_JOBS`,
    resultsStream: `PSC_${name}_RESULTS`,
    defSubject: `${p}.def`,
    jobsFilter: `${p}.jobs.>`,
    resultsFilter: `${p}.results.>`,
    jobSubject: (id) => `${p}.jobs.${id}`,
    resultSubject: (v, id) => `${p}.results.${v}.${id}`,
    vantageResults: (v) => `${p}.results.${v}.>`,
  };
}

/** The job id at the end of a job's or result's subject. */
export function idOfSubject(subject: string): string {
  return subject.slice(subject.lastIndexOf(".") + 1);
}

/**
 * JSON with object keys sorted at every level, so that the same job written with its fields in
 * another order has the same id.
 */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")}}`;
}

/**
 * A job's id: the first 128 bits of the SHA-256 of its canonical JSON, in hex (a subject token,
 * and a JetStream message id). At a million jobs the chance of two colliding is about 1e-27.
 */
export function jobId(job: Record<string, unknown>): string {
  return createHash("sha256").update(canonicalJson(job)).digest("hex").slice(0, 32);
}

/**
 * `pathspider filter`'s work: the original's pre-processing of a target list (read ndjson or
 * CSV with the measure feeder, skip duplicate targets, add a destination port), plus dropping
 * every address that is not a public unicast target or that an exclusion list names, with a
 * count of each reason.
 *
 * @module
 */

import { type FedJob, type FeederStats, newFeederStats, readJobs } from "../spider/feeder.ts";
import { parseAddress } from "./address.ts";
import type { ExclusionList } from "./exclude.ts";
import { SPECIAL_KINDS, type SpecialKind, specialKind } from "./special.ts";

/** Why a line was dropped. */
export type DropReason = "invalid" | "duplicate" | "excluded" | SpecialKind;

/** Every reason, in the order the summary lists them. */
export const DROP_REASONS: readonly DropReason[] = [
  "invalid",
  "duplicate",
  "excluded",
  ...SPECIAL_KINDS,
];

/** Options of {@link filterTargets}. */
export interface FilterOptions {
  /** Input is the original's CSV rows rather than ndjson. */
  csv?: boolean;
  /** Destination port to set on every job (the original's `--dp`). */
  dp?: number;
  /** Keep every special-purpose address (private, loopback, documentation, ...). */
  allowPrivate?: boolean;
  /** Keep the benchmarking ranges 198.18.0.0/15 and 2001:2::/48 (our testbed's). */
  allowBenchmarking?: boolean;
  /** Addresses and prefixes never to keep, whatever the other options say. */
  exclude?: ExclusionList;
  /** Receives each warning about a malformed line. */
  warn?: (line: string) => void;
}

/** What {@link filterTargets} did. */
export interface FilterStats {
  /** Jobs written. */
  kept: number;
  /** Lines dropped, per reason. */
  dropped: Record<DropReason, number>;
}

/** The reason to drop a fed job, or null to keep it. */
function verdict(fed: FedJob, o: FilterOptions): DropReason | null {
  const a = parseAddress(fed.job.dip);
  if (a === null) return "invalid"; // the feeder checked it already; kept for safety
  if (o.exclude?.has(a)) return "excluded";
  const kind = specialKind(a);
  if (kind === null || o.allowPrivate) return null;
  if (kind === "benchmarking" && o.allowBenchmarking) return null;
  return kind;
}

/** Reads jobs from `input`, writes the ones to keep, and counts the others. */
export async function filterTargets(
  input: ReadableStream<Uint8Array>,
  write: (job: Record<string, unknown>) => void,
  o: FilterOptions = {},
): Promise<FilterStats> {
  const feeder: FeederStats = newFeederStats();
  const dropped = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<
    DropReason,
    number
  >;
  let kept = 0;
  const jobs = readJobs(input, {
    csv: o.csv,
    stats: feeder,
    warn: o.warn ?? ((m) => console.error(m)),
    // filter counts them by its own kinds
    skipNeverProbed: false,
  });
  for await (const fed of jobs) {
    const why = verdict(fed, o);
    if (why !== null) {
      dropped[why]++;
      continue;
    }
    if (o.dp !== undefined) fed.job.dp = o.dp;
    write(fed.job);
    kept++;
  }
  dropped.invalid += feeder.malformed;
  dropped.duplicate += feeder.duplicates;
  return { kept, dropped };
}

/** The summary line of a run: kept, then every reason with its count. */
export function summary(s: FilterStats): string {
  const parts = DROP_REASONS.map((r) => `${s.dropped[r]} ${r}`);
  const total = DROP_REASONS.reduce((n, r) => n + s.dropped[r], 0);
  return `${s.kept} targets kept, ${total} dropped (${parts.join(", ")})`;
}

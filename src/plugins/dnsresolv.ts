/**
 * The `dnsresolv` plugin: turns a list of domains into measurement jobs. It measures no path:
 * `measure` runs it as a standalone plugin (no observer, no interface). Input is the original's
 * `rank,domain` CSV (`--csv-input`; a lone `domain` column is accepted too) or ndjson objects
 * with a `domain`; each domain is resolved for A and AAAA records, and every address becomes one
 * job in our ndjson input format: the input record's own fields (`rank`, `domain`, ...) and `dip`.
 *
 * Resolution uses the resolver `--resolver` names, else the system's (/etc/resolv.conf), with
 * up to `-w` domains in flight.
 */
import { readLines } from "../io/lines.ts";
import { splitCsvRow } from "../io/csv.ts";
import { canonicalIp, ipVersion } from "../wire/ip.ts";
import { VERSION } from "../version.ts";
import type { Plugin, PluginArgs, StandaloneIO } from "./plugin.ts";

/** A resolver address: IPv4 or IPv6 literal and port. */
export interface NameServer {
  ipAddr: string;
  port: number;
}

/** Parses `ADDR`, `ADDR:PORT`, `[V6]` or `[V6]:PORT` (port 53 by default). */
export function parseNameServer(text: string): NameServer {
  const t = text.trim();
  let addr = t, port = "53";
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (bracket) [addr, port] = [bracket[1]!, bracket[2] ?? "53"];
  else if (/^[^:]+:\d+$/.test(t)) [addr = t, port = "53"] = t.split(":");
  if (ipVersion(addr) === 0) {
    throw new Error(`--resolver must be an IP address with an optional port: ${text}`);
  }
  const p = Number(port);
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`bad resolver port: ${port}`);
  return { ipAddr: addr, port: p };
}

/** One input line as a record with a domain, or why it is skipped. */
export function domainRecord(line: string, csv: boolean): Record<string, unknown> | string {
  let rec: Record<string, unknown>;
  if (csv) {
    const row = splitCsvRow(line).map((f) => f.trim());
    if (row.length === 2) rec = { rank: row[0], domain: row[1] };
    else if (row.length === 1) rec = { domain: row[0] };
    else return `expected 2 columns (rank,domain), got ${row.length}`;
  } else {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      return "not valid JSON";
    }
    if (v === null || typeof v !== "object" || Array.isArray(v)) return "not a JSON object";
    rec = v as Record<string, unknown>;
  }
  const d = rec.domain;
  if (typeof d !== "string" || d === "" || d.length > 253 || /[\s/\\]/.test(d)) {
    return `no usable 'domain': ${JSON.stringify(d)}`;
  }
  return rec;
}

/** Counters of a resolution run. */
export interface ResolveStats {
  domains: number;
  jobs: number;
  /** Domains that exist but have neither A nor AAAA records, or do not exist. */
  noAddress: number;
  /** Domains whose look-ups failed (timeout, server failure, refused). */
  failed: number;
  /** Input lines skipped as malformed. */
  malformed: number;
}

type Lookup = (name: string, type: "A" | "AAAA") => Promise<string[]>;

/** Resolves one type; [] for "no such name / no such record", throws for a failure. */
function denoLookup(server: NameServer | undefined, timeoutMs: number): Lookup {
  return async (name, type) => {
    try {
      return await Deno.resolveDns(name, type, {
        ...(server ? { nameServer: server } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    }
  };
}

/** Resolves every domain of `io.input`, writing one job per address. */
export async function resolveAll(
  io: StandaloneIO,
  lookup: Lookup,
): Promise<ResolveStats> {
  const stats: ResolveStats = { domains: 0, jobs: 0, noAddress: 0, failed: 0, malformed: 0 };
  const lines = readLines(io.input);
  let lineNo = 0;
  const next = async (): Promise<Record<string, unknown> | null> => {
    for (;;) {
      const r = await lines.next();
      if (r.done) return null;
      lineNo++;
      if (r.value.trim() === "") continue;
      const rec = domainRecord(r.value, io.csv);
      if (typeof rec !== "string") return rec;
      stats.malformed++;
      io.say(`pathspider: warning: input line ${lineNo}: ${rec}; skipped`);
    }
  };
  const worker = async () => {
    for (let rec = await next(); rec !== null; rec = await next()) {
      stats.domains++;
      const domain = rec.domain as string;
      const found = await Promise.allSettled([lookup(domain, "A"), lookup(domain, "AAAA")]);
      const addrs = new Set<string>();
      for (const f of found) {
        if (f.status === "fulfilled") { for (const a of f.value) addrs.add(canonicalIp(a)); }
      }
      if (addrs.size === 0) {
        if (found.some((f) => f.status === "rejected")) stats.failed++;
        else stats.noAddress++;
      }
      for (const dip of addrs) {
        // the input's fields, then dip (in its place if the record had one), as the original
        io.write({ ...rec, dip });
        stats.jobs++;
      }
    }
  };
  // the line reader is shared: one pull at a time, whichever worker is free
  await Promise.all(Array.from({ length: Math.max(1, io.workers) }, worker));
  return stats;
}

/** The `dnsresolv` plugin. */
export const dnsresolvPlugin: Plugin = {
  name: "dnsresolv",
  description: "Simple Input List DNS Resolver",
  version: VERSION,
  chains: [],
  connectSupported: ["dnsudp"],
  options: [{
    flags: "--resolver <addr[:port]>",
    description: "The DNS resolver to ask (default: the system's, from /etc/resolv.conf)",
    parse: parseNameServer,
  }],
  helpText:
    "\nReads 'rank,domain' CSV rows (--csv-input) or ndjson objects with a 'domain', and\n" +
    "writes one job per A and AAAA address, ready for measure:\n" +
    '  {"rank": "1", "domain": "example.com", "dip": "192.0.2.1"}\n' +
    "It measures nothing (no capture; -i is not used). --timeout bounds each look-up.\n",
  model: () => {
    throw new Error("dnsresolv resolves names; it has no measurement model");
  },
  combineFlows: () => null,
  async standalone(io: StandaloneIO, args: PluginArgs): Promise<number> {
    const server = args.resolver as NameServer | undefined;
    const s = await resolveAll(io, denoLookup(server, args.timeout * 1000));
    io.say(
      `pathspider: dnsresolv: ${s.domains} domains, ${s.jobs} jobs, ${s.noAddress} without ` +
        `address, ${s.failed} failed look-ups, ${s.malformed} skipped lines`,
    );
    return 0;
  },
};

/**
 * `--metadata FILE`: one JSON record of a run, so that results compared across days and vantage
 * points say where, when, how and by what they were made. Written at the end of every run that
 * got past its set-up, also when it was interrupted (a signal, a second signal's forced exit, an
 * error); a `kill -9` leaves the previous file, if any.
 *
 * @module
 */
import { COMPAT_VERSION, VERSION } from "../version.ts";
import { JOURNALLED_SYSCTLS, procSysctl, type SysctlAccess } from "../host/journal.ts";
import type { Model, Plugin, PluginArgs } from "../plugins/plugin.ts";
import type { ScheduleOptions } from "./schedule.ts";

/** The counts of a run, as the metadata record names them. */
export interface RunCounts {
  /** Jobs taken from the input. */
  jobs: number;
  results: number;
  /** Input lines skipped (malformed, duplicate targets). */
  skipped: number;
  /** Flows written, and of those the unobserved. */
  flows: number;
  unobserved: number;
  kernel_drops: number;
  /** Jobs left to other shards; targets skipped because `--resume` found them. */
  other_shards: number;
  resumed: number;
}

/** Where the tool's source commit came from. */
export interface SourceCommit {
  commit: string | null;
  /** "build": baked into the executable by scripts/build-binary.sh; "git": read from the source tree. */
  from: "build" | "git" | null;
}

/**
 * The commit of this build: `build_commit.txt` beside this module (written and embedded by
 * scripts/build-binary.sh), else `git rev-parse HEAD` of the source tree when it is a checkout
 * (with `-dirty` when files differ), else null.
 */
export function sourceCommit(): SourceCommit {
  try {
    const baked = Deno.readTextFileSync(new URL("../build_commit.txt", import.meta.url)).trim();
    if (/^[0-9a-f]{7,40}(-dirty)?$/.test(baked)) return { commit: baked, from: "build" };
  } catch {
    // not a built executable
  }
  if (!import.meta.url.startsWith("file:")) return { commit: null, from: null };
  const root = new URL("../..", import.meta.url).pathname;
  try {
    const git = (args: string[]) =>
      new Deno.Command("git", { args: ["-C", root, ...args], stdout: "piped", stderr: "null" })
        .outputSync();
    const head = git(["rev-parse", "HEAD"]);
    if (!head.success) return { commit: null, from: null };
    const commit = new TextDecoder().decode(head.stdout).trim();
    const dirty = git(["status", "--porcelain", "--untracked-files=no"]);
    const changed = dirty.success && dirty.stdout.length > 0;
    return { commit: changed ? `${commit}-dirty` : commit, from: "git" };
  } catch {
    return { commit: null, from: null };
  }
}

/** Options whose values are secrets (campaign credentials): their value is never recorded. */
const SECRET_OPTION = /pass|token|secret|cred|key|auth/i;

/**
 * The command line with secrets replaced by `***`: the value of an option whose name says it is
 * one (`--token X`, `--nats-password=X`), and the user information of any URL
 * (`nats://user:pass@host` becomes `nats://***@host`).
 */
export function redactArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  let hideNext = false;
  for (const arg of argv) {
    if (hideNext) {
      out.push("***");
      hideNext = false;
      continue;
    }
    const opt = /^(--?[^=]+)(=.*)?$/.exec(arg);
    if (opt && arg.startsWith("-") && SECRET_OPTION.test(opt[1]!)) {
      if (opt[2] !== undefined) out.push(`${opt[1]}=***`);
      else {
        out.push(arg);
        hideNext = true;
      }
      continue;
    }
    out.push(arg.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, "$1***@"));
  }
  return out;
}

/** The sysctls a plugin's model changes. */
export function modelSysctls(model: Model): string[] {
  const keys = new Set<string>();
  if (model.kind === "sync") {
    for (const c of model.configurations) for (const s of c) keys.add(s.key);
  }
  if (model.kind === "desync" && model.settings) {
    for (const s of model.settings) {
      keys.add(s.key);
    }
  }
  return [...keys];
}

/**
 * The sysctls recorded before and after a run: those the plugin changes, the others pathspider
 * may change (they shape every TCP connection: ECN, timestamps, window scaling, SACK, TFO) and
 * the ephemeral port range (the capture filter's).
 */
export function recordedSysctls(model: Model): string[] {
  return [
    ...new Set([
      ...modelSysctls(model),
      ...JOURNALLED_SYSCTLS,
      "net.ipv4.ip_local_port_range",
    ]),
  ].sort();
}

/** Reads each sysctl; a missing one (no IPv6, an old kernel) is null. */
export function readSysctls(keys: string[], access: SysctlAccess = procSysctl()) {
  const out: Record<string, string | null> = {};
  for (const k of keys) {
    try {
      out[k] = access.read(k).replace(/\s+/g, " ");
    } catch {
      out[k] = null;
    }
  }
  return out;
}

/** The host facts of the record (filled in as the run learns them). */
export interface HostFacts {
  interface: string;
  /** The interface's addresses as `addr/prefix`. */
  addresses: string[];
  /** The source addresses the run binds (the original's `sip`). */
  sip: { v4: string | null; v6: string | null };
  /** Public addresses (`--public-ip`, `--stun`), per family. */
  sip_public: { v4: string | null; v6: string | null };
  /** How the public addresses were learnt: "given", "stun HOST:PORT", or null. */
  sip_public_from: string | null;
  /** The source's AS number per family (`--asn-db`). */
  sip_asn: { v4: number | null; v6: number | null };
}

/** One run's record, built as it goes and written by {@link RunRecord.write}. */
export class RunRecord {
  readonly #start = new Date();
  readonly #sysctlKeys: string[];
  #before: Record<string, string | null> | null = null;
  readonly #commit = sourceCommit();
  host: HostFacts;
  /** Reads the current counts (set once the engine exists). */
  counts: () => RunCounts = () => ({
    jobs: 0,
    results: 0,
    skipped: 0,
    flows: 0,
    unobserved: 0,
    kernel_drops: 0,
    other_shards: 0,
    resumed: 0,
  });

  constructor(
    private readonly path: string,
    private readonly run: {
      plugin: Plugin;
      args: PluginArgs;
      model: Model;
      workers: number;
      input?: string;
      output?: string;
      schedule: ScheduleOptions;
      iface: string;
    },
    private readonly sysctl: SysctlAccess = procSysctl(),
  ) {
    this.#sysctlKeys = recordedSysctls(run.model);
    this.host = {
      interface: run.iface,
      addresses: [],
      sip: { v4: null, v6: null },
      sip_public: { v4: null, v6: null },
      sip_public_from: null,
      sip_asn: { v4: null, v6: null },
    };
  }

  /** Reads the sysctls as they are before the run changes any (once it holds the lock). */
  settingsBefore(): void {
    this.#before = readSysctls(this.#sysctlKeys, this.sysctl);
  }

  /** The record as written, ending now with `status` (and the signal or error that ended it). */
  build(status: number | null, ended: { signal?: string; error?: string } = {}) {
    const s = this.run.schedule;
    const { connect, timeout, ...pluginOptions } = this.run.args;
    return {
      tool: "pathspider",
      version: VERSION,
      compat_version: COMPAT_VERSION,
      commit: this.#commit.commit,
      commit_from: this.#commit.from,
      command_line: redactArgv(s.argv),
      plugin: this.run.plugin.name,
      plugin_version: this.run.plugin.version,
      plugin_options: { connect, timeout, ...pluginOptions },
      vantage: s.vantage ?? null,
      ...this.host,
      kernel: Deno.osRelease(),
      sysctls: { before: this.#before, after: readSysctls(this.#sysctlKeys, this.sysctl) },
      start: this.#start.toISOString(),
      end: new Date().toISOString(),
      workers: this.run.workers,
      rate: s.rate ?? null,
      seed: s.seed ?? null,
      shards: s.shards,
      shard: s.shard,
      resume: s.resume,
      input: this.run.input ?? "-",
      output: this.run.output ?? "-",
      counts: this.counts(),
      exit_status: status,
      interrupted_by: ended.signal ?? null,
      error: ended.error ?? null,
    };
  }

  /**
   * Writes the record (synchronously: it also runs as a last action before a forced exit),
   * through a temporary file renamed over FILE, so a reader never sees half a record.
   */
  write(status: number | null, ended: { signal?: string; error?: string } = {}): void {
    const text = JSON.stringify(this.build(status, ended), null, 2) + "\n";
    const tmp = `${this.path}.tmp-${Deno.pid}`;
    Deno.writeTextFileSync(tmp, text);
    Deno.renameSync(tmp, this.path);
  }
}

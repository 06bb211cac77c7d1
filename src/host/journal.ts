/**
 * The settings journal: every system setting `measure` changes (sysctls, and the forge model's
 * temporary nftables table) is written to a journal file with its old value BEFORE it is
 * changed, and put back on every exit path. A run
 * killed with SIGKILL leaves its journal behind; the next run finds it (its pid is gone),
 * restores the old values in the network namespace they belong to and says so on stderr.
 *
 * Journal files: `$PATHSPIDER_JOURNAL_DIR` or `/run/pathspider`, one `journal-<pid>.json` per run.
 */

/** Reads and writes sysctls; swappable so that tests can use a plain directory. */
export interface SysctlAccess {
  /** Current value (trimmed). */
  read(key: string): string;
  /** Writes a value. */
  write(key: string, value: string): void;
}

/** Sysctls through `/proc/sys` of the calling process's network namespace (or another root). */
export function procSysctl(root = "/proc/sys"): SysctlAccess {
  const path = (key: string) => `${root}/${key.replaceAll(".", "/")}`;
  return {
    read: (key) => Deno.readTextFileSync(path(key)).trim(),
    write: (key, value) => Deno.writeTextFileSync(path(key), `${value}\n`),
  };
}

/** One journalled change. */
export interface JournalEntry {
  /** A sysctl, or an nftables table (family inet) this run added (the forge model's). */
  kind: "sysctl" | "nftables";
  /** Sysctl name, or table name. */
  key: string;
  /** The value before this run first changed it ("" for a table: it did not exist). */
  old: string;
}

/** Runs `nft` with `args` synchronously (so that it works from a signal handler). */
export type NftRunner = (args: string[]) => void;

/** `nft` through a subprocess; `ns`: run it in that named network namespace. */
export function nftCommand(ns?: string): NftRunner {
  return (args) => {
    const argv = ns === undefined ? ["nft", ...args] : ["ip", "netns", "exec", ns, "nft", ...args];
    const out = new Deno.Command(argv[0], { args: argv.slice(1), stdout: "null", stderr: "piped" })
      .outputSync();
    if (!out.success) {
      const err = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
      throw new Error(`nft ${args.join(" ")}: ${err}`);
    }
  };
}

/** Deletes an nftables table (family inet) if it is there. */
function deleteTable(nft: NftRunner, table: string): void {
  try {
    nft(["list", "table", "inet", table]);
  } catch {
    return; // already gone
  }
  nft(["delete", "table", "inet", table]);
}

/** What a journal file holds. */
export interface JournalFile {
  pid: number;
  /** Start time of the process (clock ticks since boot, /proc/<pid>/stat field 22): pid reuse guard. */
  pidStart: string;
  /** `net:[inode]` of the network namespace the settings belong to. */
  netns: string;
  entries: JournalEntry[];
}

/** The journal directory in effect. */
export function journalDir(): string {
  return Deno.env.get("PATHSPIDER_JOURNAL_DIR") ?? "/run/pathspider";
}

function processStart(pid: number | "self"): string {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // the command name (field 2) may hold spaces: count fields after its closing parenthesis
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
  } catch {
    return "";
  }
}

/** `net:[inode]` of this process's network namespace. */
export function currentNetns(): string {
  try {
    return Deno.readLinkSync("/proc/self/ns/net");
  } catch {
    return "net:[unknown]";
  }
}

/** The journal of this run. Create with `open`, change settings with `set`, end with `restore`. */
export class SettingsJournal {
  #entries: JournalEntry[] = [];
  #restored = false;
  readonly path: string;

  private constructor(
    readonly dir: string,
    private readonly sysctl: SysctlAccess,
    private readonly netns: string,
    private readonly nft: NftRunner = nftCommand(),
  ) {
    this.path = `${dir}/journal-${Deno.pid}.json`;
  }

  /** A journal for this process; writes nothing until the first change. */
  static open(
    dir = journalDir(),
    sysctl: SysctlAccess = procSysctl(),
    netns = currentNetns(),
    nft: NftRunner = nftCommand(),
  ): SettingsJournal {
    return new SettingsJournal(dir, sysctl, netns, nft);
  }

  /** Changes a sysctl, after journalling its old value (only the first change of a key). */
  set(key: string, value: string): void {
    if (!this.#entries.some((e) => e.key === key)) {
      const old = this.sysctl.read(key);
      this.#entries.push({ kind: "sysctl", key, old });
      this.#write();
    }
    this.#restored = false;
    this.sysctl.write(key, value);
  }

  /**
   * Adds an nftables table (family inet) named `table` from the rule set `rules` (which must
   * create exactly that table), after journalling it; `restore` deletes it again.
   */
  addNftables(table: string, rules: string): void {
    if (!this.#entries.some((e) => e.kind === "nftables" && e.key === table)) {
      this.#entries.push({ kind: "nftables", key: table, old: "" });
      this.#write();
    }
    this.#restored = false;
    const file = Deno.makeTempFileSync({ prefix: "pathspider-nft-" });
    try {
      Deno.writeTextFileSync(file, rules);
      this.nft(["-f", file]);
    } finally {
      Deno.removeSync(file);
    }
  }

  /** Keys changed so far, with their old values. */
  get entries(): readonly JournalEntry[] {
    return this.#entries;
  }

  #write(): void {
    Deno.mkdirSync(this.dir, { recursive: true });
    const body: JournalFile = {
      pid: Deno.pid,
      pidStart: processStart("self"),
      netns: this.netns,
      entries: this.#entries,
    };
    const tmp = `${this.path}.tmp`;
    const f = Deno.openSync(tmp, { write: true, create: true, truncate: true });
    try {
      f.writeSync(new TextEncoder().encode(JSON.stringify(body) + "\n"));
      f.syncSync();
    } finally {
      f.close();
    }
    Deno.renameSync(tmp, this.path);
  }

  /**
   * Puts every changed setting back (last changed first) and removes the journal file.
   * Synchronous, so it can run from a signal handler right before exit. Idempotent.
   * Returns the problems met (one line each); the file stays when something failed.
   */
  restore(): string[] {
    if (this.#restored) return [];
    const problems = restoreEntries(this.#entries, this.sysctl, this.nft);
    if (problems.length === 0) {
      try {
        Deno.removeSync(this.path);
      } catch { /* never written or already gone */ }
      this.#restored = true;
    }
    return problems;
  }
}

function restoreEntries(
  entries: readonly JournalEntry[],
  sysctl: SysctlAccess,
  nft: NftRunner,
): string[] {
  const problems: string[] = [];
  for (const e of [...entries].reverse()) {
    try {
      if (e.kind === "nftables") deleteTable(nft, e.key);
      else if (sysctl.read(e.key) !== e.old) sysctl.write(e.key, e.old);
    } catch (err) {
      problems.push(`could not restore ${e.key}=${e.old}: ${(err as Error).message}`);
    }
  }
  return problems;
}

/** The named network namespace (`ip netns`) whose inode is `netns`, if any. */
function namedNetns(netns: string): string | undefined {
  try {
    for (const d of Deno.readDirSync("/run/netns")) {
      const ino = Deno.statSync(`/run/netns/${d.name}`).ino;
      if (netns === `net:[${ino}]`) return d.name;
    }
  } catch { /* no named namespaces */ }
  return undefined;
}

/** Sysctls of a named namespace, through `ip netns exec NAME sysctl`. */
function netnsSysctl(name: string): SysctlAccess {
  const run = (args: string[]) => {
    const out = new Deno.Command("ip", { args: ["netns", "exec", name, "sysctl", ...args] })
      .outputSync();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr).trim());
    return new TextDecoder().decode(out.stdout).trim();
  };
  return {
    read: (key) => run(["-n", key]),
    write: (key, value) => void run(["-qw", `${key}=${value}`]),
  };
}

/**
 * Restores the journals left by runs that died without cleaning up (their pid is gone, or is
 * now another process). Reports each on `report` (one line). `sysctl` serves journals of this
 * network namespace; journals of another namespace are restored there when it still exists.
 */
export function recoverStaleJournals(
  report: (line: string) => void,
  dir = journalDir(),
  sysctl: SysctlAccess = procSysctl(),
  netns = currentNetns(),
  nft: NftRunner = nftCommand(),
): number {
  let recovered = 0;
  let names: string[];
  try {
    names = [...Deno.readDirSync(dir)].map((d) => d.name).filter((n) =>
      /^journal-\d+\.json$/.test(n)
    );
  } catch {
    return 0;
  }
  for (const name of names) {
    const path = `${dir}/${name}`;
    let j: JournalFile;
    try {
      j = JSON.parse(Deno.readTextFileSync(path));
    } catch {
      continue; // being written right now, or not ours
    }
    if (j.pid === Deno.pid) continue;
    const start = processStart(j.pid);
    if (start !== "" && start === j.pidStart) continue; // still running
    const what = j.entries.map((e) =>
      e.kind === "nftables" ? `nftables table ${e.key}` : `${e.key}=${e.old}`
    ).join(", ");
    let access: SysctlAccess | undefined;
    let nftAccess = nft;
    let where = "";
    if (j.netns === netns) access = sysctl;
    else {
      const ns = namedNetns(j.netns);
      if (ns !== undefined) {
        access = netnsSysctl(ns), nftAccess = nftCommand(ns);
        where = ` in network namespace ${ns}`;
      }
    }
    if (access === undefined) {
      report(
        `pathspider: a run (pid ${j.pid}) ended without restoring ${what}, but its network ` +
          `namespace ${j.netns} no longer exists: nothing to restore`,
      );
      Deno.removeSync(path);
      continue;
    }
    const problems = restoreEntries(j.entries, access, nftAccess);
    if (problems.length > 0) {
      for (const p of problems) report(`pathspider: stale journal ${path}: ${p}`);
      continue;
    }
    Deno.removeSync(path);
    recovered++;
    report(
      `pathspider: restored ${what}${where}, left changed by an earlier run (pid ${j.pid}) that did not finish`,
    );
  }
  return recovered;
}

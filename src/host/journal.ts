/**
 * The settings journal: every system setting `measure` changes (sysctls, and the forge model's
 * temporary nftables table) is written to a journal file with its old value (and the values
 * this run sets) BEFORE it is changed, and put back on every exit path, but only while it still
 * holds a value this run set: a value someone else wrote since is left, with a warning. A run
 * killed with SIGKILL leaves its journal behind; the next run finds it (its pid is gone),
 * restores the old values in the network namespace they belong to (same rule) and says so.
 *
 * The journal is read back as root, so it trusts nothing it did not write itself: its directory
 * must belong to the running user (or root) and be writable by nobody else (src/host/journal_dir.ts),
 * files are created 0600 with O_EXCL (which never follows a symlink), read only when they are
 * regular files (lstat before, fstat after opening, same inode), and recovery restores only the
 * sysctls of {@link JOURNALLED_SYSCTLS} and nftables tables named `pathspider_forge_<pid>`. A
 * file that does not parse, or names anything else, is renamed aside and reported.
 *
 * Journal files: one `journal-<pid>.json` per run in the directory of `journalDir()`.
 */
import { checkJournalDir, journalDir } from "./journal_dir.ts";
import { FORGE_PORTS } from "./firewall.ts";
import { addForgeTable, deleteNftTable } from "../ffi/nftables.ts";
export { journalDir };

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
  /**
   * Every value this run wrote to the sysctl (journalled before each first write). Recovery
   * restores `old` only while the sysctl holds one of them. Absent for tables.
   */
  set?: string[];
}

/**
 * The sysctls pathspider changes (the plugins' settings; tests/unit/spider_journal_test.ts
 * checks every plugin's against it). The journal writes no other, and recovery restores no other.
 */
export const JOURNALLED_SYSCTLS: ReadonlySet<string> = new Set([
  "net.ipv4.tcp_ecn",
  "net.ipv4.tcp_ecn_fallback",
  "net.ipv4.tcp_timestamps",
  "net.ipv4.tcp_window_scaling",
  "net.ipv4.tcp_sack",
  "net.ipv4.tcp_fastopen",
]);

/** The names of the forge model's tables (src/host/firewall.ts). */
const FORGE_TABLE = /^pathspider_forge_\d{1,10}$/;

/** A value of one of our sysctls: integers, as the kernel prints them (tab-separated). */
const SYSCTL_VALUE = /^-?\d{1,20}(\s+-?\d{1,20}){0,7}$/;

/** A sysctl value as compared: the kernel prints tabs where we may write spaces. */
function norm(v: string): string {
  return v.trim().split(/\s+/).join(" ");
}

/** Runs `nft` with `args` synchronously (so that it works from a signal handler). */
export type NftRunner = (args: string[]) => void;

/** `nft` through a subprocess; `ns`: run it in that named network namespace. */
export function nftCommand(ns?: string): NftRunner {
  return (args) => {
    const [cmd, ...argv] = ns === undefined
      ? ["nft", ...args]
      : ["ip", "netns", "exec", ns, "nft", ...args];
    const out = new Deno.Command(cmd!, { args: argv, stdout: "null", stderr: "piped" })
      .outputSync();
    if (!out.success) {
      const err = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
      throw new Error(`nft ${args.join(" ")}: ${err}`);
    }
  };
}

/** Adds and deletes nftables tables (family inet). */
export interface NftTables {
  /** Adds `table` from the rule set `rules` (which creates exactly that table). */
  add(table: string, rules: string): void;
  /** Deletes `table` if it is there. */
  delete(table: string): void;
}

/** `nft` commands through `run` (the `nft` program, or a fake in tests). */
export function nftTables(run: NftRunner): NftTables {
  return {
    add(_table, rules) {
      const file = Deno.makeTempFileSync({ prefix: "pathspider-nft-" });
      try {
        Deno.writeTextFileSync(file, rules);
        run(["-f", file]);
      } finally {
        Deno.removeSync(file);
      }
    },
    delete(table) {
      try {
        run(["list", "table", "inet", table]);
      } catch {
        return; // already gone
      }
      run(["delete", "table", "inet", table]);
    },
  };
}

/**
 * The forge table over netlink from the native library (src/ffi/nftables.ts): no `nft` child,
 * so CAP_NET_ADMIN from file capabilities (which a child does not inherit) is enough, and no
 * `nft` program is needed. It makes the table of `forgeFirewall` (src/host/firewall.ts) itself,
 * from the forge port range; only names of that form are added.
 */
export function netlinkTables(): NftTables {
  return {
    add(table) {
      if (!FORGE_TABLE.test(table)) throw new Error(`${table} is not a forge table name`);
      addForgeTable(table, FORGE_PORTS);
    },
    delete(table) {
      deleteNftTable(table);
    },
  };
}

/** An NftRunner is wrapped; NftTables are used as they are. */
function tablesOf(nft: NftRunner | NftTables): NftTables {
  return typeof nft === "function" ? nftTables(nft) : nft;
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
  /** The value this run wrote last to each sysctl. */
  #last = new Map<string, string>();
  #restored = false;
  readonly path: string;

  private constructor(
    readonly dir: string,
    private readonly sysctl: SysctlAccess,
    private readonly netns: string,
    private readonly nft: NftTables = netlinkTables(),
  ) {
    this.path = `${dir}/journal-${Deno.pid}.json`;
  }

  /** A journal for this process; writes nothing until the first change. */
  static open(
    dir = journalDir(),
    sysctl: SysctlAccess = procSysctl(),
    netns = currentNetns(),
    nft: NftRunner | NftTables = netlinkTables(),
  ): SettingsJournal {
    return new SettingsJournal(dir, sysctl, netns, tablesOf(nft));
  }

  /**
   * Changes a sysctl, after journalling its old value (at its first change) and the value (the
   * first time this value is written). Only sysctls of {@link JOURNALLED_SYSCTLS}.
   */
  set(key: string, value: string): void {
    if (!JOURNALLED_SYSCTLS.has(key)) {
      throw new Error(`${key} is not a setting pathspider journals (JOURNALLED_SYSCTLS)`);
    }
    let e = this.#entries.find((e) => e.kind === "sysctl" && e.key === key);
    if (e === undefined) {
      e = { kind: "sysctl", key, old: norm(this.sysctl.read(key)), set: [norm(value)] };
      this.#entries.push(e);
      this.#write();
    } else if (!e.set!.includes(norm(value))) {
      e.set!.push(norm(value));
      this.#write();
    }
    this.#restored = false;
    this.sysctl.write(key, value);
    this.#last.set(key, norm(value));
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
    this.nft.add(table, rules);
  }

  /**
   * Checks that the sysctl `key` can be changed here by writing back the value it holds (no
   * change): a missing capability shows before the run, not at its first switch.
   */
  checkWritable(key: string): void {
    this.sysctl.write(key, this.sysctl.read(key));
  }

  /** Keys changed so far, with their old values. */
  get entries(): readonly JournalEntry[] {
    return this.#entries;
  }

  #write(): void {
    checkJournalDir(this.dir);
    const body: JournalFile = {
      pid: Deno.pid,
      pidStart: processStart("self"),
      netns: this.netns,
      entries: this.#entries,
    };
    // a fresh file each time: createNew is O_CREAT|O_EXCL, which fails on anything already
    // there, a symlink included, instead of following it; rename replaces the old journal (or
    // whatever has its name) without following it either
    const tmp = `${this.path}.tmp`;
    try {
      Deno.removeSync(tmp);
    } catch { /* not there: the usual case */ }
    const f = Deno.openSync(tmp, { write: true, createNew: true, mode: 0o600 });
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
    const { problems, warnings } = restoreEntries(
      this.#entries,
      this.sysctl,
      this.nft,
      (e) => this.#last.has(e.key) ? [this.#last.get(e.key)!] : [],
    );
    if (problems.length > 0) return [...warnings, ...problems];
    this.#restored = true;
    if (this.#entries.length > 0) {
      try {
        Deno.removeSync(this.path);
      } catch { /* never written or already gone */ }
    }
    return warnings;
  }
}

/**
 * Puts `entries` back, last first. A sysctl is restored only while it holds one of the values
 * `ours(entry)` names (what this run set); another value was written by someone else since, and
 * is left, with a warning. `problems`: what failed (the journal must stay).
 */
function restoreEntries(
  entries: readonly JournalEntry[],
  sysctl: SysctlAccess,
  nft: NftTables,
  ours: (e: JournalEntry) => readonly string[],
): { problems: string[]; warnings: string[] } {
  const problems: string[] = [], warnings: string[] = [];
  for (const e of [...entries].reverse()) {
    try {
      if (e.kind === "nftables") {
        nft.delete(e.key);
        continue;
      }
      const now = norm(sysctl.read(e.key));
      if (now === e.old) continue;
      const mine = ours(e);
      if (mine.includes(now)) sysctl.write(e.key, e.old);
      else {
        warnings.push(
          `${e.key} is ${now}, not the ${mine.join(" or ") || "value"} pathspider set: ` +
            `changed by someone else since, so left as it is (it was ${e.old} before)`,
        );
      }
    } catch (err) {
      problems.push(`could not restore ${e.key}=${e.old}: ${(err as Error).message}`);
    }
  }
  return { problems, warnings };
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
 * A journal that is not a regular file of ours, does not parse, or names a setting pathspider
 * never changes is renamed aside (`*.refused-<time>`) and reported; nothing in it is restored.
 */
export function recoverStaleJournals(
  report: (line: string) => void,
  dir = journalDir(),
  sysctl: SysctlAccess = procSysctl(),
  netns = currentNetns(),
  nft: NftRunner | NftTables = netlinkTables(),
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
  // it exists: read nothing from it unless it is safe
  checkJournalDir(dir);
  for (const name of names) {
    const path = `${dir}/${name}`;
    const j = readJournal(path);
    if (typeof j === "string") {
      const aside = `${path}.refused-${Date.now()}`;
      let moved = "";
      try {
        Deno.renameSync(path, aside);
        moved = `; renamed to ${aside}`;
      } catch (e) {
        moved = `; could not rename it: ${(e as Error).message}`;
      }
      report(
        `pathspider: warning: journal ${path} refused (${j}), nothing restored from it${moved}`,
      );
      continue;
    }
    if (j.pid === Deno.pid) continue;
    const start = processStart(j.pid);
    if (start !== "" && start === j.pidStart) continue; // still running
    const what = j.entries.map((e) =>
      e.kind === "nftables" ? `nftables table ${e.key}` : `${e.key}=${e.old}`
    ).join(", ");
    let access: SysctlAccess | undefined;
    // another namespace's table is deleted there by `ip netns exec NAME nft`
    let nftAccess = tablesOf(nft);
    let where = "";
    if (j.netns === netns) access = sysctl;
    else {
      const ns = namedNetns(j.netns);
      if (ns !== undefined) {
        access = netnsSysctl(ns), nftAccess = nftTables(nftCommand(ns));
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
    // an older journal without `set` names no values: restore whatever is there, as before
    const sysctls = access;
    const { problems, warnings } = restoreEntries(
      j.entries,
      sysctls,
      nftAccess,
      (e) => e.set ?? [norm(sysctls.read(e.key))],
    );
    for (const w of warnings) report(`pathspider: warning: stale journal ${path}: ${w}`);
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

/** Journals are a few hundred bytes; anything much larger is not one. */
const MAX_JOURNAL_BYTES = 64 * 1024;

/**
 * Reads and checks a journal file: a regular file (not a symlink) of this user or root, the
 * same file once opened (no swap between lstat and open), that parses into a journal naming
 * only what pathspider changes. Returns why not, as text.
 */
function readJournal(path: string): JournalFile | string {
  let text: string;
  try {
    const before = Deno.lstatSync(path);
    if (before.isSymlink) return "a symbolic link";
    if (!before.isFile) return "not a regular file";
    if (before.uid !== Deno.uid() && before.uid !== 0) return `owned by uid ${before.uid}`;
    if (before.size > MAX_JOURNAL_BYTES) return `${before.size} bytes, too large`;
    const f = Deno.openSync(path, { read: true });
    try {
      const after = f.statSync();
      if (after.ino !== before.ino || after.dev !== before.dev) return "replaced while opened";
      const buf = new Uint8Array(MAX_JOURNAL_BYTES + 1);
      let n = 0;
      for (let r; n < buf.length && (r = f.readSync(buf.subarray(n))) !== null;) n += r;
      text = new TextDecoder().decode(buf.subarray(0, n));
    } finally {
      f.close();
    }
  } catch (e) {
    return `unreadable: ${(e as Error).message}`;
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return "does not parse";
  }
  return checkJournal(j);
}

/** The journal `j` if it is one pathspider could have written, else why not. */
export function checkJournal(j: unknown): JournalFile | string {
  if (j === null || typeof j !== "object" || Array.isArray(j)) return "not a journal object";
  const f = j as Record<string, unknown>;
  if (typeof f.pid !== "number" || !Number.isInteger(f.pid) || f.pid <= 0) return "no valid pid";
  if (typeof f.pidStart !== "string") return "no valid pidStart";
  if (typeof f.netns !== "string" || !/^net:\[\d+\]$/.test(f.netns)) return "no valid netns";
  if (!Array.isArray(f.entries)) return "no entries";
  for (const e of f.entries as unknown[]) {
    if (e === null || typeof e !== "object") return "an entry is not an object";
    const { kind, key, old, set } = e as Record<string, unknown>;
    if (typeof key !== "string" || typeof old !== "string") return "an entry without key or old";
    if (kind === "nftables") {
      if (!FORGE_TABLE.test(key) || old !== "") {
        return `nftables table ${JSON.stringify(key)} is not one pathspider adds`;
      }
    } else if (kind === "sysctl") {
      if (!JOURNALLED_SYSCTLS.has(key)) {
        return `sysctl ${JSON.stringify(key)} is not one pathspider changes`;
      }
      const values = set === undefined ? [] : set;
      if (!Array.isArray(values) || ![old, ...values].every((v) => SYSCTL_VALUE.test(v))) {
        return `values of ${key} that pathspider never writes`;
      }
    } else return `an entry of unknown kind ${JSON.stringify(kind)}`;
  }
  return f as unknown as JournalFile;
}

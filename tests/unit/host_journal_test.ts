/**
 * The settings journal as something root reads back (planted, corrupt and symlinked journals, an
 * unsafe directory), the per-namespace settings lock, and restore-only-if-ours, driven as two
 * overlapping runs would drive them.
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  rejects as assertRejects,
  throws as assertThrows,
} from "node:assert/strict";
import {
  JOURNALLED_SYSCTLS,
  procSysctl,
  recoverStaleJournals,
  SettingsJournal,
} from "../../src/host/journal.ts";
import { checkJournalDir } from "../../src/host/journal_dir.ts";
import { lockSettings } from "../../src/host/lock.ts";
import { UserError } from "../../src/errors.ts";
import { PLUGINS } from "../../src/plugins/registry.ts";
import type { PluginArgs } from "../../src/plugins/plugin.ts";

/** A fake /proc/sys with tcp_ecn=2, tcp_ecn_fallback=1, and a journal directory. */
async function fakeSys() {
  const root = await Deno.makeTempDir({ prefix: "psh-sys-" });
  await Deno.mkdir(`${root}/net/ipv4`, { recursive: true });
  await Deno.mkdir(`${root}/kernel`, { recursive: true });
  await Deno.writeTextFile(`${root}/net/ipv4/tcp_ecn`, "2\n");
  await Deno.writeTextFile(`${root}/net/ipv4/tcp_ecn_fallback`, "1\n");
  await Deno.writeTextFile(`${root}/kernel/core_pattern`, "core\n");
  const journals = await Deno.makeTempDir({ prefix: "psh-dir-" });
  const sys = procSysctl(root);
  const cleanup = () =>
    Promise.all([root, journals].map((d) => Deno.remove(d, { recursive: true })));
  return { root, journals, sys, cleanup };
}

/** Writes a journal of a dead process (pid 999999999) with `body` merged in. */
function plant(dir: string, body: unknown, name = "journal-999999999.json") {
  Deno.writeTextFileSync(`${dir}/${name}`, typeof body === "string" ? body : JSON.stringify(body));
}

const DEAD = { pid: 999999999, pidStart: "1", netns: "net:[1]" };

Deno.test("two overlapping runs: the second waits for or is refused the settings lock", async () => {
  const s = await fakeSys();
  try {
    const say = (l: string) => lines.push(l);
    const lines: string[] = [];
    // run A takes the lock and changes tcp_ecn
    const lockA = await lockSettings(s.journals, { wait: true, say, netns: "net:[1]" });
    const a = SettingsJournal.open(s.journals, s.sys, "net:[1]");
    a.set("net.ipv4.tcp_ecn", "1");
    // run B with --no-wait: one line, exit 3, nothing journalled
    await assertRejects(
      () => lockSettings(s.journals, { wait: false, say, netns: "net:[1]" }),
      (e: UserError) => {
        assertMatch(e.message, new RegExp(`pid ${Deno.pid}\\) is changing settings.*--no-wait`));
        assertEquals(e.code, 3);
        return true;
      },
    );
    // another namespace has its own lock
    using _other = await lockSettings(s.journals, { wait: false, say, netns: "net:[2]" });
    // run B waiting: it gets the lock only once A has restored and released it
    let bHas = false;
    const b = lockSettings(s.journals, { wait: true, say, netns: "net:[1]" }).then((l) => {
      bHas = true;
      assertEquals(s.sys.read("net.ipv4.tcp_ecn"), "2"); // A's restore came first
      return l;
    });
    await new Promise((r) => setTimeout(r, 500));
    assertEquals(bHas, false);
    assertMatch(lines.join("\n"), /waiting for it to finish/);
    assertEquals(a.restore(), []);
    lockA[Symbol.dispose]();
    (await b)[Symbol.dispose]();
    assertEquals(bHas, true);
  } finally {
    await s.cleanup();
  }
});

Deno.test("a waiting run gives up when cancelled (a signal) with that exit status", async () => {
  const s = await fakeSys();
  try {
    using _held = await lockSettings(s.journals, { wait: true, say: () => {}, netns: "net:[1]" });
    let stop: { why: string; code: number } | undefined;
    setTimeout(() => stop = { why: "SIGTERM", code: 143 }, 300);
    await assertRejects(
      () =>
        lockSettings(s.journals, {
          wait: true,
          say: () => {},
          netns: "net:[1]",
          cancelled: () => stop,
        }),
      (e: UserError) => e.code === 143 && /SIGTERM while waiting/.test(e.message),
    );
  } finally {
    await s.cleanup();
  }
});

Deno.test("the kernel releases the lock of a run killed with SIGKILL", async () => {
  const s = await fakeSys();
  try {
    const lockUrl = new URL("../../src/host/lock.ts", import.meta.url).href;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { lockSettings } from "${lockUrl}";
         await lockSettings(${
          JSON.stringify(s.journals)
        }, { wait: false, say: () => {}, netns: "net:[1]" });
         console.log("locked");
         await new Promise(() => setInterval(() => {}, 1000));`,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.getReader();
    assertEquals(new TextDecoder().decode((await reader.read()).value), "locked\n");
    await assertRejects(() =>
      lockSettings(s.journals, { wait: false, say: () => {}, netns: "net:[1]" })
    );
    child.kill("SIGKILL");
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel();
    using _l = await lockSettings(s.journals, { wait: false, say: () => {}, netns: "net:[1]" });
  } finally {
    await s.cleanup();
  }
});

Deno.test("restore leaves a setting someone else changed since, with a warning", async () => {
  const s = await fakeSys();
  try {
    const a = SettingsJournal.open(s.journals, s.sys, "net:[1]");
    a.set("net.ipv4.tcp_ecn", "1");
    a.set("net.ipv4.tcp_ecn_fallback", "0");
    // another program (or a run of an older version, without the lock) writes over it
    s.sys.write("net.ipv4.tcp_ecn", "0");
    const lines = a.restore();
    assertEquals(s.sys.read("net.ipv4.tcp_ecn"), "0");
    assertEquals(s.sys.read("net.ipv4.tcp_ecn_fallback"), "1");
    assertEquals(lines.length, 1);
    assertMatch(lines[0]!, /net\.ipv4\.tcp_ecn is 0, not the 1 pathspider set.*left as it is/);
    assertEquals([...Deno.readDirSync(s.journals)].length, 0);
  } finally {
    await s.cleanup();
  }
});

Deno.test("recovery restores only while the setting holds a value the dead run set", async () => {
  const s = await fakeSys();
  try {
    // the dead run set tcp_ecn 1 (was 0) and fallback 0 (was 0); someone set tcp_ecn to 2 since
    plant(s.journals, {
      ...DEAD,
      entries: [
        { kind: "sysctl", key: "net.ipv4.tcp_ecn", old: "0", set: ["1"] },
        { kind: "sysctl", key: "net.ipv4.tcp_ecn_fallback", old: "0", set: ["0", "1"] },
      ],
    });
    const lines: string[] = [];
    assertEquals(recoverStaleJournals((l) => lines.push(l), s.journals, s.sys, "net:[1]"), 1);
    assertEquals(s.sys.read("net.ipv4.tcp_ecn"), "2");
    assertEquals(s.sys.read("net.ipv4.tcp_ecn_fallback"), "0");
    assertMatch(lines.join("\n"), /warning: .*net\.ipv4\.tcp_ecn is 2, not the 1 pathspider set/);
  } finally {
    await s.cleanup();
  }
});

Deno.test("a planted journal naming a foreign sysctl or table is refused and set aside", async () => {
  for (
    const [entry, why] of [
      [{ kind: "sysctl", key: "kernel.core_pattern", old: "|/tmp/x" }, /kernel\.core_pattern/],
      [{ kind: "sysctl", key: "net.ipv4.tcp_ecn", old: "$(reboot)" }, /values of net\.ipv4/],
      [{ kind: "nftables", key: "filter", old: "" }, /table "filter" is not one/],
      [{ kind: "file", key: "/etc/passwd", old: "" }, /unknown kind/],
    ] as const
  ) {
    const s = await fakeSys();
    try {
      const nftCalls: string[][] = [];
      plant(s.journals, { ...DEAD, entries: [entry] });
      const lines: string[] = [];
      const n = recoverStaleJournals(
        (l) => lines.push(l),
        s.journals,
        s.sys,
        "net:[1]",
        (a) => void nftCalls.push(a),
      );
      assertEquals(n, 0);
      assertEquals(nftCalls, []);
      assertEquals(s.sys.read("kernel.core_pattern"), "core");
      assertEquals(s.sys.read("net.ipv4.tcp_ecn"), "2");
      assertEquals(lines.length, 1);
      assertMatch(lines[0]!, /^pathspider: warning: journal .* refused \(/);
      assertMatch(lines[0]!, why);
      const left = [...Deno.readDirSync(s.journals)].map((d) => d.name);
      assertEquals(left.length, 1);
      assertMatch(left[0]!, /^journal-999999999\.json\.refused-\d+$/);
      // set aside: the next run does not see it again
      assertEquals(
        recoverStaleJournals(() => lines.push("again"), s.journals, s.sys, "net:[1]"),
        0,
      );
      assertEquals(lines.length, 1);
    } finally {
      await s.cleanup();
    }
  }
});

Deno.test("a corrupt journal (null, {}, garbage) is set aside with a warning; recovery goes on", async () => {
  const s = await fakeSys();
  try {
    plant(s.journals, "null", "journal-999999991.json");
    plant(s.journals, "{}", "journal-999999992.json");
    plant(s.journals, "\u0000\u0001garbage{", "journal-999999993.json");
    // beside them, a good stale journal is still restored
    s.sys.write("net.ipv4.tcp_ecn", "1");
    plant(s.journals, {
      ...DEAD,
      entries: [{ kind: "sysctl", key: "net.ipv4.tcp_ecn", old: "2", set: ["1"] }],
    });
    const lines: string[] = [];
    assertEquals(recoverStaleJournals((l) => lines.push(l), s.journals, s.sys, "net:[1]"), 1);
    assertEquals(s.sys.read("net.ipv4.tcp_ecn"), "2");
    assertEquals(lines.filter((l) => /refused/.test(l)).length, 3);
    assertEquals(
      lines.filter((l) => /^pathspider: restored net\.ipv4\.tcp_ecn=2/.test(l)).length,
      1,
    );
    assertEquals(
      [...Deno.readDirSync(s.journals)].map((d) => d.name).filter((n) => n.endsWith(".json")),
      [],
    );
  } finally {
    await s.cleanup();
  }
});

Deno.test("a symlinked journal is refused without reading or following it", async () => {
  const s = await fakeSys();
  try {
    const target = `${s.root}/elsewhere.json`;
    Deno.writeTextFileSync(
      target,
      JSON.stringify({
        ...DEAD,
        entries: [{ kind: "sysctl", key: "net.ipv4.tcp_ecn", old: "0", set: ["2"] }],
      }),
    );
    Deno.symlinkSync(target, `${s.journals}/journal-999999999.json`);
    const lines: string[] = [];
    assertEquals(recoverStaleJournals((l) => lines.push(l), s.journals, s.sys, "net:[1]"), 0);
    assertEquals(s.sys.read("net.ipv4.tcp_ecn"), "2");
    assertMatch(lines[0]!, /refused \(a symbolic link\)/);
    assertEquals(Deno.readTextFileSync(target).length > 0, true); // the link's target untouched
  } finally {
    await s.cleanup();
  }
});

Deno.test("journal writes never follow a planted symlink and make 0600 files", async () => {
  const s = await fakeSys();
  try {
    const victim = `${s.root}/victim`;
    Deno.writeTextFileSync(victim, "precious\n");
    const j = SettingsJournal.open(s.journals, s.sys, "net:[1]");
    Deno.symlinkSync(victim, `${j.path}.tmp`);
    Deno.symlinkSync(victim, j.path);
    j.set("net.ipv4.tcp_ecn", "1");
    assertEquals(Deno.readTextFileSync(victim), "precious\n");
    const st = Deno.lstatSync(j.path);
    assertEquals(st.isFile, true);
    assertEquals(st.mode! & 0o777, 0o600);
    j.restore();
  } finally {
    await s.cleanup();
  }
});

Deno.test("a journal directory others may write in, or a symlink, or not ours, is refused", async () => {
  const s = await fakeSys();
  try {
    const open = `${s.root}/open`;
    Deno.mkdirSync(open);
    Deno.chmodSync(open, 0o777);
    assertThrows(() => checkJournalDir(open), /others may write in it \(mode 777\).*refusing/);
    assertThrows(() => SettingsJournal.open(open, s.sys, "net:[1]").set("net.ipv4.tcp_ecn", "1"));
    assertEquals(s.sys.read("net.ipv4.tcp_ecn"), "2");
    assertThrows(
      () => recoverStaleJournals(() => {}, open, s.sys, "net:[1]"),
      (e: UserError) => e.code === 3,
    );
    const link = `${s.root}/link`;
    Deno.symlinkSync(s.journals, link);
    assertThrows(() => checkJournalDir(link), /symbolic link/);
    const theirs = `${s.root}/theirs`;
    Deno.mkdirSync(theirs, { mode: 0o700 });
    Deno.chownSync(theirs, 65534, 65534);
    assertThrows(() => checkJournalDir(theirs), /belongs to uid 65534/);
    const fresh = `${s.root}/a/b/journal`;
    checkJournalDir(fresh);
    assertEquals(Deno.statSync(fresh).mode! & 0o777, 0o700);
  } finally {
    await s.cleanup();
  }
});

Deno.test("every plugin's settings are sysctls the journal may change and recover", () => {
  for (const p of PLUGINS) {
    const args: Record<string, unknown> = { connect: p.connectSupported[0], timeout: 5 };
    for (const o of p.options) {
      const name = /--([a-z0-9-]+)/.exec(o.flags)![1]!.replace(/-(.)/g, (_, c) => c.toUpperCase());
      args[name] = o.default;
    }
    let m;
    try {
      m = p.model(args as PluginArgs);
    } catch {
      continue; // needs an option without default: no settings of its own here
    }
    const settings = m.kind === "sync"
      ? m.configurations.flat()
      : m.kind === "desync"
      ? m.settings ?? []
      : [];
    for (const s of settings) {
      assertEquals(JOURNALLED_SYSCTLS.has(s.key), true, `${p.name}: ${s.key}`);
    }
  }
});

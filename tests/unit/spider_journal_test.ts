import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { procSysctl, recoverStaleJournals, SettingsJournal } from "../../src/host/journal.ts";

/** A fake /proc/sys tree in a temporary directory, with tcp_ecn=2 and tcp_ecn_fallback=1. */
async function fakeSys() {
  const root = await Deno.makeTempDir({ prefix: "psj-sys-" });
  await Deno.mkdir(`${root}/net/ipv4`, { recursive: true });
  await Deno.writeTextFile(`${root}/net/ipv4/tcp_ecn`, "2\n");
  await Deno.writeTextFile(`${root}/net/ipv4/tcp_ecn_fallback`, "1\n");
  const journals = await Deno.makeTempDir({ prefix: "psj-dir-" });
  const read = (k: string) => Deno.readTextFileSync(`${root}/net/ipv4/${k}`).trim();
  const cleanup = () =>
    Promise.all([root, journals].map((d) => Deno.remove(d, { recursive: true })));
  return { root, journals, read, cleanup };
}

Deno.test("the journal records the old value before the change and restores it", async () => {
  const s = await fakeSys();
  try {
    const j = SettingsJournal.open(s.journals, procSysctl(s.root), "net:[1]");
    j.set("net.ipv4.tcp_ecn", "1");
    j.set("net.ipv4.tcp_ecn_fallback", "0");
    j.set("net.ipv4.tcp_ecn", "2");
    j.set("net.ipv4.tcp_ecn", "1");
    const file = JSON.parse(await Deno.readTextFile(j.path));
    assertEquals(file.entries, [
      { kind: "sysctl", key: "net.ipv4.tcp_ecn", old: "2", set: ["1", "2"] },
      { kind: "sysctl", key: "net.ipv4.tcp_ecn_fallback", old: "1", set: ["0"] },
    ]);
    assertEquals([s.read("tcp_ecn"), s.read("tcp_ecn_fallback")], ["1", "0"]);
    assertEquals(j.restore(), []);
    assertEquals([s.read("tcp_ecn"), s.read("tcp_ecn_fallback")], ["2", "1"]);
    assertEquals([...Deno.readDirSync(s.journals)].length, 0);
    assertEquals(j.restore(), []); // twice is harmless
  } finally {
    await s.cleanup();
  }
});

Deno.test("a journal left by a killed run is restored by the next one, which says so", async () => {
  const s = await fakeSys();
  try {
    const journalUrl = new URL("../../src/host/journal.ts", import.meta.url).href;
    const code = `
      import { procSysctl, SettingsJournal } from "${journalUrl}";
      const j = SettingsJournal.open(${JSON.stringify(s.journals)}, procSysctl(${
      JSON.stringify(s.root)
    }), "net:[7]");
      j.set("net.ipv4.tcp_ecn", "1");
      j.set("net.ipv4.tcp_ecn_fallback", "0");
      Deno.kill(Deno.pid, "SIGKILL");
    `;
    const out = await new Deno.Command(Deno.execPath(), { args: ["eval", code], stderr: "null" })
      .output();
    assertEquals(out.signal, "SIGKILL");
    assertEquals([s.read("tcp_ecn"), s.read("tcp_ecn_fallback")], ["1", "0"]);
    const lines: string[] = [];
    const n = recoverStaleJournals((l) => lines.push(l), s.journals, procSysctl(s.root), "net:[7]");
    assertEquals(n, 1);
    assertEquals([s.read("tcp_ecn"), s.read("tcp_ecn_fallback")], ["2", "1"]);
    assertEquals(lines.length, 1);
    assertEquals(lines[0]!.includes("net.ipv4.tcp_ecn=2"), true);
    assertEquals([...Deno.readDirSync(s.journals)].length, 0);
  } finally {
    await s.cleanup();
  }
});

Deno.test("a journal of a live run is left alone", async () => {
  const s = await fakeSys();
  try {
    const j = SettingsJournal.open(s.journals, procSysctl(s.root), "net:[1]");
    j.set("net.ipv4.tcp_ecn", "1");
    // our own journal (our pid is alive) is not stale
    assertEquals(recoverStaleJournals(() => {}, s.journals, procSysctl(s.root), "net:[1]"), 0);
    assertEquals(s.read("tcp_ecn"), "1");
    j.restore();
  } finally {
    await s.cleanup();
  }
});

Deno.test("a stale journal whose network namespace is gone is dropped with a message", async () => {
  const s = await fakeSys();
  try {
    await Deno.writeTextFile(
      `${s.journals}/journal-999999999.json`,
      JSON.stringify({
        pid: 999999999,
        pidStart: "1",
        netns: "net:[1]",
        entries: [{ kind: "sysctl", key: "net.ipv4.tcp_ecn", old: "0" }],
      }),
    );
    const lines: string[] = [];
    recoverStaleJournals((l) => lines.push(l), s.journals, procSysctl(s.root), "net:[2]");
    assertEquals(s.read("tcp_ecn"), "2"); // not ours: untouched
    assertEquals(lines[0]!.includes("no longer exists"), true);
    assertEquals([...Deno.readDirSync(s.journals)].length, 0);
  } finally {
    await s.cleanup();
  }
});

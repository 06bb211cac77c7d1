/**
 * The forge model's firewall table as a journalled setting, with a fake `nft` that records its
 * calls and keeps a set of tables: journalled before it is added, deleted on restore, and
 * deleted by the next run's stale-journal recovery (the real nft runs in
 * tests/e2e/measure_forge_test.ts).
 */
import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import {
  type NftRunner,
  procSysctl,
  recoverStaleJournals,
  SettingsJournal,
} from "../../src/host/journal.ts";
import { forgeFirewall } from "../../src/host/firewall.ts";

function fakeNft(journalDir: string) {
  const tables = new Set<string>();
  const calls: string[] = [];
  const run: NftRunner = (args) => {
    calls.push(args[0]!);
    if (args[0] === "-f") {
      // the journal file must already name the table when nft runs
      const j = [...Deno.readDirSync(journalDir)].map((d) => d.name);
      assertEquals(j.length, 1);
      const text = Deno.readTextFileSync(args[1]!);
      const m = /table inet (\S+)/.exec(text)!;
      if (text.includes("BROKEN")) throw new Error("nft -f: syntax error");
      tables.add(m[1]!);
    } else if (args[0] === "list") {
      if (!tables.has(args[3]!)) throw new Error("No such file or directory");
    } else if (args[0] === "delete") tables.delete(args[3]!);
  };
  return { run, tables, calls };
}

Deno.test("the firewall table is journalled before nft adds it and deleted on restore", async () => {
  const dir = await Deno.makeTempDir({ prefix: "psj-forge-" });
  try {
    const nft = fakeNft(dir);
    const j = SettingsJournal.open(dir, procSysctl(dir), "net:[1]", nft.run);
    const fw = forgeFirewall(4242);
    j.addNftables(fw.table, fw.rules);
    assertEquals([...nft.tables], ["pathspider_forge_4242"]);
    const file = JSON.parse(await Deno.readTextFile(j.path));
    assertEquals(file.entries, [{ kind: "nftables", key: "pathspider_forge_4242", old: "" }]);
    assertEquals(j.restore(), []);
    assertEquals([...nft.tables], []);
    assertEquals([...Deno.readDirSync(dir)].length, 0);
    assertEquals(nft.calls, ["-f", "list", "delete"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a table nft refused stays journalled and restore finds nothing to delete", async () => {
  const dir = await Deno.makeTempDir({ prefix: "psj-forge-" });
  try {
    const nft = fakeNft(dir);
    const j = SettingsJournal.open(dir, procSysctl(dir), "net:[1]", nft.run);
    assertThrows(() => j.addNftables("pathspider_forge_1", "table inet pathspider_forge_1 BROKEN"));
    assertEquals(j.restore(), []);
    assertEquals(nft.calls, ["-f", "list"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the next run deletes the table of a run that died, and says so", async () => {
  const dir = await Deno.makeTempDir({ prefix: "psj-forge-" });
  try {
    const nft = fakeNft(dir);
    nft.tables.add("pathspider_forge_999999");
    // a journal of a process that no longer exists, in this (fake) namespace
    await Deno.writeTextFile(
      `${dir}/journal-999999.json`,
      JSON.stringify({
        pid: 999999,
        pidStart: "1",
        netns: "net:[1]",
        entries: [{ kind: "nftables", key: "pathspider_forge_999999", old: "" }],
      }),
    );
    const lines: string[] = [];
    const n = recoverStaleJournals((l) => lines.push(l), dir, procSysctl(dir), "net:[1]", nft.run);
    assertEquals(n, 1);
    assertEquals([...nft.tables], []);
    assertEquals(lines.length, 1);
    assertEquals(
      lines[0]!.startsWith("pathspider: restored nftables table pathspider_forge_999999,"),
      true,
    );
    assertEquals([...Deno.readDirSync(dir)].length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

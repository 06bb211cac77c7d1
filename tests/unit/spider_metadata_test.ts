import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { recordedSysctls, redactArgv } from "../../src/spider/metadata.ts";
import { readResumed } from "../../src/spider/resume.ts";
import { ecnPlugin } from "../../src/plugins/ecn.ts";
import { dscpPlugin } from "../../src/plugins/dscp.ts";

Deno.test("the recorded command line never holds a credential", () => {
  assertEquals(
    redactArgv([
      "campaign",
      "work",
      "--nats",
      "nats://alice:s3cret@198.18.0.9:4222",
      "--token",
      "abc",
      "--nats-password=hunter2",
      "--api-key",
      "k",
      "-i",
      "eth0",
    ]),
    [
      "campaign",
      "work",
      "--nats",
      "nats://***@198.18.0.9:4222",
      "--token",
      "***",
      "--nats-password=***",
      "--api-key",
      "***",
      "-i",
      "eth0",
    ],
  );
  // nothing to hide: unchanged
  const plain = ["measure", "-i", "eth0", "dscp", "--codepoint", "46", "--input", "/tmp/a@b"];
  assertEquals(redactArgv(plain), plain);
});

Deno.test("the sysctls recorded include the plugin's and the port range", () => {
  const ecn = recordedSysctls(ecnPlugin.model({ connect: "http", timeout: 5 }));
  assert(ecn.includes("net.ipv4.tcp_ecn") && ecn.includes("net.ipv4.tcp_ecn_fallback"));
  assert(ecn.includes("net.ipv4.ip_local_port_range"));
  const dscp = recordedSysctls(dscpPlugin.model({ connect: "http", timeout: 5, codepoint: 46 }));
  assert(dscp.includes("net.ipv4.tcp_ecn"));
});

Deno.test("resume: a torn last line is cut off; other lines are kept and counted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const f = `${dir}/r.ndjson`;
    await Deno.writeTextFile(
      f,
      '{"dip":"198.18.0.1"}\n{"dip":"FD00::1"}\nnot json\n{"dip":"198.18.0.1"}\n{"dip":"198.1',
    );
    const r = await readResumed(f);
    assertEquals([r.existed, r.results, r.unreadable, r.tornBytes], [true, 3, 1, 13]);
    assert(!r.done.add("fd00::1") && !r.done.add("198.18.0.1") && r.done.add("198.18.0.2"));
    assertEquals(
      await Deno.readTextFile(f),
      '{"dip":"198.18.0.1"}\n{"dip":"FD00::1"}\nnot json\n{"dip":"198.18.0.1"}\n',
    );
    // a file of one torn line, and a missing file
    await Deno.writeTextFile(f, '{"dip"');
    assertEquals((await readResumed(f)).tornBytes, 6);
    assertEquals(await Deno.readTextFile(f), "");
    const none = await readResumed(`${dir}/none`);
    assertEquals([none.existed, none.results], [false, 0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the commit: baked into a build when present, else the source tree's git HEAD", async () => {
  const { sourceCommit } = await import("../../src/spider/metadata.ts");
  const git = sourceCommit();
  assertEquals(git.from, "git");
  const head = new TextDecoder().decode(
    new Deno.Command("git", { args: ["rev-parse", "HEAD"], stdout: "piped" }).outputSync().stdout,
  ).trim();
  assertEquals(git.commit?.slice(0, 40), head);
  // what scripts/build-binary.sh writes and embeds beside src/
  const baked = new URL("../../src/build_commit.txt", import.meta.url);
  Deno.writeTextFileSync(baked, "0123456789abcdef0123456789abcdef01234567\n");
  try {
    assertEquals(sourceCommit(), {
      commit: "0123456789abcdef0123456789abcdef01234567",
      from: "build",
    });
  } finally {
    Deno.removeSync(baked);
  }
});

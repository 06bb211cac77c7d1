/**
 * `measure` as a service user holding only CAP_NET_RAW and CAP_NET_ADMIN (ambient, as systemd's
 * AmbientCapabilities gives them; here `setpriv`), with an empty Deno cache and no network: ecn
 * and evilbit measure every job and put the namespace's settings back, the journal lives in the
 * user's runtime directory, and every other plugin either works or says in one line why not.
 */
import assert from "node:assert/strict";
import { run, Testbed } from "./lib/testbed.ts";
import { jobsFor, PATHSPIDER, warmUp } from "./measure_run.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const BEFORE = { "net.ipv4.tcp_ecn": "0", "net.ipv4.tcp_ecn_fallback": "1" };

/** Fails loudly when the service user cannot reach the tree (e.g. a checkout under a 0700 home). */
async function assertReadableByNobody() {
  const r = await run([
    "setpriv",
    "--reuid=nobody",
    "--regid=nogroup",
    "--clear-groups",
    "test",
    "-x",
    PATHSPIDER,
  ]);
  assert.equal(
    r.code,
    0,
    `this test needs the tree (${ROOT}) readable by user nobody: setpriv test -x ${PATHSPIDER}`,
  );
}

Deno.test("measure runs ecn and evilbit with only CAP_NET_RAW + CAP_NET_ADMIN", async (t) => {
  await assertReadableByNobody();
  const tb = await Testbed.create({
    servers: ["dns", "http"],
    targets: [{ name: "clean0" }, { name: "clean1" }, { name: "off", behaviour: ["offline"] }],
  });
  // the service user's runtime directory (as systemd's XDG_RUNTIME_DIR): its own, 0700
  const xdg = await Deno.makeTempDir({ prefix: "psh-xdg-" });
  await Deno.chown(xdg, 65534, 65534);
  try {
    for (const [k, v] of Object.entries(BEFORE)) await tb.exec(["sysctl", "-qw", `${k}=${v}`]);
    await warmUp(tb);
    const jobs = jobsFor(tb);
    const want = jobs.trim().split("\n").length;
    const asService = (plugin: string[]) =>
      run([
        "ip",
        "netns",
        "exec",
        tb.clientNs,
        "setpriv",
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        "--inh-caps=-all,+net_raw,+net_admin",
        "--ambient-caps=-all,+net_raw,+net_admin",
        "--bounding-set=-all,+net_raw,+net_admin",
        "env",
        "-i",
        "HOME=/nonexistent",
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        `XDG_RUNTIME_DIR=${xdg}`,
        ...(Deno.env.get("PATHSPIDER_CAPTURE_LIB")
          ? [`PATHSPIDER_CAPTURE_LIB=${Deno.env.get("PATHSPIDER_CAPTURE_LIB")}`]
          : []),
        PATHSPIDER,
        "measure",
        "-i",
        tb.clientIface,
        "-w",
        "4",
        ...plugin,
        "--timeout",
        "2",
      ], { stdin: jobs, timeoutMs: 90_000 });
    const sysctls = async () => ({
      "net.ipv4.tcp_ecn": (await tb.exec(["sysctl", "-n", "net.ipv4.tcp_ecn"])).stdout.trim(),
      "net.ipv4.tcp_ecn_fallback": (await tb.exec(["sysctl", "-n", "net.ipv4.tcp_ecn_fallback"]))
        .stdout.trim(),
    });
    const parse = (out: string) =>
      out.split("\n").filter((l) => l !== "").map((l) =>
        JSON.parse(l) as { dip: string; conditions: string[] }
      );
    const clean = [tb.target("clean0").v4, tb.target("clean1").v4];

    await t.step("ecn: sysctls switched and restored, conditions right", async () => {
      const r = await asService(["ecn"]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /Failed caching|npm|\n\s+at /);
      const got = parse(r.stdout);
      assert.equal(got.length, want, r.stderr);
      for (const res of got.filter((x) => clean.includes(x.dip))) {
        // negotiation succeeds only if tcp_ecn=1 was really in force for the experiment
        assert.ok(res.conditions.includes("ecn.negotiation.succeeded"), JSON.stringify(res));
      }
      assert.deepEqual(await sysctls(), BEFORE);
      // the journal and lock went to the user's runtime directory, never to root's
      const dir = `${xdg}/pathspider`;
      const st = Deno.statSync(dir);
      assert.equal(st.uid, 65534);
      assert.equal(st.mode! & 0o777, 0o700);
      assert.deepEqual(
        [...Deno.readDirSync(dir)].map((d) => d.name).filter((n) => n.startsWith("journal-")),
        [],
      );
    });

    await t.step("evilbit: raw sockets and the nftables table (nft as a child)", async () => {
      const r = await asService(["evilbit"]);
      assert.equal(r.code, 0, r.stderr);
      const got = parse(r.stdout);
      assert.equal(got.length, want, r.stderr);
      for (const res of got.filter((x) => clean.includes(x.dip))) {
        assert.ok(res.conditions.includes("evilbit.connectivity.works"), JSON.stringify(res));
      }
      const tables = await tb.exec(["nft", "list", "tables"]);
      assert.doesNotMatch(tables.stdout, /pathspider_forge_/);
    });

    await t.step("every other plugin works, or says in one line why not", async () => {
      for (const p of ["dscp", "mss", "tcpopt", "tfo", "udpzero", "udpopts", "accecn"]) {
        const r = await asService([p]);
        const lines = r.stderr.trim().split("\n");
        if (r.code === 0) assert.equal(parse(r.stdout).length, want, `${p}: ${r.stderr}`);
        else assert.equal(lines.length, 1, `${p} (exit ${r.code}): ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /\n\s+at |internal error/, p);
        console.log(`  ${p}: exit ${r.code}${r.code === 0 ? "" : `: ${lines[0]}`}`);
      }
      assert.deepEqual(await sysctls(), BEFORE);
    });
  } finally {
    await tb.destroy();
    await Deno.remove(xdg, { recursive: true });
  }
});

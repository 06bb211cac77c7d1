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

/** Whether user nobody can run `path` (every directory above it searchable). */
async function nobodyCanRun(path: string): Promise<boolean> {
  const r = await run([
    "setpriv",
    "--reuid=nobody",
    "--regid=nogroup",
    "--clear-groups",
    "test",
    "-x",
    path,
  ]);
  return r.code === 0;
}

/**
 * The launcher to run as nobody: this tree's, or, when nobody cannot reach it (a checkout under
 * a 0700 home, as on some CI runners), a copy of what a run needs (as `make install` lays it
 * out) in a temporary directory.
 */
async function launcherForNobody(): Promise<{ bin: string; lib: string; cleanup: () => void }> {
  const lib = Deno.env.get("PATHSPIDER_CAPTURE_LIB") ??
    `${ROOT}capture-ffi/target/release/libpathspider_capture.so`;
  if (Deno.env.get("PSH_CAPS_COPY") === undefined && await nobodyCanRun(PATHSPIDER)) {
    return { bin: PATHSPIDER, lib, cleanup: () => {} };
  }
  const dir = await Deno.makeTempDir({ prefix: "psh-tree-" });
  await Deno.chmod(dir, 0o755);
  for (const d of ["bin", ".tools/bin", "capture-ffi"]) {
    await Deno.mkdir(`${dir}/${d}`, { recursive: true });
  }
  await run([
    "cp",
    "-a",
    `${ROOT}src`,
    `${ROOT}bin`,
    `${ROOT}deno.json`,
    `${ROOT}deno.lock`,
    `${ROOT}node_modules`,
    dir,
  ], { check: true });
  await run(["cp", "-L", `${ROOT}.tools/bin/deno`, `${dir}/.tools/bin/deno`], { check: true });
  await run(["cp", lib, `${dir}/capture-ffi/lib.so`], { check: true });
  await run(["chmod", "-R", "go+rX", dir], { check: true });
  assert.ok(await nobodyCanRun(`${dir}/bin/pathspider`), `nobody cannot run ${dir}/bin/pathspider`);
  return {
    bin: `${dir}/bin/pathspider`,
    lib: `${dir}/capture-ffi/lib.so`,
    cleanup: () => Deno.removeSync(dir, { recursive: true }),
  };
}

Deno.test("measure runs ecn and evilbit with only CAP_NET_RAW + CAP_NET_ADMIN", async (t) => {
  const tree = await launcherForNobody();
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
    const asService = (plugin: string[], caps = "+net_raw,+net_admin") =>
      run([
        "ip",
        "netns",
        "exec",
        tb.clientNs,
        "setpriv",
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        `--inh-caps=-all,${caps}`,
        `--ambient-caps=-all,${caps}`,
        `--bounding-set=-all,${caps}`,
        "env",
        "-i",
        "HOME=/nonexistent",
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        `XDG_RUNTIME_DIR=${xdg}`,
        `PATHSPIDER_CAPTURE_LIB=${tree.lib}`,
        tree.bin,
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

    await t.step("evilbit: raw sockets and the nftables table (netlink)", async () => {
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

    await t.step("without CAP_NET_ADMIN: one line before measuring, exit 3", async () => {
      const r = await asService(["ecn"], "+net_raw");
      assert.equal(r.code, 3, r.stderr);
      assert.equal(r.stdout, "");
      assert.match(
        r.stderr,
        /^pathspider: cannot change net\.ipv4\.tcp_ecn in this network namespace: permission denied \(needs root, or CAP_NET_ADMIN over the namespace\)\n$/,
      );
      assert.deepEqual(await sysctls(), BEFORE);
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
    tree.cleanup();
  }
});

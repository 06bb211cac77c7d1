/**
 * `measure` never probes the cloud metadata service (169.254.169.254), in any spelling, nor
 * loopback, and honours `--exclude`: a listener on those addresses in the client namespace sees
 * no connection, while the one on a real target is measured.
 */
import assert from "node:assert/strict";
import { Testbed } from "./lib/testbed.ts";
import { measure, resultOf, warmUp } from "./measure_run.ts";

/** Accepts on 169.254.169.254:80 and 127.0.0.1:80, one line per connection. */
const LISTENER = `
import socket, selectors, sys
sel = selectors.DefaultSelector()
for a in ("169.254.169.254", "127.0.0.1"):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a, 80))
    s.listen(16)
    sel.register(s, selectors.EVENT_READ)
print("listening", flush=True)
while True:
    for k, _ in sel.select():
        c, peer = k.fileobj.accept()
        print("accepted", k.fileobj.getsockname()[0], flush=True)
        c.close()
`;

Deno.test("measure never connects to 169.254.169.254 or loopback, and skips --exclude targets", async () => {
  const tb = await Testbed.create({
    servers: ["http"],
    targets: [{ name: "clean", v6: false }, { name: "excl", v6: false }],
  });
  try {
    await warmUp(tb);
    await tb.exec(["ip", "link", "set", "lo", "up"]);
    await tb.exec(["ip", "addr", "add", "169.254.169.254/32", "dev", "lo"]);
    const listener = tb.spawn(["python3", "-u", "-c", LISTENER]);
    await listener.waitFor((_e, out) => out.includes("listening"));
    // the listener answers: a connection made on purpose is seen
    await tb.exec([
      "python3",
      "-c",
      "import socket; socket.create_connection(('169.254.169.254', 80), 2).close()",
    ]);
    await listener.waitFor((_e, out) => out.includes("accepted 169.254.169.254"));
    const before = listener.stdout.split("accepted").length;

    const excl = `${tb.dir}/exclude.txt`;
    Deno.writeTextFileSync(excl, `# asked not to be probed\n${tb.target("excl").v4}\n`);
    const jobs = [
      tb.target("clean").v4,
      "169.254.169.254",
      "::ffff:169.254.169.254",
      "127.0.0.1",
      tb.target("excl").v4,
    ].map((dip) => JSON.stringify({ dip }) + "\n").join("");
    const out = await measure(tb, ["--exclude", excl, "ecn", "--timeout", "2"], jobs);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(out.results.map((r) => r.dip), [tb.target("clean").v4]);
    assert.ok(resultOf(out.results, tb, "clean", 4).conditions?.includes("ecn.connectivity.works"));
    assert.match(
      out.stderr,
      /input line 2: 169\.254\.169\.254 is link-local: never probed; skipped/,
    );
    assert.match(out.stderr, /input line 3: ::ffff:169\.254\.169\.254 is link-local: never probed/);
    assert.match(out.stderr, /input line 4: 127\.0\.0\.1 is loopback: never probed; skipped/);
    assert.match(
      out.stderr,
      /1 jobs, 1 results, 4 skipped lines \(0 malformed, 0 duplicate targets, 3 never probed, 1 excluded\)/,
    );
    // nothing more reached the listener
    assert.equal(listener.stdout.split("accepted").length, before, listener.stdout);
  } finally {
    await tb.destroy();
  }
});

/**
 * The connection helpers against real servers in the testbed (nginx http/https, NSD on UDP and
 * TCP), over IPv4 and IPv6: OK against the servers, TIMEOUT against a silent target (the router
 * drops everything), FAILED against a refusing port; the ToS byte on the wire (captured on the
 * server side) for DSCP 46 and 0; 500 concurrent connects all complete and leak no socket.
 *
 * The helpers run inside the client namespace, in a child Deno (tests/e2e/connect_driver.ts).
 */
import assert from "node:assert/strict";
import { cleanupStale, netnsUnavailable, type Target, Testbed } from "./lib/testbed.ts";
import { readPackets, Tcpdump } from "./lib/tcpdump.ts";
import { run } from "./lib/netns.ts";
import type { ConnectOptions, ConnResult } from "../../src/connect/mod.ts";
import type { ConnectMode } from "../../src/plugins/plugin.ts";

const PREFIX = "psh5";
const DENO = new URL("../../.tools/bin/deno", import.meta.url).pathname;
const DRIVER = new URL("./connect_driver.ts", import.meta.url).pathname;
const MODES: ConnectMode[] = ["tcp", "http", "https", "dnsudp", "dnstcp"];
const OK = 0, FAILED = 1, TIMEOUT = 2;

interface Call {
  mode: ConnectMode;
  job: Record<string, unknown> & { dip: string };
  opts?: ConnectOptions;
  timeoutMs: number;
}

interface DriverOut {
  results: ConnResult[];
  openSockets: number;
}

async function drive(tb: Testbed, calls: Call[], concurrency = 16): Promise<DriverOut> {
  const r = await run(tb.clientArgv([DENO, "run", "-A", DRIVER]), {
    stdin: JSON.stringify({ calls, concurrency }),
    timeoutMs: 120_000,
  });
  assert.equal(r.code, 0, `driver failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const skip = await netnsUnavailable();

/** A one-request HTTP server with TCP_FASTOPEN on port 8081 of the given addresses. */
const TFO_SERVER = `
import socket, sys, threading
def serve(addr):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)
    s.bind((addr, 8081))
    s.listen(64)
    while True:
        c, _ = s.accept()
        c.recv(4096)
        c.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n")
        c.close()
for a in sys.argv[1:]:
    threading.Thread(target=serve, args=(a,), daemon=True).start()
sys.stderr.write("listening\\n"); sys.stderr.flush()
threading.Event().wait()
`;

/** SYNs (without ACK) of a capture: source port, MSS option, fast-open option, payload bytes. */
async function synFields(pcap: string) {
  const r = await run([
    "tshark",
    "-r",
    pcap,
    "-n",
    "-Y",
    "tcp.flags.syn == 1 && tcp.flags.ack == 0",
    "-T",
    "fields",
    "-E",
    "separator=|",
    "-e",
    "tcp.srcport",
    "-e",
    "tcp.options.mss_val",
    "-e",
    "tcp.option_kind",
    "-e",
    "tcp.len",
  ], { check: true });
  return r.stdout.split("\n").filter(Boolean).map((l) => {
    const [sport, mss, kinds, len] = l.split("|");
    return {
      sport: Number(sport),
      mss: Number(mss || 0),
      tfo: kinds!.split(",").includes("34"),
      payload: Number(len || 0),
    };
  });
}

function addrs(t: Target): string[] {
  return [t.v4!, t.v6!];
}

Deno.test({
  name: "connection helpers reach real servers, time out, fail fast and mark their packets",
  ignore: skip !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await cleanupStale(PREFIX);
    const tb = await Testbed.create({
      prefix: PREFIX,
      targets: [{ name: "www" }, { name: "dark", behaviour: ["offline"] }],
      servers: ["http", "dns"],
    });
    try {
      const www = tb.target("www"), dark = tb.target("dark");

      await t.step("every helper returns OK against the servers over IPv4 and IPv6", async () => {
        const calls: Call[] = addrs(www).flatMap((dip) =>
          MODES.map((mode) => ({ mode, job: { dip, domain: www.domain }, timeoutMs: 5000 }))
        );
        const out = await drive(tb, calls);
        out.results.forEach((r, i) => {
          const c = calls[i]!;
          assert.equal(r.spdr_state, OK, `${c.mode} ${c.job.dip}: ${JSON.stringify(r)}`);
          assert.ok(r.sp > 0, `${c.mode} ${c.job.dip} reports its port`);
          assert.equal(r.sip, c.job.dip.includes(":") ? "fd00:c::2" : "198.18.0.2");
          if (c.mode === "http" || c.mode === "https") {
            assert.equal(r.http_response_code, 200);
            assert.match(String(r.http_response_header), /^HTTP\/1\.1 200 OK\r\n/);
          }
        });
        assert.equal(out.openSockets, 0);
      });

      await t.step("a silent target gives TIMEOUT, still with the local port", async () => {
        const calls: Call[] = addrs(dark).flatMap((dip) =>
          MODES.map((mode) => ({ mode, job: { dip, domain: www.domain }, timeoutMs: 1000 }))
        );
        const out = await drive(tb, calls);
        out.results.forEach((r, i) => {
          const c = calls[i]!;
          assert.equal(r.spdr_state, TIMEOUT, `${c.mode} ${c.job.dip}: ${JSON.stringify(r)}`);
          // node:tls (https) gives no local port before the handshake completes
          if (c.mode !== "https") {
            assert.ok(r.sp > 0, `${c.mode} ${c.job.dip} reports the port the SYN/query left from`);
          }
        });
        assert.equal(out.openSockets, 0);
      });

      await t.step("a refusing port gives FAILED", async () => {
        const calls: Call[] = addrs(www).flatMap((dip) =>
          MODES.map((mode) => ({
            mode,
            job: { dip, dp: mode.startsWith("dns") ? 5353 : 81, domain: www.domain },
            timeoutMs: 5000,
          }))
        );
        const out = await drive(tb, calls);
        out.results.forEach((r, i) => {
          const c = calls[i]!;
          assert.equal(r.spdr_state, FAILED, `${c.mode} ${c.job.dip}: ${JSON.stringify(r)}`);
          // the reactor's helpers know their port after a refusal; https (node:tls) may not
          if (c.mode !== "https") assert.ok(r.sp > 0, `${c.mode} ${c.job.dip} reports its port`);
        });
        assert.equal(out.openSockets, 0);
      });

      await t.step("the ToS byte is on the SYN and the data packets (DSCP 46 and 0)", async () => {
        const pcap = `${tb.dir}/tos.pcap`;
        const dump = await Tcpdump.start(tb.serverNs, tb.serverIface, pcap);
        const marked = ["tcp", "http", "dnsudp", "dnstcp"] as const;
        const calls: Call[] = [];
        for (const dip of addrs(www)) {
          for (const dscp of [46, 0]) {
            for (const mode of marked) {
              calls.push({
                mode,
                job: { dip, domain: www.domain },
                opts: { tos: dscp << 2 },
                timeoutMs: 5000,
              });
            }
          }
        }
        const out = await drive(tb, calls, 4);
        await dump.stop();
        const packets = await readPackets(pcap);
        out.results.forEach((r, i) => {
          const c = calls[i]!;
          const want = c.opts!.tos! >> 2;
          const label = `${c.mode} ${c.job.dip} dscp ${want}`;
          assert.equal(r.spdr_state, OK, label);
          const mine = packets.filter((p) => p.src === r.sip && p.sport === r.sp);
          assert.ok(mine.length > 0, `${label}: packets captured`);
          for (const p of mine) assert.equal(p.dscp, want, `${label}: ${JSON.stringify(p)}`);
          // the whole response is read before closing: an orderly FIN, never a RST from us
          assert.ok(mine.every((p) => (p.tcpFlags & 0x04) === 0), `${label}: no RST`);
          if (c.mode !== "dnsudp") {
            const syn = mine.filter((p) => (p.tcpFlags & 0x12) === 0x02);
            assert.equal(syn.length, 1, `${label}: one SYN`);
          }
          const headerLen = c.mode === "dnsudp" ? 8 : 20;
          const ipHeader = c.job.dip.includes(":") ? 40 : 20;
          const data = mine.filter((p) => p.ipLen > ipHeader + headerLen + 12);
          if (c.mode !== "tcp") assert.ok(data.length > 0, `${label}: data packets captured`);
        });
      });

      await t.step("the MSS option and fast open reach the SYN", async () => {
        // a fast-open HTTP server on a port of its own (the testbed's nginx listens without it)
        // server side of fast open (bit 2), in the server namespace only
        await tb.exec(["sysctl", "-qw", "net.ipv4.tcp_fastopen=3"], tb.serverNs, { check: true });
        const server = tb.spawn(["python3", "-c", TFO_SERVER, www.v4!, www.v6!], tb.serverNs);
        await server.waitFor((err) => err.includes("listening"));
        const pcap = `${tb.dir}/syn.pcap`;
        const dump = await Tcpdump.start(tb.serverNs, tb.serverIface, pcap);
        const calls: Call[] = [];
        for (const dip of addrs(www)) {
          calls.push({ mode: "tcp", job: { dip }, opts: { mss: 536 }, timeoutMs: 5000 });
          // the first fast open asks for a cookie, the second sends its request in the SYN
          for (let i = 0; i < 2; i++) {
            calls.push({
              mode: "http",
              job: { dip, dp: 8081 },
              opts: { fastOpen: true },
              timeoutMs: 5000,
            });
          }
        }
        const out = await drive(tb, calls, 1);
        await dump.stop();
        const syns = await synFields(pcap);
        out.results.forEach((r, i) => {
          const c = calls[i]!;
          const label = `${c.mode} ${c.job.dip} ${JSON.stringify(c.opts)} #${i}`;
          assert.equal(r.spdr_state, OK, `${label}: ${JSON.stringify(r)}`);
          const syn = syns.find((p) => p.sport === r.sp);
          assert.ok(syn, `${label}: SYN captured`);
          if (c.opts?.mss) assert.equal(syn.mss, 536, label);
          else {
            assert.ok(syn.tfo, `${label}: SYN carries the fast-open option`);
            const second = calls.slice(0, i).some((p) =>
              p.job.dip === c.job.dip && p.opts?.fastOpen
            );
            if (second) assert.ok(syn.payload > 0, `${label}: request in the SYN`);
            else assert.equal(syn.payload, 0, `${label}: cookie request only`);
          }
        });
      });

      await t.step("500 concurrent connects all complete and leave no socket open", async () => {
        const calls: Call[] = Array.from({ length: 500 }, (_, i) => ({
          mode: "tcp" as const,
          job: { dip: addrs(www)[i % 2]!, dp: 80 },
          timeoutMs: 20_000,
        }));
        const out = await drive(tb, calls, 500);
        assert.equal(out.results.length, 500);
        const states = out.results.map((r) => r.spdr_state);
        assert.deepEqual(states.filter((s) => s !== OK), [], "every connect completed OK");
        assert.equal(new Set(out.results.map((r) => `${r.sip} ${r.sp}`)).size, 500);
        assert.equal(out.openSockets, 0);
      });
    } finally {
      await tb.destroy();
    }
  },
});

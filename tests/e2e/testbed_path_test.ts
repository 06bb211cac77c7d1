/**
 * The testbed with three routers in a row: each router answers at its hop with time-exceeded
 * from the address the testbed names, and each middlebox placed on a router changes exactly
 * what it says: packets forged with the tool's own builder (DSCP EF, ECT(1), AE+CWR+ECE+SYN,
 * SACK-permitted) are captured where they arrive at the server and read back with tshark.
 */
import assert from "node:assert/strict";
import { type Behaviour, NET, run, Testbed } from "./lib/testbed.ts";
import { Tcpdump } from "./lib/tcpdump.ts";
import type { PacketSpec } from "../../src/wire/build.ts";

const SENDER = new URL("./lib/send_packets.ts", import.meta.url).pathname;
const DENO = Deno.execPath();

/** (target name, router, behaviour) */
const PLACED: [string, number, Behaviour][] = [
  ["bleach", 1, "bleach-dscp"],
  ["remark", 2, "remark-dscp"],
  ["clearect", 3, "clear-ect"],
  ["noecnsyn", 2, "drop-ecn-syn"],
  ["clearae", 2, "clear-ae"],
  ["strip", 3, "strip-sackok"],
  ["synect0", 1, "syn-ect0"],
  ["clearevil", 1, "clear-evil"],
];

/** MSS 1460, SACK-permitted, NOP, NOP: kinds 2 and 4. */
const OPTIONS = [2, 4, 5, 180, 4, 2, 1, 1];
const AE_CWR_ECE_SYN = 0x1c2;
const TOS = (46 << 2) | 1;

interface Seen {
  dst: string;
  flags: number;
  dscp: number;
  ecn: number;
  kinds: number[];
  /** IPv4 reserved flag (false for IPv6) */
  evil: boolean;
}

async function serverSees(path: string, filter: string): Promise<Seen[]> {
  const r = await run([
    "tshark",
    "-r",
    path,
    "-n",
    "-Y",
    filter,
    "-T",
    "fields",
    "-E",
    "separator=|",
    "-E",
    "occurrence=a",
    "-E",
    "aggregator=,",
    "-e",
    "ip.dst",
    "-e",
    "ipv6.dst",
    "-e",
    "tcp.flags",
    "-e",
    "ip.dsfield",
    "-e",
    "ipv6.tclass",
    "-e",
    "tcp.option_kind",
    "-e",
    "ip.flags.rb",
  ], { check: true });
  return r.stdout.split("\n").filter(Boolean).map((line) => {
    const f = line.split("|");
    const ds = Number(f[3] || f[4]);
    return {
      dst: f[0] || f[1]!,
      flags: Number(f[2]),
      dscp: ds >> 2,
      ecn: ds & 3,
      kinds: f[5] ? f[5].split(",").map(Number) : [],
      evil: f[6] === "1" || f[6] === "True",
    };
  });
}

Deno.test("a path of three routers: hops answer as named, each middlebox acts on its router", async (t) => {
  const tb = await Testbed.create({
    routers: 3,
    servers: ["http"],
    targets: [
      { name: "clean" },
      ...PLACED.map(([name, k, b]) => ({ name, behaviourAt: { [k]: [b] } })),
    ],
  });
  try {
    await t.step("each router answers at its hop from the address the testbed names", async () => {
      const clean = tb.target("clean");
      for (const [addr, fam] of [[clean.v4!, 4], [clean.v6!, 6]] as const) {
        for (let hop = 1; hop <= 3; hop++) {
          const r = await tb.exec([
            "ping",
            ...(fam === 6 ? ["-6"] : []),
            "-n",
            "-c",
            "1",
            "-W",
            "2",
            "-t",
            String(hop),
            addr,
          ]);
          const from = tb.hopAddress(hop, fam)!;
          assert.match(
            r.stdout,
            new RegExp(`From ${from}.*(Time to live exceeded|Time exceeded)`),
            r.stdout,
          );
        }
        const r = await tb.exec([
          "ping",
          ...(fam === 6 ? ["-6"] : []),
          "-n",
          "-c",
          "1",
          "-W",
          "2",
          "-t",
          "4",
          addr,
        ]);
        assert.equal(r.code, 0, `hop 4 is the target: ${r.stdout}`);
      }
      assert.equal(tb.hopAddress(1, 4), NET.routerClient4);
    });

    await t.step("each behaviour changes what arrives at the server, and only that", async () => {
      const dump = await Tcpdump.start(tb.serverNs, tb.serverIface, `${tb.dir}/s.pcap`, ["tcp"]);
      const specs: PacketSpec[] = [];
      let port = 61000;
      for (const tg of tb.targets) {
        for (const [dst, src] of [[tg.v4!, NET.client4], [tg.v6!, NET.client6]] as const) {
          specs.push({
            src,
            dst,
            tos: TOS,
            evil: !dst.includes(":"),
            l4: {
              proto: "tcp",
              sport: port++,
              dport: 80,
              flags: AE_CWR_ECE_SYN,
              seq: 1000,
              options: OPTIONS as unknown as Uint8Array,
            },
          });
        }
      }
      try {
        const r = await tb.exec([DENO, "run", "-A", SENDER, "5"], tb.clientNs, {
          stdin: JSON.stringify(specs),
          env: { PATHSPIDER_CAPTURE_LIB: Deno.env.get("PATHSPIDER_CAPTURE_LIB") ?? "" },
        });
        assert.equal(r.code, 0, r.stderr);
      } finally {
        await dump.stop();
      }
      const seen = await serverSees(dump.path, "tcp.flags.syn == 1 && tcp.flags.ack == 0");
      // the server answers every SYN that arrived: the rewritten ones kept valid checksums
      const answered = (await run([
        "tshark",
        "-r",
        dump.path,
        "-n",
        "-Y",
        "tcp.flags.syn == 1 && tcp.flags.ack == 1",
        "-T",
        "fields",
        "-e",
        "ip.src",
        "-e",
        "ipv6.src",
      ], { check: true })).stdout.split(/\s+/).filter(Boolean);
      const sent = { dst: "", flags: AE_CWR_ECE_SYN, dscp: 46, ecn: 1, kinds: [2, 4, 1, 1] };
      const expect: Record<string, Partial<Seen> | null> = {
        clean: {},
        bleach: { dscp: 0 },
        remark: { dscp: 18 },
        clearect: { ecn: 0 },
        noecnsyn: null,
        clearae: { flags: AE_CWR_ECE_SYN & 0xff },
        // TCPOPTSTRIP overwrites the option with NOPs
        strip: { kinds: [2, 1, 1, 1, 1] },
        synect0: { ecn: 2 },
        clearevil: { evil: false },
      };
      for (const tg of tb.targets) {
        for (const dst of [tg.v4!, tg.v6!]) {
          const got = seen.filter((s) => s.dst === dst);
          const want = expect[tg.name];
          if (want === null) {
            assert.equal(got.length, 0, `${tg.name} ${dst}: dropped`);
            continue;
          }
          assert.equal(got.length, 1, `${tg.name} ${dst}: one SYN arrives`);
          const evil = !dst.includes(":");
          assert.deepEqual(got[0], { ...sent, dst, evil, ...want }, `${tg.name} ${dst}`);
          assert.ok(answered.includes(dst), `${tg.name} ${dst}: the server answers`);
        }
      }
    });
  } finally {
    await tb.destroy();
  }
});

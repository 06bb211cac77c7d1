/**
 * Reference captures with tcpdump in a namespace, and the per-packet fields tests compare
 * against (read back with tshark): addresses, ports, TCP flags, DSCP, ECN, length.
 *
 * @module
 */
import { Background, run } from "./netns.ts";

/** A tcpdump writing to a file until stopped. */
export class Tcpdump {
  readonly path: string;
  readonly #proc: Background;

  private constructor(path: string, proc: Background) {
    this.path = path;
    this.#proc = proc;
  }

  /** Starts capturing on `iface` in `ns` into `path` and waits until tcpdump is listening. */
  static async start(ns: string, iface: string, path: string, filter: string[] = []) {
    const p = new Background(
      [
        "tcpdump",
        "-i",
        iface,
        "-n",
        "-U",
        "--immediate-mode",
        "-s",
        "262144",
        "-w",
        path,
        ...filter,
      ],
      { ns },
    );
    await p.waitFor((err) => err.includes("listening on"));
    return new Tcpdump(path, p);
  }

  /** Stops the capture (SIGINT, so the file is complete) and returns tcpdump's summary. */
  async stop(): Promise<string> {
    // a short grace period lets packets in flight reach the file
    await new Promise((r) => setTimeout(r, 200));
    await this.#proc.stop("SIGINT");
    return this.#proc.stderr;
  }
}

/** One packet as tests look at it. */
export interface PacketFields {
  src: string;
  dst: string;
  proto: number;
  sport: number;
  dport: number;
  /** TCP flags byte (0 for UDP/ICMP) */
  tcpFlags: number;
  dscp: number;
  ecn: number;
  /** frame length on the wire */
  len: number;
  /** length of the IP packet (IPv4 total length, IPv6 payload length + 40) */
  ipLen: number;
}

/** Reads a capture file into {@link PacketFields} (IP packets only). */
export async function readPackets(path: string, filter = "ip or ipv6"): Promise<PacketFields[]> {
  const fields = [
    "ip.src",
    "ipv6.src",
    "ip.dst",
    "ipv6.dst",
    "ip.proto",
    "ipv6.nxt",
    "tcp.srcport",
    "udp.srcport",
    "tcp.dstport",
    "udp.dstport",
    "tcp.flags",
    "ip.dsfield",
    "ipv6.tclass",
    "frame.len",
    "ip.len",
    "ipv6.plen",
  ];
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
    "occurrence=f",
    ...fields.flatMap((f) => ["-e", f]),
  ], { check: true });
  return r.stdout.split("\n").filter(Boolean).map((line) => {
    const f = line.split("|");
    const num = (s: string) => (s ? Number(s) : 0);
    const ds = f[11] ? num(f[11]) : num(f[12]!);
    return {
      src: f[0] || f[1]!,
      dst: f[2] || f[3]!,
      proto: num(f[4] || f[5]!),
      sport: num(f[6] || f[7]!),
      dport: num(f[8] || f[9]!),
      tcpFlags: num(f[10]!),
      dscp: ds >> 2,
      ecn: ds & 3,
      len: num(f[13]!),
      ipLen: f[14] ? num(f[14]) : num(f[15]!) + 40,
    };
  });
}

/**
 * The `tfo` plugin (desync model, RFC 7413): per job a baseline connection without fast open,
 * then two with TCP_FASTOPEN_CONNECT on the socket. The first asks for a cookie (its SYN
 * carries an empty fast open option, as Linux does when it holds no cookie for the
 * destination); the kernel caches the cookie the server returns, per destination address, so
 * the second carries that cookie and the request as data on its SYN. The observer's tfo chain
 * tells whether a cookie came back, with which option kind (IANA 34, or the experimental 254
 * with the magic 0xF989 of RFC 6994), and whether the SYN-ACK acknowledged the SYN's data.
 *
 * Linux sends fast open SYNs only when bit 0 of net.ipv4.tcp_fastopen is set in the network
 * namespace pathspider runs in: the plugin sets it for the run (journalled and restored).
 */
import { VERSION } from "../version.ts";
import { connectivity } from "./conditions.ts";
import type { FlowResult, Plugin } from "./plugin.ts";

/** The sysctl that enables fast open; bit 0 = client side. */
export const FASTOPEN_SYSCTL = "net.ipv4.tcp_fastopen";

/** The value of `net.ipv4.tcp_fastopen` with the client bit set, keeping the other bits. */
export function withClientBit(current: string | null): string {
  const v = current !== null && /^\d+$/.test(current.trim()) ? Number(current.trim()) : 0;
  return String(v | 1);
}

function readSysctl(key: string): string | null {
  try {
    return Deno.readTextFileSync(`/proc/sys/${key.replaceAll(".", "/")}`).trim();
  } catch {
    return null;
  }
}

/** What the SYN-ACK of the data SYN says about its data. */
function synData(f: FlowResult): string | null {
  if (!Number(f.tfo_synclen)) return null; // the SYN carried no cookie, so no data either
  const ack = Number(f.tfo_ack), seq = Number(f.tfo_seq), dlen = Number(f.tfo_dlen);
  if (ack === 0) return "failed"; // no SYN-ACK to the data SYN
  // sequence numbers wrap at 2^32; the SYN itself takes one
  const acked = ((ack - seq) >>> 0) - 1;
  return dlen > 0 && acked === dlen ? "acked" : "not_acked";
}

/** The `tfo` plugin. */
export const tfoPlugin: Plugin = {
  name: "tfo",
  description: "TCP Fast Open",
  version: VERSION,
  chains: ["basic", "tcp", "tfo"],
  connectSupported: ["http", "dnstcp", "tcp"],
  options: [],
  helpText: "\nThree connections per target: a baseline without fast open, a fast open cookie\n" +
    "request, then data on the SYN with the cookie the kernel received (its cookie cache is per\n" +
    "destination, so a cookie cached by an earlier run is used at once). --connect tcp sends an\n" +
    "HTTP GET on the SYN and closes after the handshake. net.ipv4.tcp_fastopen gets its client\n" +
    "bit (1) set in pathspider's network namespace for the run and is restored afterwards.\n",
  model: () => ({
    kind: "desync",
    connections: [{}, { fastOpen: true }, { fastOpen: true }],
    settings: [{
      kind: "sysctl",
      key: FASTOPEN_SYSCTL,
      value: withClientBit(readSysctl(FASTOPEN_SYSCTL)),
    }],
  }),
  combineFlows(flows: FlowResult[]): string[] {
    const base = flows[0]!, request = flows[1]!, data = flows[2]!;
    const c = connectivity(base.spdr_state, data.spdr_state);
    const conditions = [`tfo.connectivity.${c}`];
    if (flows.some((f) => !f.observed)) conditions.push("pathspider.not_observed");
    // as the original, only where the baseline got through; unlike it, also when the data SYN
    // failed (broken), where syndata.failed says why
    if ((c !== "works" && c !== "broken") || !data.observed) return conditions;
    // a cookie came back on the request's SYN-ACK, or the kernel held one and put it on the SYN
    const replyKind = request.observed && Number(request.tfo_ackclen) > 0
      ? Number(request.tfo_ackkind)
      : 0;
    const synKind = Number(data.tfo_synclen) > 0 ? Number(data.tfo_synkind) : 0;
    if (replyKind === 0 && synKind === 0) {
      conditions.push("tfo.cookie.not_received");
      return conditions;
    }
    conditions.push("tfo.cookie.received", `tfo.cookie.kind:${replyKind || synKind}`);
    const sd = synData(data);
    if (sd !== null) conditions.push(`tfo.syndata.${sd}`);
    return conditions;
  },
};

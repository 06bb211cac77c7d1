/**
 * The STUN client of `--stun HOST[:PORT]`: one Binding request per address family, sent from
 * the interface's source address of that family, so that the answer is the public address this
 * host's measurements leave with (the NAT mapping of that source). Retransmitted as RFC 8489
 * section 6.2.1 says (500 ms, then doubling), at most 4 sends, given up after 5 s.
 *
 * @module
 */
import dgram from "node:dgram";
import {
  bindingRequest,
  type MappedAddress,
  parseBindingResponse,
  parseStunServer,
} from "../wire/stun.ts";
import { ipVersion } from "../wire/ip.ts";

/** The server's addresses of family `family` (a literal as is; a name through the resolver). */
async function serverAddresses(host: string, family: 4 | 6): Promise<string[]> {
  const v = ipVersion(host);
  if (v !== 0) return v === family ? [host] : [];
  try {
    return await Deno.resolveDns(host, family === 4 ? "A" : "AAAA");
  } catch {
    return [];
  }
}

/**
 * Asks `server` (a `HOST[:PORT]` text) for the public address of `source` (an address of this
 * host, family given by it); resolves to the mapping, or a string saying why there is none.
 */
export async function stunMappedAddress(
  server: string,
  source: string,
  opts: { firstRtoMs?: number; sends?: number; giveUpMs?: number } = {},
): Promise<MappedAddress | string> {
  const s = parseStunServer(server);
  if (typeof s === "string") return s;
  const family = ipVersion(source) === 6 ? 6 : 4;
  const addrs = await serverAddresses(s.host, family);
  if (addrs.length === 0) return `${s.host} has no IPv${family} address`;
  const txid = crypto.getRandomValues(new Uint8Array(12));
  const req = bindingRequest(txid);
  const sock = dgram.createSocket(family === 6 ? "udp6" : "udp4");
  const timers: ReturnType<typeof setTimeout>[] = [];
  try {
    return await new Promise<MappedAddress | string>((resolve) => {
      let last = "no answer";
      sock.on("error", (e: Error) => resolve(`${e.message}`));
      sock.on("message", (msg: Uint8Array) => {
        const r = parseBindingResponse(new Uint8Array(msg), txid);
        if (typeof r !== "string") resolve(r);
        else last = r;
      });
      sock.bind(0, source, () => {
        const send = () => sock.send(req, s.port, addrs[0]);
        let at = 0, rto = opts.firstRtoMs ?? 500;
        for (let i = 0; i < (opts.sends ?? 4); i++) {
          timers.push(setTimeout(send, at));
          at += rto;
          rto *= 2;
        }
        timers.push(
          setTimeout(
            () => resolve(`${last} from ${s.host}:${s.port}`),
            opts.giveUpMs ?? 5000,
          ),
        );
      });
    });
  } finally {
    for (const t of timers) clearTimeout(t);
    try {
      sock.close();
    } catch { /* closed by an error */ }
  }
}

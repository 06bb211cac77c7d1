/**
 * IP address text to bytes for the packet builder.
 *
 * @module
 */

/** The 4 bytes of a dotted-quad IPv4 address; throws on anything else. */
export function ipv4Bytes(text: string): Uint8Array {
  const parts = text.split(".");
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${text}`);
  return Uint8Array.from(parts.map((p) => {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new Error(`not an IPv4 address: ${text}`);
    return Number(p);
  }));
}

/** The 16 bytes of an IPv6 address (`::` compression and a trailing dotted quad allowed). */
export function ipv6Bytes(text: string): Uint8Array {
  const bad = () => new Error(`not an IPv6 address: ${text}`);
  let s = text;
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  const words: number[] = [];
  let tail4: Uint8Array | null = null;
  const lastColon = s.lastIndexOf(":");
  if (s.slice(lastColon + 1).includes(".")) {
    tail4 = ipv4Bytes(s.slice(lastColon + 1));
    s = s.slice(0, lastColon + 1) + "0:0";
  }
  const halves = s.split("::");
  if (halves.length > 2) throw bad();
  const parse = (h: string) =>
    h === "" ? [] : h.split(":").map((w) => {
      if (!/^[0-9a-fA-F]{1,4}$/.test(w)) throw bad();
      return parseInt(w, 16);
    });
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  const fill = 8 - head.length - rest.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) throw bad();
  words.push(...head, ...new Array(halves.length === 2 ? fill : 0).fill(0), ...rest);
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  if (tail4 !== null) out.set(tail4, 12);
  return out;
}

/**
 * Exclusion lists: addresses and prefixes (IPv4 and IPv6 CIDR) whose owners asked not to be
 * probed, one per line, `#` starting a comment (a whole line or the end of one), as the
 * blocklists of ZMap and other responsible scanners. Host bits below a prefix length are
 * ignored (`192.0.2.7/24` excludes `192.0.2.0/24`), the safe reading of such a line.
 *
 * Lookup costs one map probe per distinct prefix length in the list, whatever its size.
 *
 * @module
 */

import { type Address, familyBits, mask, parsePrefix } from "./address.ts";
import { UserError } from "../errors.ts";

/** A set of prefixes to exclude. */
export class ExclusionList {
  /** Per family, prefix length → network values. */
  #byLength: Record<4 | 6, Map<number, Set<bigint>>> = { 4: new Map(), 6: new Map() };
  /** Prefixes added. */
  size = 0;

  /** Adds a prefix given as text; throws an Error with a one-line reason when malformed. */
  add(text: string): void {
    const p = parsePrefix(text);
    if (p === null) throw new Error(`not an IPv4 or IPv6 address or prefix: ${text}`);
    const m = this.#byLength[p.family];
    let set = m.get(p.length);
    if (set === undefined) m.set(p.length, set = new Set());
    set.add(p.network);
    this.size++;
  }

  /** Whether an address lies in one of the prefixes. */
  has(a: Address): boolean {
    const bits = familyBits(a.family);
    for (const [len, nets] of this.#byLength[a.family]) {
      if (nets.has(mask(a.value, len, bits))) return true;
    }
    return false;
  }

  /**
   * Adds the lines of a list. A malformed line throws an Error naming `source` and its line
   * number: a list meant to protect someone is not silently half-read.
   */
  addText(text: string, source = "exclusion list"): this {
    text.split("\n").forEach((raw, i) => {
      const line = raw.replace(/#.*/, "").trim();
      if (line === "") return;
      try {
        this.add(line);
      } catch (e) {
        throw new Error(`${source}:${i + 1}: ${(e as Error).message}`);
      }
    });
    return this;
  }
}

/**
 * The exclusion lists in the files `paths` (`--exclude`, repeatable), or undefined for none; a
 * file that cannot be read or a malformed line is a `UserError` naming it.
 */
export function readExclusionFiles(paths: readonly string[]): ExclusionList | undefined {
  if (paths.length === 0) return undefined;
  const list = new ExclusionList();
  for (const path of paths) {
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch (e) {
      throw new UserError(`cannot read exclusion list ${path}: ${(e as Error).message}`);
    }
    try {
      list.addText(text, path);
    } catch (e) {
      throw new UserError((e as Error).message);
    }
  }
  return list;
}

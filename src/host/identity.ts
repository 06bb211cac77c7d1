/**
 * Who this vantage point is on the Internet: the public address of each family (given with
 * `--public-ip`, or discovered with `--stun`) and its AS number (from an `--asn-db` table,
 * offline). The original looked both up online at every start; ours asks nothing of anyone
 * unless told to.
 *
 * @module
 */
import { AsnDb } from "../io/asndb.ts";
import { ipVersion } from "../wire/ip.ts";
import { EXIT, osReason, UserError } from "../errors.ts";
import type { SourceAddresses } from "./iface.ts";
import { stunMappedAddress } from "./stun.ts";

/** What is known of one family's source. */
export interface SourceIdentity {
  /** The public address (when known). */
  public?: string;
  /** The AS number of the public address (or of the source, with no public one known). */
  asn?: number;
}

/** Both families, and how the public addresses were learnt. */
export interface Identity {
  v4: SourceIdentity;
  v6: SourceIdentity;
  /** "given", `stun HOST[:PORT]`, or null (none asked for). */
  publicFrom: string | null;
}

/** What to find out. */
export interface IdentityOptions {
  publicIp: string[];
  stun?: string;
  asnDb: string[];
}

/**
 * Finds the public addresses and AS numbers the options ask for. A STUN server that answers for
 * no family, or an AS table that cannot be read, fails the set-up (exit 3): results without the
 * fields asked for would be silently incomplete. A family the server has no address of, or that
 * does not answer while the other does, is one warning.
 */
export async function findIdentity(
  source: SourceAddresses,
  o: IdentityOptions,
  say: (line: string) => void,
): Promise<Identity> {
  const id: Identity = { v4: {}, v6: {}, publicFrom: null };
  for (const a of o.publicIp) id[ipVersion(a) === 6 ? "v6" : "v4"].public = a;
  if (o.publicIp.length > 0) id.publicFrom = "given";
  if (o.stun !== undefined) {
    const why: string[] = [];
    let found = 0;
    for (const fam of ["v4", "v6"] as const) {
      const src = source[fam];
      if (src === undefined || id[fam].public !== undefined) continue;
      const m = await stunMappedAddress(o.stun, src);
      if (typeof m === "string") why.push(`IPv${fam.slice(1)}: ${m}`);
      else {
        id[fam].public = m.address;
        found++;
      }
    }
    if (found === 0 && why.length > 0) {
      throw new UserError(
        `--stun ${o.stun} gave no public address (${why.join("; ")})`,
        EXIT.SETUP,
      );
    }
    for (const w of why) say(`pathspider: warning: --stun ${o.stun}: ${w}`);
    id.publicFrom = id.publicFrom === null ? `stun ${o.stun}` : `${id.publicFrom}, stun ${o.stun}`;
  }
  if (o.asnDb.length > 0) {
    let db: AsnDb;
    try {
      db = await AsnDb.load(o.asnDb);
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError(`cannot read --asn-db ${o.asnDb.join(", ")}: ${osReason(e)}`, EXIT.SETUP);
    }
    for (const fam of ["v4", "v6"] as const) {
      const addr = id[fam].public ?? source[fam];
      if (addr === undefined) continue;
      const asn = db.asnOf(addr);
      if (asn !== 0) id[fam].asn = asn;
      else say(`pathspider: warning: --asn-db has no AS for ${addr}`);
    }
  }
  return id;
}

/**
 * The forge model at run time: for each packet of a job, a source port from the reserved
 * range, the plugin's description turned into bytes, and the bytes handed to the raw sender
 * (batched with the other workers' packets of the same turn of the event loop).
 *
 * Forged TCP would be spoiled by the kernel: no socket owns the forged SYN's port, so the
 * target's SYN-ACK is answered with a RST, which ends the flow early and tells middleboxes the
 * connection is gone. A temporary nftables table drops outgoing RSTs from the reserved port
 * range (and the ICMP port-unreachables the kernel would send for UDP replies to those ports);
 * the table is a setting of the run, journalled before it is added and deleted on every exit
 * path (src/host/journal.ts, src/host/firewall.ts). The range lies above Linux's default ephemeral range
 * (32768-60999), so no socket of this or any other program uses it by default.
 *
 * @module
 */

import type { ConnResult } from "../connect/types.ts";
import { UserError } from "../errors.ts";
import { type FirewallJournal, FORGE_PORTS, forgeFirewall } from "../host/firewall.ts";
import { RawSender } from "../ffi/raw.ts";
import { CaptureError } from "../ffi/status.ts";
import {
  CONN_FAILED,
  CONN_OK,
  CONN_SKIPPED,
  type ForgeModel,
  type Job,
  type Model,
} from "../plugins/plugin.ts";
import { buildPacket } from "../wire/build.ts";

/** What the engine gets back for one forged packet: a connection's result. */
export type ForgeResult = ConnResult & { sip: string };

/** Sends one packet; resolves to 0 or minus errno (`RawSender.queue`). */
export type PacketSink = (pkt: Uint8Array) => Promise<number>;

/** Hands out source ports of the reserved range in turn. */
export class PortCycle {
  #next: number;

  /** Starts at a random port of the range, so that back-to-back runs do not reuse 5-tuples. */
  constructor(
    readonly first: number = FORGE_PORTS.first,
    readonly last: number = FORGE_PORTS.last,
    start?: number,
  ) {
    const n = last - first + 1;
    this.#next = start ?? first + Math.floor(Math.random() * n);
  }

  /**
   * The next port. Jobs have distinct targets (the feeder drops duplicate `dip`s), so a port
   * comes back only after the whole range went round, long after its flow was matched.
   */
  next(): number {
    const p = this.#next;
    this.#next = p >= this.last ? this.first : p + 1;
    return p;
  }
}

/** Sends a job's forged packet `config` of `model` from `source`. */
export type ForgeSender = (job: Job, config: number, source: string) => Promise<ForgeResult>;

/** A ForgeSender over a packet sink and a port cycle. Never rejects. */
export function forgeSender(model: ForgeModel, sink: PacketSink, ports: PortCycle): ForgeSender {
  return async (job, config, source) => {
    const sp = ports.next();
    let pkt: Uint8Array;
    try {
      const spec = model.forge(job, config, { addr: source, port: sp });
      if (spec === null) return { sip: source, sp: 0, spdr_state: CONN_SKIPPED };
      pkt = buildPacket(spec);
    } catch (e) {
      return { sip: source, sp: 0, spdr_state: CONN_FAILED, spdr_error: (e as Error).message };
    }
    const status = await sink(pkt);
    // the original records no state for a forged packet; "sent" is OK here, a refused send
    // (no route, no such family) FAILED, with its errno
    if (status === 0) return { sip: source, sp, spdr_state: CONN_OK };
    return { sip: source, sp, spdr_state: CONN_FAILED, spdr_errno: -status };
  };
}

/** The forge model's resources for one run. */
export interface ForgeRun extends Disposable {
  /** Sends a job's packet (the engine's `forge` option). */
  send: ForgeSender;
  /** Sends what is queued and closes the raw sockets. */
  close(): void;
}

/**
 * Opens what a forge model needs: the raw sender, and the firewall table through `journal`
 * (journalled first, so that every exit path removes it). Undefined for any other model.
 * Throws `UserError` (one line) without CAP_NET_RAW or when nftables refuses the table.
 */
export function startForge(model: Model, journal: FirewallJournal): ForgeRun | undefined {
  if (model.kind !== "forge") return undefined;
  let raw: RawSender;
  try {
    raw = RawSender.open();
  } catch (e) {
    if (e instanceof CaptureError) throw new UserError(`cannot forge packets: ${e.message}`);
    throw e;
  }
  const fw = forgeFirewall();
  try {
    journal.addNftables(fw.table, fw.rules);
  } catch (e) {
    raw.close();
    throw new UserError(
      `cannot add the nftables table that keeps the kernel from resetting forged connections: ` +
        (e as Error).message,
    );
  }
  return {
    send: forgeSender(model, (p) => raw.queue(p), new PortCycle()),
    close: () => raw.close(),
    [Symbol.dispose]: () => raw.close(),
  };
}

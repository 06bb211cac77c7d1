/**
 * The real components of a measurement: the live capture feeding the observer in this process,
 * and the connection helpers on one socket reactor.
 */
import { UserError } from "../errors.ts";
import { makeChains } from "../chains/registry.ts";
import { CaptureError, CaptureSource, PacketBatch, Status } from "../ffi/capture.ts";
import { Reactor } from "../ffi/sockets.ts";
import type { FlowRecord } from "../observer/chain.ts";
import { Observer } from "../observer/observer.ts";
import { CONNECT_HELPERS } from "../connect/mod.ts";
import type { Connector } from "./engine.ts";
import type { LiveObservation, MeasureDeps } from "./run.ts";

/**
 * How long one wait for packets may last before the loop checks the clock, stopping and a drain
 * request (ms). A short wait costs a wake-up of the capture thread only.
 */
const POLL_MS = 20;

/**
 * A drain is complete when a wait for packets that began after the request lasted this long
 * without a block. The kernel hands over a partly filled block once it was the open block for a
 * whole retire period (10 ms, capture-ffi/src/live.rs), i.e. at most two periods after its last
 * packet, rounded up to jiffies: 50 ms leaves a margin for any HZ.
 */
const DRAIN_QUIET_MS = 50;

/**
 * A batch holding one non-IP Ethernet record stamped `epochMs`: the observer advances its packet
 * clock on every record, IP or not, so feeding this when the interface is quiet makes flows
 * expire on wall time (the original only moved on when a packet arrived).
 */
function clockRecord(epochMs: number): PacketBatch {
  const b = new PacketBatch(64);
  const v = b.view;
  v.setUint32(0, Math.floor(epochMs / 1000), true);
  v.setUint32(4, Math.floor((epochMs % 1000) * 1e6), true);
  v.setUint32(8, 14, true);
  v.setUint32(12, 14, true);
  v.setUint16(16, 1, true); // LINKTYPE_ETHERNET
  v.setUint16(20 + 12, 0x88b5, false); // local experimental EtherType: never IP
  b.count = 1;
  return b;
}

/** Opens the capture and runs the observer over it until `stop()`. */
export function observeLive(
  iface: string,
  chainNames: string[],
  onFlow: (flow: FlowRecord) => void,
  timeouts: { idle: number; expiry: number },
  capture: { ringMiB: number } = { ringMiB: 16 },
): LiveObservation {
  let src: CaptureSource;
  try {
    src = CaptureSource.openLive(iface, { filter: "ip", ringMiB: capture.ringMiB });
  } catch (e) {
    if (e instanceof CaptureError) {
      if (e.code === Status.NOT_PERMITTED) {
        throw new UserError(
          `capturing on ${iface} needs CAP_NET_RAW and CAP_NET_ADMIN (run as root)`,
        );
      }
      throw new UserError(`cannot capture on ${iface}: ${e.message}`);
    }
    throw e;
  }
  const observer = new Observer(makeChains(chainNames), {
    emit: onFlow,
    idleTimeout: timeouts.idle,
    expiryTimeout: timeouts.expiry,
    resetIsFinal: true,
  });
  const batch = new PacketBatch();
  let running = true;
  let dropped = 0;
  // drain requests: resolved once every packet captured before the request was observed
  let drains: { since: number; done: () => void }[] = [];
  const loop = (async () => {
    let lastTick = 0;
    while (running) {
      const began = performance.now();
      const draining = drains.length > 0;
      const n = await src.next(batch, draining ? DRAIN_QUIET_MS : POLL_MS);
      if (n > 0) observer.push(batch);
      const now = Date.now();
      if (now - lastTick >= 200) {
        observer.push(clockRecord(now));
        lastTick = now;
      }
      if (draining && n === 0) {
        // this whole quiet wait came after the request: every earlier packet was handed over
        const ready = drains.filter((d) => d.since <= began);
        drains = drains.filter((d) => d.since > began);
        for (const d of ready) d.done();
      }
    }
    for (const d of drains) d.done();
  })();
  return {
    async stop() {
      if (!running) return;
      running = false;
      try {
        await loop;
      } finally {
        try {
          dropped = src.stats().dropped;
        } catch { /* closed */ }
        src.close();
      }
    },
    async flush() {
      if (running) {
        await new Promise<void>((done) => drains.push({ since: performance.now(), done }));
      }
      observer.flush();
    },
    drops() {
      if (!running) return dropped;
      try {
        return src.stats().dropped;
      } catch {
        return dropped;
      }
    },
  };
}

/** Connections through the helpers of `src/connect/`, all on one reactor. */
export function helperConnector(reactor: Reactor): Connector {
  return (mode, job, opts) =>
    CONNECT_HELPERS[mode].run({
      job,
      // every per-connection option of the plugin (tos, mss, fastOpen, http2) plus the source
      opts: {
        tos: opts.tos,
        mss: opts.mss,
        fastOpen: opts.fastOpen,
        http2: opts.http2,
        source: opts.source,
      },
      timeoutMs: opts.timeout * 1000,
      reactor,
    });
}

/** The live dependencies of `runMeasure`. */
export function liveDeps(): MeasureDeps {
  const reactor = Reactor.open();
  return {
    connect: helperConnector(reactor),
    observe: (iface, chains, onFlow, timeouts, capture) =>
      observeLive(iface, chains, onFlow, timeouts, capture),
    close: () => reactor.close(),
    opensAtCall: (mode) => CONNECT_HELPERS[mode].opensAtCall === true,
  };
}

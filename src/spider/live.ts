/**
 * The real components of a measurement: the live capture feeding the observer in this process,
 * and the connection helpers on one socket reactor.
 */
import { EXIT, UserError } from "../errors.ts";
import { makeChains } from "../chains/registry.ts";
import { CaptureError, CaptureSource, runFilter, Status } from "../ffi/capture.ts";
import type { CaptureFilterSpec } from "./capture_filter.ts";
import { Reactor } from "../ffi/sockets.ts";
import type { FlowRecord } from "../observer/chain.ts";
import { Observer } from "../observer/observer.ts";
import { CapturePump } from "../observer/pump.ts";
import { CONNECT_HELPERS } from "../connect/mod.ts";
import type { Connector } from "./engine.ts";
import type { LiveObservation, MeasureDeps } from "./run.ts";

/** Opens the capture and runs the observer over it until `stop()`. */
export function observeLive(
  iface: string,
  chainNames: string[],
  onFlow: (flow: FlowRecord) => void,
  timeouts: { idle: number; expiry: number },
  capture: {
    ringMiB: number;
    filter?: CaptureFilterSpec;
    onError?: (e: Error) => void;
  } = { ringMiB: 16 },
): LiveObservation {
  let src: CaptureSource;
  try {
    src = CaptureSource.openLive(iface, {
      // only the run's own traffic (capture_filter.ts); without a spec every IP packet
      filter: capture.filter !== undefined ? runFilter(capture.filter) : "ip",
      ringMiB: capture.ringMiB,
    });
  } catch (e) {
    if (e instanceof CaptureError) {
      if (e.code === Status.NOT_PERMITTED) {
        throw new UserError(
          `capturing on ${iface} needs CAP_NET_RAW and CAP_NET_ADMIN (run as root)`,
          EXIT.SETUP,
        );
      }
      throw new UserError(`cannot capture on ${iface}: ${e.message}`, EXIT.SETUP);
    }
    throw e;
  }
  const observer = new Observer(makeChains(chainNames), {
    emit: onFlow,
    idleTimeout: timeouts.idle,
    expiryTimeout: timeouts.expiry,
    resetIsFinal: true,
  });
  const pump = new CapturePump(src, observer, { wallClock: true });
  // a capture that fails (the interface went down: status -4) ends the pump; the run is told
  // and stops, instead of an unhandled rejection ending the process with a stack trace
  let failure: unknown;
  const loop = pump.run().catch((e) => {
    failure = e;
    capture.onError?.(e instanceof Error ? e : new Error(String(e)));
  });
  let running = true;
  let dropped = 0;
  return {
    async stop() {
      if (!running) return;
      running = false;
      pump.stop();
      try {
        await loop;
      } finally {
        try {
          dropped = src.stats().dropped;
        } catch { /* closed */ }
        src.close();
      }
      // told nobody: the caller learns it here
      if (failure !== undefined && capture.onError === undefined) throw failure;
    },
    async flush() {
      await pump.flush();
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
  return (mode, job, { timeout, ...opts }) =>
    CONNECT_HELPERS[mode].run({ job, opts, timeoutMs: timeout * 1000, reactor });
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

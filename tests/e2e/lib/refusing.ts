/**
 * A long input of targets that refuse at once, and a watch on a process's memory: shared by the
 * memory test (tests/e2e/measure_memory_test.ts) and bench/measure_memory.ts.
 *
 * The targets are IPv6 addresses of one /108 (up to 1,048,576 distinct targets) routed to the
 * server namespace, where a local route makes them its own addresses with no listener: its
 * kernel answers every SYN with a RST.
 * @module
 */
import { NET, run, type Testbed } from "./testbed.ts";

/** The refusing targets' prefix (fd00:6::/108). */
export const REFUSING_PREFIX = "fd00:6::";

/** Most targets the prefix holds. */
export const REFUSING_MAX = 1 << 20;

/** Routes the refusing prefix through the router to the server namespace's loopback. */
export async function addRefusingTargets(tb: Testbed): Promise<void> {
  await run(["ip", "-6", "route", "add", "local", `${REFUSING_PREFIX}/108`, "dev", "lo"], {
    ns: tb.serverNs,
    check: true,
  });
  await run(["ip", "-6", "route", "add", `${REFUSING_PREFIX}/108`, "via", NET.server6], {
    ns: tb.routerNs,
    check: true,
  });
}

/** Writes `n` jobs, one distinct refusing target each (port 9), to `path`. */
export async function writeRefusingJobs(path: string, n: number): Promise<void> {
  if (n > REFUSING_MAX) throw new Error(`at most ${REFUSING_MAX} refusing targets`);
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    const enc = new TextEncoder();
    let chunk = "";
    for (let i = 0; i < n; i++) {
      const tail = `${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`;
      chunk += `{"dip": "${REFUSING_PREFIX}${tail}", "dp": 9}\n`;
      if (chunk.length > 1 << 20) {
        await f.write(enc.encode(chunk));
        chunk = "";
      }
    }
    await f.write(enc.encode(chunk));
  } finally {
    f.close();
  }
}

/** Lines (results) in a file, counted without holding it in memory. */
export async function countLines(path: string): Promise<number> {
  const f = await Deno.open(path);
  let lines = 0;
  try {
    const buf = new Uint8Array(1 << 20);
    for (let n; (n = await f.read(buf)) !== null;) {
      for (let i = 0; i < n; i++) if (buf[i] === 10) lines++;
    }
  } finally {
    f.close();
  }
  return lines;
}

/** A watch on a process's resident memory; `stop()` returns what it saw. */
export interface MemoryWatch {
  /** Peak RSS (the kernel's VmHWM) in KiB, and the RSS samples (seconds since start, KiB). */
  stop(): { peakKiB: number; samples: { t: number; kib: number }[] };
}

/** Reads VmHWM/VmRSS of `pid` every `everyMs` ms (the kernel keeps the peak: none is missed). */
export function watchMemory(pid: number, everyMs = 500): MemoryWatch {
  const t0 = performance.now();
  let peak = 0;
  const samples: { t: number; kib: number }[] = [];
  const read = () => {
    try {
      const s = Deno.readTextFileSync(`/proc/${pid}/status`);
      const kib = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
      peak = Math.max(peak, kib("VmHWM"));
      const now = kib("VmRSS");
      if (now > 0) samples.push({ t: (performance.now() - t0) / 1000, kib: now });
    } catch {
      // the process has gone
    }
  };
  const timer = setInterval(read, everyMs);
  return {
    stop() {
      clearInterval(timer);
      read();
      return { peakKiB: peak, samples };
    },
  };
}

/** The size of the capture ring of a measurement. */

/**
 * Kernel ring size (MiB of 128 KiB blocks) for a run with `workers` workers. The kernel hands a
 * block over when it is full or 10-20 ms after it was opened, so at these packet rates (about 4 MB
 * and 21,000 packets per 1,000 jobs) every block holds 10-20 ms of traffic, and the block COUNT
 * bounds how long the event loop may be busy elsewhere before the kernel drops packets: 16 MiB are
 * 128 blocks, 1.3-2.6 s. More workers complete more connections in one burst: 1 MiB more per 8
 * workers beyond 128, up to 32 MiB (256 blocks, 2.6-5 s) from -w 256 on. The ring's pages count
 * in the resident memory once the reader has cycled through them: with the former cap of 256 MiB
 * a run at -w 2000 took 250 MiB of ring, more than half its peak (447 MiB on
 * bench/measure_sched.ts, 8,000 jobs, dscp); with 32 MiB its peak is 243 MiB, with no kernel
 * drop and no loss of speed (PATHSPIDER_RING_MIB=32, same bench, on a loaded host). The traffic
 * of -w 2000 is about 4 MB/s, so 256 blocks, each retired after 10-20 ms, are never all in use.
 * PATHSPIDER_RING_MIB overrides it.
 */
export function ringMiB(workers: number): number {
  const env = Number(Deno.env.get("PATHSPIDER_RING_MIB") ?? "");
  if (Number.isInteger(env) && env > 0) return Math.min(env, 4096);
  return Math.min(RING_MAX_MIB, Math.max(16, Math.ceil(workers / 8)));
}

/** The largest ring `ringMiB` picks by itself (the override may ask for more). */
export const RING_MAX_MIB = 32;

/** The size of the capture ring of a measurement. */

/**
 * Kernel ring size (MiB of 128 KiB blocks) for a run with `workers` workers. The kernel hands a
 * block over when it is full or 10-20 ms after it was opened, so at these packet rates (about 4 MB
 * and 21,000 packets per 1,000 jobs) every block holds 10-20 ms of traffic, and the block COUNT
 * bounds how long the event loop may be busy elsewhere before the kernel drops packets: 16 MiB are
 * 128 blocks, 1.3-2.6 s. More workers complete more connections in one burst: 1 MiB more per 8
 * workers beyond 128 (-w 500: 62 MiB). The ring's pages count in the resident memory once the
 * reader has cycled through them. PATHSPIDER_RING_MIB overrides it.
 */
export function ringMiB(workers: number): number {
  const env = Number(Deno.env.get("PATHSPIDER_RING_MIB") ?? "");
  if (Number.isInteger(env) && env > 0) return Math.min(env, 4096);
  return Math.min(256, Math.max(16, Math.ceil(workers / 8)));
}

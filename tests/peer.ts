/**
 * The original PATHspider 2.0.1, runnable through `../shared/peer/pspdr-peer` beside the
 * repository (see its README). Tests that compare with it are skipped when it is absent.
 */

/** Path of the original's wrapper, used exactly like `pathspider`. */
export const PEER = new URL("../../shared/peer/pspdr-peer", import.meta.url).pathname;

/** Whether the wrapper is there. */
export const havePeer: boolean = (() => {
  try {
    return Deno.statSync(PEER).isFile;
  } catch {
    return false;
  }
})();

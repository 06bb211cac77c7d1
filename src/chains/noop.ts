/**
 * The `noop` chain: adds nothing and keeps every flow (for documentation and tests).
 *
 * @module
 */

import type { Chain } from "../observer/chain.ts";

/** A chain whose hooks all return true and record nothing. */
export class NoopChain implements Chain {
  readonly name = "noop";
  newFlow(): boolean {
    return true;
  }
  ip4(): boolean {
    return true;
  }
  ip6(): boolean {
    return true;
  }
  icmp4(): boolean {
    return true;
  }
  icmp6(): boolean {
    return true;
  }
  tcp(): boolean {
    return true;
  }
  udp(): boolean {
    return true;
  }
}

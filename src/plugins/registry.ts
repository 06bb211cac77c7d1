/**
 * The plugins `measure` offers, in the order `measure --help` lists them. The engine only ever
 * reaches a plugin through this list.
 */
import { dnsresolvPlugin } from "./dnsresolv.ts";
import { accecnPlugin } from "./accecn.ts";
import { dscpPlugin } from "./dscp.ts";
import { ecnPlugin } from "./ecn.ts";
import { evilbitPlugin } from "./evilbit.ts";
import { h2Plugin } from "./h2.ts";
import { mssPlugin } from "./mss.ts";
import { tcpoptPlugin } from "./tcpopt.ts";
import { tfoPlugin } from "./tfo.ts";
import { udpoptsPlugin } from "./udpopts.ts";
import { udpzeroPlugin } from "./udpzero.ts";
import type { Plugin } from "./plugin.ts";

/** Every registered plugin. */
export const PLUGINS: readonly Plugin[] = [
  accecnPlugin,
  dnsresolvPlugin,
  dscpPlugin,
  ecnPlugin,
  evilbitPlugin,
  h2Plugin,
  mssPlugin,
  tcpoptPlugin,
  tfoPlugin,
  udpoptsPlugin,
  udpzeroPlugin,
];

/** The plugin called `name`, or undefined. */
export function findPlugin(name: string): Plugin | undefined {
  return PLUGINS.find((p) => p.name === name);
}

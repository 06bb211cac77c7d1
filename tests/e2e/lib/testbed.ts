/**
 * A network of three namespaces for end-to-end tests, the demo and the benches:
 *
 *   <p>-c (client)          <p>-r (router, nftables middleboxes)        <p>-s (servers)
 *   veth-c 198.18.0.2/24 ── veth-rc 198.18.0.1   veth-rs 198.18.1.1 ── veth-s 198.18.1.2/24
 *          fd00:c::2/64             fd00:c::1            fd00:1::1             fd00:1::2/64
 *                                                            lo: targets 198.19.0.N, fd00:5::N
 *
 * With `routers: n` (n > 1) the path has n routers in a row, <p>-r (facing the client, hop 1),
 * <p>-r2, ... <p>-rN (facing the server, hop N; the target answers at hop N + 1); router k's
 * link to router k + 1 is 198.18.(100+k).1 ── 198.18.(100+k).2 and fd00:1:(100+k)::1 ── ::2, and
 * a router's ICMP errors come from the address facing the client. Each router's ICMP rate
 * limits are off, so that traceroute-like tests are deterministic. `behaviourAt` places a
 * target's behaviours on a given router.
 *
 * Each target gets its own addresses on the server (198.19.0.N/32 and fd00:5::N/128) and its own
 * behaviour in the router's forward chain. The server namespace runs nginx (80, 443), NSD (53
 * UDP/TCP, zone example.test with a name per target) and, when installed and asked for, h2o (8080,
 * h2c upgrade). Every run has a unique prefix; `destroy()` (always call it, in a finally) kills
 * the processes and deletes the namespaces, and `cleanupStale(prefix)` removes leftovers of
 * crashed runs.
 *
 * @module
 */
import { type Behaviour, BEHAVIOURS, iptablesFor, routerRuleset } from "./behaviours.ts";
import {
  Background,
  deleteNamespace,
  inNs,
  listNamespaces,
  run,
  type RunOpts,
  sh,
} from "./netns.ts";
import {
  h2oConfig,
  haveH2o,
  makeCertificate,
  nginxConfig,
  nsdConfig,
  startH2o,
  startNginx,
  startNsd,
  ZONE,
  zoneFile,
} from "./servers.ts";

export type { Behaviour } from "./behaviours.ts";
export { Background, run } from "./netns.ts";
export type { RunResult } from "./netns.ts";

/** What a target should be. */
export interface TargetSpec {
  /** DNS label of the target (`<name>.example.test`); letters, digits and dashes */
  name: string;
  /** IPv4 address (true = the next free 198.19.0.N; default true) or false for none */
  v4?: boolean | string;
  /** IPv6 address (true = fd00:5::N; default true) or false for none */
  v6?: boolean | string;
  /** middlebox behaviours on the path to it (default clean) */
  behaviour?: Behaviour[];
  /** one-way delay added on the path to it, milliseconds (user-space delay element) */
  delayMs?: number;
  /** behaviours placed on router k (1-based; `behaviour` is on router 1) */
  behaviourAt?: Record<number, Behaviour[]>;
}

/** A target as built. */
export interface Target {
  name: string;
  /** fully qualified DNS name */
  domain: string;
  v4?: string;
  v6?: string;
  behaviour: Behaviour[];
  delayMs: number;
  behaviourAt: Record<number, Behaviour[]>;
}

/** Options of {@link Testbed.create}. */
export interface TestbedOpts {
  targets: TargetSpec[];
  /** namespace prefix (default: "pstb" + 4 random hex digits); at most 8 characters */
  prefix?: string;
  /** servers to run (default http, https and dns) */
  servers?: ("http" | "dns" | "h2c")[];
  /** routers in a row between client and server (default 1, at most 8) */
  routers?: number;
  /** routers (1-based) that never send ICMP time-exceeded (they forward, but stay silent) */
  silentRouters?: number[];
}

/** The router's TUN device of the delay element. */
const DELAY_DEV = "tundelay";

/** Addresses of the fixed part of the network. */
export const NET = {
  client4: "198.18.0.2",
  client6: "fd00:c::2",
  routerClient4: "198.18.0.1",
  routerClient6: "fd00:c::1",
  routerServer4: "198.18.1.1",
  routerServer6: "fd00:1::1",
  server4: "198.18.1.2",
  server6: "fd00:1::2",
  targets4: "198.19.0.0/16",
  targets6: "fd00:5::/64",
} as const;

/** A built testbed; see the module documentation. */
export class Testbed {
  readonly prefix: string;
  readonly clientNs: string;
  readonly routerNs: string;
  /** every router's namespace, in path order (`routerNs` first) */
  readonly routerNss: string[];
  readonly serverNs: string;
  /** the client's interface (in clientNs), where pathspider captures */
  readonly clientIface = "veth-c";
  /** the server's interface facing the router (in serverNs) */
  readonly serverIface = "veth-s";
  readonly targets: Target[] = [];
  /** temporary directory with configurations, certificates and server logs */
  readonly dir: string;
  #procs: Background[] = [];
  #destroyed = false;

  private constructor(prefix: string, dir: string, routers: number) {
    this.prefix = prefix;
    this.clientNs = `${prefix}-c`;
    this.routerNs = `${prefix}-r`;
    this.routerNss = [this.routerNs];
    for (let k = 2; k <= routers; k++) this.routerNss.push(`${prefix}-r${k}`);
    this.serverNs = `${prefix}-s`;
    this.dir = dir;
  }

  /** Builds the network and starts the servers; tears everything down again if a step fails. */
  static async create(opts: TestbedOpts): Promise<Testbed> {
    const prefix = opts.prefix ??
      `pstb${
        crypto.getRandomValues(new Uint8Array(2)).reduce((s, b) =>
          s + b.toString(16).padStart(2, "0"), "")
      }`;
    if (!/^[a-z0-9]{1,8}$/.test(prefix)) {
      throw new Error(`testbed prefix must be 1-8 lowercase letters or digits: ${prefix}`);
    }
    const routers = opts.routers ?? 1;
    if (!Number.isInteger(routers) || routers < 1 || routers > 8) {
      throw new Error(`testbed: routers must be 1-8: ${routers}`);
    }
    const dir = await Deno.makeTempDir({ prefix: `${prefix}-` });
    const tb = new Testbed(prefix, dir, routers);
    try {
      tb.#planTargets(opts.targets);
      await tb.#buildNetwork();
      for (const k of opts.silentRouters ?? []) await tb.#silence(k);
      await tb.#startServers(opts.servers ?? ["http", "dns"]);
    } catch (e) {
      await tb.destroy();
      throw e;
    }
    return tb;
  }

  #planTargets(specs: TargetSpec[]) {
    if (specs.length > 4000) throw new Error("testbed: at most 4000 targets");
    specs.forEach((s, i) => {
      if (!/^[a-z0-9-]+$/i.test(s.name)) throw new Error(`testbed: bad target name ${s.name}`);
      for (const b of [...s.behaviour ?? [], ...Object.values(s.behaviourAt ?? {}).flat()]) {
        if (!BEHAVIOURS.includes(b)) throw new Error(`testbed: unknown behaviour ${b}`);
      }
      for (const k of Object.keys(s.behaviourAt ?? {})) {
        if (!(Number(k) >= 1 && Number(k) <= this.routerNss.length)) {
          throw new Error(`testbed: no router ${k} for ${s.name}`);
        }
      }
      const n = i + 1;
      const v4 = s.v4 === false
        ? undefined
        : typeof s.v4 === "string"
        ? s.v4
        : `198.19.${n >> 8}.${n & 255}`;
      const v6 = s.v6 === false
        ? undefined
        : typeof s.v6 === "string"
        ? s.v6
        : `fd00:5::${n.toString(16)}`;
      this.targets.push({
        name: s.name,
        domain: `${s.name}.${ZONE}`,
        v4,
        v6,
        behaviour: s.behaviour?.length ? s.behaviour : ["clean"],
        delayMs: s.delayMs ?? 0,
        behaviourAt: s.behaviourAt ?? {},
      });
    });
  }

  async #buildNetwork() {
    const { clientNs: c, routerNs: r, serverNs: s } = this;
    const rs = this.routerNss;
    const last = rs[rs.length - 1]!;
    for (const ns of [c, ...rs, s]) {
      await sh(["ip", "netns", "add", ns]);
      // no duplicate address detection: link-local addresses would stay tentative for a second
      // after link-up and hold back the first IPv6 packets through the router
      await sh([
        "sysctl",
        "-qw",
        "net.ipv6.conf.all.accept_dad=0",
        "net.ipv6.conf.default.accept_dad=0",
      ], ns);
    }
    // veth pairs are created inside the namespaces, so their names never clash across runs
    await sh(
      ["ip", "link", "add", "veth-c", "type", "veth", "peer", "name", "veth-rc", "netns", r],
      c,
    );
    await sh(
      ["ip", "link", "add", "veth-s", "type", "veth", "peer", "name", "veth-rs", "netns", last],
      s,
    );
    for (let k = 1; k < rs.length; k++) {
      await sh(
        ["ip", "link", "add", "veth-n", "type", "veth", "peer", "name", "veth-p", "netns", rs[k]!],
        rs[k - 1]!,
      );
    }
    const addr = (ns: string, dev: string, a: string) =>
      sh(["ip", "addr", "add", a, "dev", dev, ...(a.includes(":") ? ["nodad"] : [])], ns);
    await addr(c, "veth-c", `${NET.client4}/24`);
    await addr(c, "veth-c", `${NET.client6}/64`);
    await addr(r, "veth-rc", `${NET.routerClient4}/24`);
    await addr(r, "veth-rc", `${NET.routerClient6}/64`);
    await addr(last, "veth-rs", `${NET.routerServer4}/24`);
    await addr(last, "veth-rs", `${NET.routerServer6}/64`);
    for (let k = 1; k < rs.length; k++) {
      await addr(rs[k - 1]!, "veth-n", `${hopLink(k, 1, 4)}/24`);
      await addr(rs[k - 1]!, "veth-n", `${hopLink(k, 1, 6)}/64`);
      await addr(rs[k]!, "veth-p", `${hopLink(k, 2, 4)}/24`);
      await addr(rs[k]!, "veth-p", `${hopLink(k, 2, 6)}/64`);
    }
    await addr(s, "veth-s", `${NET.server4}/24`);
    await addr(s, "veth-s", `${NET.server6}/64`);
    // targets live on loopback (this kernel has no dummy interfaces), added in one batch
    const batch = this.targets.flatMap((t) => [
      ...(t.v4 ? [`addr add ${t.v4}/32 dev lo`] : []),
      ...(t.v6 ? [`addr add ${t.v6}/128 dev lo nodad`] : []),
    ]);
    await run(["ip", "-batch", "-"], { ns: s, stdin: batch.join("\n") + "\n", check: true });
    const links: [string, string[]][] = [[c, ["lo", "veth-c"]], [s, ["lo", "veth-s"]]];
    rs.forEach((ns, i) =>
      links.push([ns, [
        "lo",
        i === 0 ? "veth-rc" : "veth-p",
        ...(i === rs.length - 1 ? ["veth-rs"] : ["veth-n"]),
      ]])
    );
    for (const [ns, devs] of links) {
      for (const d of devs) await sh(["ip", "link", "set", d, "up"], ns);
    }
    await sh(["ip", "route", "add", "default", "via", NET.routerClient4], c);
    await sh(["ip", "-6", "route", "add", "default", "via", NET.routerClient6], c);
    await sh(["ip", "route", "add", "default", "via", NET.routerServer4], s);
    await sh(["ip", "-6", "route", "add", "default", "via", NET.routerServer6], s);
    for (const ns of rs) {
      await sh(["sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"], ns);
    }
    if (rs.length > 1) await this.#routeChain();
    if (this.targets.some((t) => t.delayMs > 0)) await this.#startDelay();
    else {
      await sh(["ip", "route", "add", NET.targets4, "via", this.#nextHop(4)], r);
      await sh(["ip", "-6", "route", "add", NET.targets6, "via", this.#nextHop(6)], r);
    }
    for (let k = 1; k <= rs.length; k++) {
      const rules: { addr: string; behaviour: Behaviour[] }[] = [];
      const ipt: string[][] = [];
      for (const t of this.targets) {
        const bs = [...(k === 1 ? t.behaviour : []), ...(t.behaviourAt[k] ?? [])];
        for (const a of [t.v4, t.v6]) {
          if (!a) continue;
          rules.push({ addr: a, behaviour: bs });
          ipt.push(...bs.flatMap((b) => iptablesFor(b, a)));
        }
      }
      const delayDev = k === 1 && this.#delayed ? DELAY_DEV : undefined;
      const ruleset = routerRuleset("testbed", rules, delayDev);
      await run(["nft", "-f", "-"], { ns: rs[k - 1], stdin: ruleset, check: true });
      for (const cmd of ipt) await sh(cmd, rs[k - 1]);
    }
  }

  /** Router k drops the time-exceeded messages it would send. */
  async #silence(k: number) {
    const ns = this.routerNss[k - 1];
    if (!ns) throw new Error(`testbed: no router ${k} to silence`);
    const rules = [
      "table inet testbed_silent {",
      "  chain output {",
      "    type filter hook output priority filter; policy accept;",
      "    icmp type time-exceeded drop",
      "    icmpv6 type time-exceeded drop",
      "  }",
      "}",
      "",
    ].join("\n");
    await run(["nft", "-f", "-"], { ns, stdin: rules, check: true });
  }

  /** Router 1's next hop towards the targets: the server, or router 2. */
  #nextHop(family: 4 | 6): string {
    if (this.routerNss.length === 1) return family === 4 ? NET.server4 : NET.server6;
    return hopLink(1, 2, family);
  }

  /**
   * Routes of a chain of routers: router k sends target- and server-bound packets to router
   * k + 1 (router 1's target route is set by the caller, as it may lead into the delay element)
   * and client-bound ones back to router k - 1; every router answers with ICMP errors at once.
   */
  async #routeChain() {
    const rs = this.routerNss;
    const last = rs.length - 1;
    for (let i = 0; i < rs.length; i++) {
      const ns = rs[i];
      // no ICMP rate limit (default: 1 error per second and destination, with a burst of 50 for
      // IPv4) so that every probe of a test gets its time-exceeded
      await sh(["sysctl", "-qw", "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0"], ns);
      if (i > 0) {
        await sh(["ip", "route", "add", "198.18.0.0/24", "via", hopLink(i, 1, 4)], ns);
        await sh(["ip", "-6", "route", "add", "fd00:c::/64", "via", hopLink(i, 1, 6)], ns);
      }
      if (i < last) {
        const next4 = hopLink(i + 1, 2, 4), next6 = hopLink(i + 1, 2, 6);
        await sh(["ip", "route", "add", "198.18.1.0/24", "via", next4], ns);
        await sh(["ip", "-6", "route", "add", "fd00:1::/64", "via", next6], ns);
        if (i > 0) {
          await sh(["ip", "route", "add", NET.targets4, "via", next4], ns);
          await sh(["ip", "-6", "route", "add", NET.targets6, "via", next6], ns);
        }
      } else if (i > 0) {
        await sh(["ip", "route", "add", NET.targets4, "via", NET.server4], ns);
        await sh(["ip", "-6", "route", "add", NET.targets6, "via", NET.server6], ns);
      }
    }
  }

  /**
   * The address that answers with ICMP errors at hop `hop` (1-based; routers first, then the
   * target itself, which is not known here: null past the last router).
   */
  hopAddress(hop: number, family: 4 | 6): string | null {
    if (hop < 1 || hop > this.routerNss.length) return null;
    if (hop === 1) return family === 4 ? NET.routerClient4 : NET.routerClient6;
    return hopLink(hop - 1, 2, family);
  }

  #delayed = false;

  /**
   * The delay element: target-bound packets are routed into a TUN device served by
   * tundelay.py, which holds each for its target's delay and writes it back; packets coming out
   * of the device follow a policy route to the server. Only the forward path is delayed, so a
   * target's round-trip time grows by its delay.
   */
  async #startDelay() {
    const r = this.routerNs;
    const conf = `${this.dir}/delays.txt`;
    await Deno.writeTextFile(
      conf,
      this.targets.flatMap((t) => [t.v4, t.v6].filter((a) => a).map((a) => `${a} ${t.delayMs}\n`))
        .join(""),
    );
    const script = new URL("./tundelay.py", import.meta.url).pathname;
    const p = new Background(["python3", script, DELAY_DEV, conf], { ns: r });
    this.#procs.push(p);
    await p.waitFor((_err, out) => out.includes("ready"));
    this.#delayed = true;
    for (
      const cmd of [
        // a TUN device queues 500 packets by default: a -w 2000 run's burst of 4,000 SYNs (and
        // the delay element falling behind on a busy host) dropped a third of the forward
        // packets (36,123 of 108,575 in one run), i.e. a lossy network, not a delayed one
        ["link", "set", DELAY_DEV, "txqueuelen", "20000"],
        ["link", "set", DELAY_DEV, "up"],
        ["route", "add", NET.targets4, "dev", DELAY_DEV],
        ["route", "add", NET.targets6, "dev", DELAY_DEV],
        ["route", "add", NET.targets4, "via", this.#nextHop(4), "table", "100"],
        ["route", "add", NET.targets6, "via", this.#nextHop(6), "table", "100"],
        ["-4", "rule", "add", "iif", DELAY_DEV, "lookup", "100"],
        ["-6", "rule", "add", "iif", DELAY_DEV, "lookup", "100"],
      ]
    ) await sh(["ip", ...cmd], r);
    // packets re-enter from the TUN device with the client's source address
    await sh([
      "sysctl",
      "-qw",
      "net.ipv4.conf.all.rp_filter=0",
      "net.ipv4.conf.default.rp_filter=0",
      `net.ipv4.conf.${DELAY_DEV}.rp_filter=0`,
    ], r);
  }

  async #startServers(servers: string[]) {
    const s = this.serverNs;
    const [cert, key] = await makeCertificate(this.dir);
    if (servers.includes("http") || servers.includes("h2c")) {
      const conf = await nginxConfig(this.dir, cert, key);
      if (servers.includes("http")) this.#procs.push(await startNginx(s, this.dir, conf));
    }
    if (servers.includes("dns")) {
      const zone = await zoneFile(this.dir, this.targets, { v4: NET.server4, v6: NET.server6 });
      const addrs: string[] = [NET.server4, NET.server6];
      for (const t of this.targets) addrs.push(...[t.v4, t.v6].filter((a): a is string => !!a));
      this.#procs.push(await startNsd(s, await nsdConfig(this.dir, zone, addrs)));
    }
    if (servers.includes("h2c")) {
      if (!(await haveH2o())) throw new Error("testbed: h2o is not installed (make deps)");
      this.#procs.push(await startH2o(s, await h2oConfig(this.dir)));
    }
  }

  /** The target called `name`. */
  target(name: string): Target {
    const t = this.targets.find((x) => x.name === name);
    if (!t) throw new Error(`testbed: no target ${name}`);
    return t;
  }

  /**
   * Appends `rules` to router `router`'s forward chain (the middlebox; default router 1), in
   * one `nft -f` run.
   */
  async addForwardRules(rules: string[], router = 1): Promise<void> {
    if (rules.length === 0) return;
    await run(["nft", "-f", "-"], {
      ns: this.routerNss[router - 1],
      check: true,
      stdin: rules.map((r) => `add rule inet testbed forward ${r}\n`).join(""),
    });
  }

  /**
   * For each target named in `rules`, over each of its addresses, the forward rules
   * `rules[name](family, address)` (`family` "ip" or "ip6", as nftables spells it).
   */
  async addTargetRules(
    rules: Record<string, (family: "ip" | "ip6", addr: string) => string[]>,
  ): Promise<void> {
    const all: string[] = [];
    for (const [name, make] of Object.entries(rules)) {
      const t = this.target(name);
      for (const a of [t.v4, t.v6]) if (a) all.push(...make(a.includes(":") ? "ip6" : "ip", a));
    }
    await this.addForwardRules(all);
  }

  /** Runs a command to completion in namespace `ns` (default: the client's). */
  exec(cmd: string[], ns: string = this.clientNs, opts: Omit<RunOpts, "ns"> = {}) {
    return run(cmd, { ...opts, ns });
  }

  /** Starts a background process in namespace `ns` (default: the client's). */
  spawn(cmd: string[], ns: string = this.clientNs, opts: { env?: Record<string, string> } = {}) {
    const p = new Background(cmd, { ns, ...opts });
    this.#procs.push(p);
    return p;
  }

  /** argv running `cmd` in the client namespace (for callers that spawn processes themselves). */
  clientArgv(cmd: string[]): string[] {
    return inNs(cmd, this.clientNs);
  }

  /** Kills every process, deletes the namespaces (and so their nftables rules) and the files. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    await Promise.all(this.#procs.map((p) => p.stop("SIGTERM", 2_000).catch(() => {})));
    for (const ns of [this.clientNs, ...this.routerNss, this.serverNs]) await deleteNamespace(ns);
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/**
 * An address of the link between router k and router k + 1: `side` 1 is router k's, 2 router
 * k + 1's.
 */
export function hopLink(k: number, side: 1 | 2, family: 4 | 6): string {
  return family === 4 ? `198.18.${100 + k}.${side}` : `fd00:1:${100 + k}::${side}`;
}

/** Deletes every namespace whose name starts with `prefix` (leftovers of crashed runs). */
export async function cleanupStale(prefix: string): Promise<string[]> {
  if (prefix.length < 3) throw new Error("cleanupStale: prefix too short to be safe");
  const gone: string[] = [];
  for (const ns of await listNamespaces()) {
    if (ns.startsWith(prefix)) {
      await deleteNamespace(ns);
      gone.push(ns);
    }
  }
  return gone;
}

/** Why namespaces cannot be used here, or null when they can (root and `ip netns` work). */
export async function netnsUnavailable(): Promise<string | null> {
  if (Deno.uid() !== 0) return "network-namespace tests need root";
  const probe = `pstprobe${Deno.pid % 100000}`;
  const r = await run(["ip", "netns", "add", probe]);
  if (r.code !== 0) return `'ip netns add' failed: ${r.stderr.trim()}`;
  await deleteNamespace(probe);
  return null;
}

/** Names of the existing namespaces that start with `prefix`. */
export async function listNamespacesWithPrefix(prefix: string): Promise<string[]> {
  return (await listNamespaces()).filter((n) => n.startsWith(prefix));
}

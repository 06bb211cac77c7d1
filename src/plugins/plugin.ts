/**
 * The plugin interface of `pathspider measure`.
 *
 * A plugin is one file that declares what it measures and how: metadata for the help text, the
 * observer chains it needs, the connection modes it supports (the first is the default), its own
 * options, its model (how the A/B connections are made) and `combineFlows`, which turns the
 * flow records of one job into conditions. The engine (`src/spider/`) knows no plugin by name.
 */
import type { PacketSpec } from "../wire/build.ts";

/** A measurement job: the input's own fields, kept untouched, plus `dip` (and maybe `dp`). */
export type Job = Record<string, unknown> & { dip: string; dp?: number };

/** Connection modes the connection helpers provide (the manual's "Connection Modes"). */
export type ConnectMode = "tcp" | "http" | "https" | "dnsudp" | "dnstcp";

/** The original's connection states (its code's values; its manual swaps 1 and 2). */
export const CONN_OK = 0;
/** The connection failed (refused, reset, unreachable, no address to bind). */
export const CONN_FAILED = 1;
/** The connection did not complete in time. */
export const CONN_TIMEOUT = 2;
/** The connection was not attempted. */
export const CONN_SKIPPED = 3;

/**
 * One configuration's record as `combineFlows` sees it: the observer's flow record (absent
 * fields when the flow was not observed) merged with the connection result and the engine's
 * bookkeeping (`config`, `spdr_state`, `observed`, ...).
 */
export type FlowResult = Record<string, unknown> & {
  config: number;
  spdr_state: number;
  observed: boolean;
};

/**
 * A system-wide setting a sync configuration (or a desync model's `settings`) needs; the engine
 * journals and restores it.
 */
export interface Setting {
  /** Only sysctls so far (in the network namespace the tool runs in). */
  kind: "sysctl";
  /** Dotted sysctl name, e.g. `net.ipv4.tcp_ecn`. */
  key: string;
  /** Value to write. */
  value: string;
}

/** Per-connection options a desync model passes to the connection helper. */
export interface ConnectionOptions {
  /** IPv4 ToS / IPv6 traffic class byte to set on the socket (DSCP << 2). */
  tos?: number;
  /** TCP_MAXSEG: the MSS the SYN advertises. */
  mss?: number;
  /**
   * TCP fast open (TCP_FASTOPEN_CONNECT): the request goes out on the SYN when the kernel holds
   * a cookie for the destination, else the SYN asks for one.
   */
  fastOpen?: boolean;
  /**
   * Ask for HTTP/2: `http` sends the `Upgrade: h2c` request (RFC 7540 §3.2), `https` offers
   * ALPN `h2` before `http/1.1` and speaks HTTP/2 when the server picks it.
   */
  http2?: boolean;
}

/** How a plugin's connections are made (the manual's plugin models). */
export type Model =
  | {
    /** A configurator switches system settings; all workers run A, barrier, all run B. */
    kind: "sync";
    /** One list of settings per configuration, baseline first. */
    configurations: Setting[][];
    /**
     * The kernel reads these settings only while a connection opens (when `connect()` builds
     * its first SYN) and never again for that connection, SYN retransmissions included. A
     * configuration then needs to be in force only while connections are being opened, not for
     * their whole life: the engine switches between configurations from one connection start to
     * the next, and a job's connections run side by side (when its connection helper opens the
     * connection within its call; otherwise the phases of the plain sync model are used).
     */
    openOnly?: boolean;
  }
  | {
    /** Each job makes its connections in turn, each with its own socket options. */
    kind: "desync";
    /** One entry per connection, baseline first. */
    connections: ConnectionOptions[];
    /**
     * System settings the connections need for the whole run (e.g. client fast open enabled);
     * applied once before the first job, journalled and restored like sync settings.
     */
    settings?: Setting[];
    /**
     * The connections are independent of each other (no state carried from one to the next,
     * like a fast-open cookie): a job starts them all at once instead of in turn, so a silent
     * target holds its worker for one timeout, not one per connection.
     */
    concurrent?: boolean;
  }
  | {
    /** One connection per job; conditions come from the observer and the helper. */
    kind: "single";
  }
  | ForgeModel;

/**
 * The forge model: per job, `packets` packets are built from descriptions and sent on a raw
 * socket, each from its own source port (chosen by the engine in a reserved range); the
 * observer's flows for those ports give the conditions.
 */
export interface ForgeModel {
  kind: "forge";
  /** Transport of the forged packets: the flows are matched on it. */
  proto: "tcp" | "udp";
  /** Packets per job, baseline first. */
  packets: number;
  /**
   * Describes packet `config` of a job sent from `src`, or null when the job cannot be
   * probed this way (reported as skipped). Throws (one line) on a job it cannot handle.
   */
  forge(
    job: Job,
    config: number,
    src: { addr: string; port: number },
  ): PacketSpec | null;
}

/** An extra command-line option of a plugin (added to its subcommand). */
export interface PluginOption {
  /** Commander flags, e.g. `--codepoint <n>`. */
  flags: string;
  /** Help text. */
  description: string;
  /** Default value (already parsed). */
  default?: unknown;
  /** Parses and validates the text; throws an Error with a one-line message when invalid. */
  parse?: (value: string) => unknown;
}

/** Options a plugin receives: its own parsed options plus `connect` and `timeout`. */
export type PluginArgs = Record<string, unknown> & { connect: ConnectMode; timeout: number };

/** A measurement plugin. */
export interface Plugin {
  /** Short name, the subcommand of `measure`. */
  name: string;
  /** One-line description for `measure --help`. */
  description: string;
  /** Plugin version. */
  version: string;
  /** Observer chains (names from the chain registry); `basic` is always added by the engine. */
  chains: string[];
  /** Supported connection modes; the first is the default. */
  connectSupported: ConnectMode[];
  /** Other names `--connect` accepts for a mode (e.g. the original's `tcpsyn` for `tcp`). */
  connectAliases?: Record<string, ConnectMode>;
  /** Extra options of the plugin's subcommand. */
  options: PluginOption[];
  /** Text appended to the plugin's `--help`. */
  helpText?: string;
  /** The model, given the parsed options. */
  model(args: PluginArgs): Model;
  /**
   * Conditions for one job from its flow results, sorted by `config`; null for none. Plain
   * function of its inputs (no I/O), so it can be tested on hand-made records.
   */
  combineFlows(flows: FlowResult[], args: PluginArgs): string[] | null;
  /**
   * For a plugin that makes jobs rather than measuring paths (dnsresolv): `measure` runs this
   * instead of the engine, with no observer and no interface check; resolves to the exit status.
   */
  standalone?(io: StandaloneIO, args: PluginArgs): Promise<number>;
}

/** What `measure` hands a standalone plugin. */
export interface StandaloneIO {
  /** The input (`--input` file or stdin). */
  input: ReadableStream<Uint8Array>;
  /** Whether `--csv-input` was given. */
  csv: boolean;
  /** Writes one output record (a line of ndjson). */
  write(record: Record<string, unknown>): void;
  /** `-w`: how many operations may run at once. */
  workers: number;
  /** Prints one line on stderr. */
  say(line: string): void;
}

/**
 * Reaching a campaign's NATS server: the server list and the credentials, from options or the
 * environment (`NATS_USER`, `NATS_PASSWORD`, `NATS_TOKEN`, `NATS_NKEY`, `NATS_CREDS`, `NATS_CA`,
 * `NATS_CERT`, `NATS_KEY`). Secrets are read from files or the environment only: a password,
 * token or seed on the command line is visible to every user of the machine (`ps`) and ends up in
 * shell histories and CI logs, so `--server` with user information and inline secrets are refused.
 *
 * @module
 */
import {
  type Authenticator,
  connect,
  credsAuthenticator,
  type NatsConnection,
  nkeyAuthenticator,
  type NodeConnectionOptions,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
} from "@nats-io/transport-node";
import { EXIT, UserError } from "../errors.ts";

/** The options of every campaign command that say how to reach the server. */
export interface AccessOptions {
  /** `--server`: one URL or several, comma-separated (`nats://`, `tls://` or `host:port`). */
  server?: string;
  user?: string;
  passwordFile?: string;
  tokenFile?: string;
  /** File holding an nkey seed (`SU...`). */
  nkey?: string;
  /** A `.creds` file (user JWT and nkey seed). */
  creds?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** How to reach the server, secrets included (never printed). */
export interface NatsAccess {
  /** `host:port` of each server, for printing too (no user information). */
  servers: string[];
  /** A `tls://` URL was given: the connection must be encrypted. */
  tlsRequired: boolean;
  /** Options for the client (authenticator and TLS files). */
  options: Partial<NodeConnectionOptions>;
}

const DEFAULT_PORT = 4222;

function readSecret(path: string, what: string): string {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch (e) {
    throw new UserError(
      `cannot read the ${what} file ${path}: ${(e as Error).message}`,
      EXIT.SETUP,
    );
  }
}

/** One `--server` word as `host:port`, and whether it asks for TLS. */
function parseServer(word: string): { hostPort: string; tls: boolean } {
  const m = /^(?:([a-z]+):\/\/)?(.*)$/i.exec(word.trim())!;
  const scheme = (m[1] ?? "nats").toLowerCase();
  if (!["nats", "tls"].includes(scheme)) {
    throw new UserError(
      `--server ${word}: use nats://HOST[:PORT] or tls://HOST[:PORT]`,
      EXIT.USAGE,
    );
  }
  const rest = m[2]!;
  if (rest.includes("@")) {
    throw new UserError(
      `--server must not carry a user, password or token (anyone can read a command line): ` +
        `use --user with --password-file or NATS_PASSWORD, --token-file or NATS_TOKEN, --creds`,
      EXIT.USAGE,
    );
  }
  let url: URL;
  try {
    url = new URL(`nats://${rest}`);
  } catch {
    throw new UserError(`--server ${word}: not a server address`, EXIT.USAGE);
  }
  if (url.hostname === "" || (url.pathname !== "" && url.pathname !== "/")) {
    throw new UserError(`--server ${word}: not a server address`, EXIT.USAGE);
  }
  return { hostPort: `${url.hostname}:${url.port || DEFAULT_PORT}`, tls: scheme === "tls" };
}

/**
 * Builds the access from options, then the environment. Throws a UserError (usage) for a server
 * URL with credentials in it or for two kinds of credentials at once.
 */
export function accessFrom(
  o: AccessOptions,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): NatsAccess {
  const words = (o.server ?? env("NATS_URL") ?? "").split(",").filter((w) => w.trim() !== "");
  if (words.length === 0) {
    throw new UserError("no NATS server: give --server URL (or NATS_URL)", EXIT.USAGE);
  }
  const parsed = words.map(parseServer);
  const tlsRequired = parsed.some((p) => p.tls);
  const auths: [string, Authenticator][] = [];
  const user = o.user ?? env("NATS_USER");
  if (user !== undefined) {
    const pass = o.passwordFile !== undefined
      ? readSecret(o.passwordFile, "password")
      : env("NATS_PASSWORD");
    auths.push(["user", usernamePasswordAuthenticator(user, pass)]);
  } else if (o.passwordFile !== undefined) {
    throw new UserError("--password-file needs --user (or NATS_USER)", EXIT.USAGE);
  }
  const token = o.tokenFile !== undefined ? readSecret(o.tokenFile, "token") : env("NATS_TOKEN");
  if (token !== undefined) auths.push(["token", tokenAuthenticator(token)]);
  const nkeyFile = o.nkey ?? env("NATS_NKEY");
  if (nkeyFile !== undefined) {
    const seed = new TextEncoder().encode(readSecret(nkeyFile, "nkey seed"));
    auths.push(["nkey", nkeyAuthenticator(seed)]);
  }
  const credsFile = o.creds ?? env("NATS_CREDS");
  if (credsFile !== undefined) {
    const creds = new TextEncoder().encode(readSecret(credsFile, "credentials"));
    auths.push(["creds", credsAuthenticator(creds)]);
  }
  if (auths.length > 1) {
    throw new UserError(
      `more than one kind of NATS credentials given (${auths.map((a) => a[0]).join(", ")}, ` +
        `options or environment): give one`,
      EXIT.USAGE,
    );
  }
  const tlsFiles = {
    caFile: o.tlsCa ?? env("NATS_CA"),
    certFile: o.tlsCert ?? env("NATS_CERT"),
    keyFile: o.tlsKey ?? env("NATS_KEY"),
  };
  for (const [k, v] of Object.entries(tlsFiles)) {
    if (v === undefined) delete (tlsFiles as Record<string, unknown>)[k];
  }
  const options: Partial<NodeConnectionOptions> = {
    servers: parsed.map((p) => p.hostPort),
  };
  if (auths.length === 1) options.authenticator = auths[0]![1];
  if (tlsRequired || Object.keys(tlsFiles).length > 0) options.tls = tlsFiles;
  return { servers: parsed.map((p) => p.hostPort), tlsRequired, options };
}

/** Options of {@link connectNats}. */
export interface ConnectOptions {
  /** Connection name the server shows (monitoring). */
  name: string;
  /**
   * Reconnect for ever after the connection is lost (workers: a server restart must not end a
   * campaign); otherwise a lost connection fails the command.
   */
  keepTrying?: boolean;
}

/** Connects; a server that cannot be reached (or refuses the credentials) is a set-up failure. */
export async function connectNats(a: NatsAccess, o: ConnectOptions): Promise<NatsConnection> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      ...a.options,
      name: o.name,
      maxReconnectAttempts: o.keepTrying ? -1 : 10,
      reconnectTimeWait: 500,
      timeout: 5000,
    });
  } catch (e) {
    throw new UserError(
      `cannot connect to NATS at ${a.servers.join(",")}: ${(e as Error).message}`,
      EXIT.SETUP,
    );
  }
  const info = (nc as unknown as { info?: { tls_required?: boolean; tls_available?: boolean } })
    .info;
  if (a.tlsRequired && !(info?.tls_required || info?.tls_available)) {
    await nc.close();
    throw new UserError(
      `tls:// asked for, but the NATS server at ${a.servers.join(",")} offers no TLS`,
      EXIT.SETUP,
    );
  }
  return nc;
}

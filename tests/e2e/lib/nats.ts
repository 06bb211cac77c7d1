/**
 * A real nats-server with JetStream for the campaign tests and benches: on 127.0.0.1 of the given
 * network namespace (the caller's without one), a random port and a temporary store directory,
 * removed again by `stop()`. `restart()` keeps port and store, as a server restarted in place.
 *
 * @module
 */
import { Background } from "./netns.ts";

/** Where Debian installs it (scripts/install-deps.sh). */
const NATS_SERVER = "nats-server";

/** True when nats-server is installed; tests that need it fail loudly without it. */
export function haveNatsServer(): boolean {
  try {
    return new Deno.Command(NATS_SERVER, { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** A running nats-server. */
export class NatsServer {
  #proc: Background | undefined;
  private constructor(
    readonly port: number,
    readonly storeDir: string,
    readonly ns: string | undefined,
  ) {}

  /** `nats://127.0.0.1:PORT`. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts a server; tries other ports when one is taken. */
  static async start(opts: { ns?: string; extraArgs?: string[] } = {}): Promise<NatsServer> {
    if (!haveNatsServer()) {
      throw new Error("nats-server is not installed (scripts/install-deps.sh installs it)");
    }
    const dir = await Deno.makeTempDir({ prefix: "psc-nats-" });
    let last: unknown;
    for (let i = 0; i < 5; i++) {
      const port = 20000 + Math.floor(Math.random() * 40000);
      const s = new NatsServer(port, dir, opts.ns);
      try {
        await s.#launch(opts.extraArgs ?? []);
        return s;
      } catch (e) {
        last = e;
      }
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw last;
  }

  #extra: string[] = [];

  async #launch(extra: string[]): Promise<void> {
    this.#extra = extra;
    const p = new Background([
      NATS_SERVER,
      "-js",
      "-a",
      "127.0.0.1",
      "-p",
      String(this.port),
      "-sd",
      this.storeDir,
      ...extra,
    ], { ns: this.ns });
    try {
      await p.waitFor((err) => /Server is ready/.test(err), 15_000);
    } catch (e) {
      await p.stop("SIGKILL");
      throw e;
    }
    this.#proc = p;
  }

  /** Stops the server (SIGTERM: JetStream flushes its store) and starts it again in place. */
  async restart(downMs = 0): Promise<void> {
    await this.#proc?.stop("SIGTERM");
    this.#proc = undefined;
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.#launch(this.#extra);
  }

  /** Stops the server and removes its store. */
  async stop(): Promise<void> {
    await this.#proc?.stop("SIGTERM");
    this.#proc = undefined;
    await Deno.remove(this.storeDir, { recursive: true }).catch(() => {});
  }
}

/**
 * Running commands in network namespaces: one-shot commands with a time limit, and background
 * processes that can be stopped. Shared by the testbed, the e2e tests, the demo and the benches.
 *
 * @module
 */

/** Outcome of a finished command. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link run}. */
export interface RunOpts {
  /** network namespace to run in (via `ip netns exec`); none = the caller's */
  ns?: string;
  /** bytes or text written to the command's standard input */
  stdin?: string | Uint8Array;
  /** kill the command after this long (default 60 s) */
  timeoutMs?: number;
  env?: Record<string, string>;
  cwd?: string;
  /** throw when the exit code is not 0 (default false) */
  check?: boolean;
}

/** The argv that runs `cmd` inside namespace `ns` (or as is without one). */
export function inNs(cmd: string[], ns?: string): string[] {
  return ns ? ["ip", "netns", "exec", ns, ...cmd] : cmd;
}

/** Runs a command to completion and returns its exit code and output. */
export async function run(cmd: string[], opts: RunOpts = {}): Promise<RunResult> {
  const argv = inNs(cmd, opts.ns);
  const child = new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    stdin: opts.stdin !== undefined ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    env: opts.env,
    cwd: opts.cwd,
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, opts.timeoutMs ?? 60_000);
  try {
    // stdin is written while the output is read: a child that writes a lot before it has read
    // all its input (measure's results) would otherwise fill its stdout pipe and wait forever
    // for us, while we wait for it to take the rest of its input
    const feeding = opts.stdin === undefined ? Promise.resolve() : (async () => {
      const w = child.stdin.getWriter();
      const data = typeof opts.stdin === "string"
        ? new TextEncoder().encode(opts.stdin)
        : opts.stdin!;
      await w.write(data).catch(() => {});
      await w.close().catch(() => {});
    })();
    const out = await child.output();
    await feeding;
    const res = {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
    if (opts.check && res.code !== 0) {
      throw new Error(`${argv.join(" ")} exited ${res.code}: ${res.stderr.trim()}`);
    }
    return res;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a command that must succeed; returns its standard output. */
export async function sh(cmd: string[], ns?: string, timeoutMs = 60_000): Promise<string> {
  return (await run(cmd, { ns, check: true, timeoutMs })).stdout;
}

/** A process running in the background (e.g. a server or a capture). */
export class Background {
  readonly child: Deno.ChildProcess;
  readonly argv: string[];
  #stderr = "";
  #stdout: Uint8Array[] = [];
  #done: Promise<Deno.CommandStatus>;
  #readers: Promise<void>[] = [];

  constructor(
    cmd: string[],
    opts: { ns?: string; env?: Record<string, string>; cwd?: string } = {},
  ) {
    this.argv = inNs(cmd, opts.ns);
    this.child = new Deno.Command(this.argv[0]!, {
      args: this.argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: opts.env,
      cwd: opts.cwd,
    }).spawn();
    this.#readers.push(this.#drain(this.child.stdout, (b) => this.#stdout.push(b)));
    this.#readers.push(this.#drain(this.child.stderr, (b) => {
      this.#stderr += new TextDecoder().decode(b);
    }));
    this.#done = this.child.status;
  }

  async #drain(s: ReadableStream<Uint8Array>, sink: (b: Uint8Array) => void) {
    for await (const b of s) sink(b);
  }

  /** process id */
  get pid(): number {
    return this.child.pid;
  }

  /** standard error so far */
  get stderr(): string {
    return this.#stderr;
  }

  /** standard output so far */
  get stdout(): string {
    const all = new Uint8Array(this.#stdout.reduce((n, b) => n + b.length, 0));
    let o = 0;
    for (const b of this.#stdout) {
      all.set(b, o);
      o += b.length;
    }
    return new TextDecoder().decode(all);
  }

  /** Resolves when `pred(stderr)` holds; rejects after `timeoutMs` or when the process exits. */
  async waitFor(pred: (stderr: string, stdout: string) => boolean, timeoutMs = 10_000) {
    const end = Date.now() + timeoutMs;
    let exited = false;
    this.#done.then(() => exited = true);
    while (!pred(this.#stderr, this.stdout)) {
      if (exited) {
        throw new Error(`${this.argv.join(" ")} exited early: ${this.#stderr.trim()}`);
      }
      if (Date.now() > end) {
        throw new Error(`${this.argv.join(" ")}: not ready after ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends `signal`, waits for the exit (SIGKILL after `graceMs`), returns the status. */
  async stop(signal: Deno.Signal = "SIGTERM", graceMs = 5_000): Promise<Deno.CommandStatus> {
    try {
      this.child.kill(signal);
    } catch { /* already gone */ }
    const timer = setTimeout(() => {
      try {
        this.child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, graceMs);
    const st = await this.#done;
    clearTimeout(timer);
    await Promise.all(this.#readers).catch(() => {});
    return st;
  }

  /** Waits for the process to exit by itself. */
  async wait(): Promise<Deno.CommandStatus> {
    const st = await this.#done;
    await Promise.all(this.#readers).catch(() => {});
    return st;
  }
}

/** Names of the existing network namespaces. */
export async function listNamespaces(): Promise<string[]> {
  const out = await run(["ip", "-json", "netns", "list"]);
  if (out.code !== 0 || !out.stdout.trim()) return [];
  return (JSON.parse(out.stdout) as { name: string }[]).map((n) => n.name);
}

/** Kills every process inside `ns` and deletes it; tolerates a namespace that is already gone. */
export async function deleteNamespace(ns: string): Promise<void> {
  const pids = await run(["ip", "netns", "pids", ns]);
  for (const p of pids.stdout.split(/\s+/).filter(Boolean)) {
    try {
      Deno.kill(Number(p), "SIGKILL");
    } catch { /* gone meanwhile */ }
  }
  // a namespace with a dying process may refuse deletion for a moment
  for (let i = 0; i < 20; i++) {
    const r = await run(["ip", "netns", "del", ns]);
    if (r.code === 0 || /No such file/.test(r.stderr)) return;
    await new Promise((res) => setTimeout(res, 100));
  }
}

/**
 * Shared by the measure e2e tests: running `bin/pathspider measure` in a testbed's client
 * namespace and reading its results.
 */
import { run, type Testbed } from "./lib/testbed.ts";

/** bin/pathspider of this tree. */
export const PATHSPIDER = new URL("../../bin/pathspider", import.meta.url).pathname;

/** One line of measure output. */
export type Result = Record<string, unknown> & { dip: string; conditions?: string[] };

/** Jobs for every address of every target: `{dip, domain, name}`. */
export function jobsFor(tb: Testbed, names?: string[]): string {
  return tb.targets
    .filter((t) => names === undefined || names.includes(t.name))
    .flatMap((t) =>
      [t.v4, t.v6].filter(Boolean).map((a) => ({ dip: a, domain: t.domain, name: t.name }))
    )
    .map((j) => JSON.stringify(j) + "\n")
    .join("");
}

/**
 * Sends one ping to every target address and waits for the client's and router's IPv6 link-local
 * addresses to leave duplicate address detection: the very first packets of a fresh namespace
 * otherwise stall for about a second, which would turn baselines into timeouts.
 */
export async function warmUp(tb: Testbed): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const out = await Promise.all(
      [tb.clientNs, tb.routerNs, tb.serverNs].map((ns) =>
        run(["ip", "-6", "addr", "show", "tentative"], { ns })
      ),
    );
    if (out.every((o) => o.stdout.trim() === "")) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await Promise.all(
    tb.targets.flatMap((t) => [t.v4, t.v6]).filter((a): a is string => !!a).map((a) =>
      tb.exec(["ping", ...(a.includes(":") ? ["-6"] : []), "-n", "-q", "-c", "1", "-W", "1", a])
    ),
  );
}

/** Runs `pathspider measure -i <client iface> ARGS` in the client namespace. */
export async function measure(
  tb: Testbed,
  args: string[],
  jobs: string,
  timeoutMs = 180_000,
): Promise<{ code: number; results: Result[]; stderr: string; stdout: string }> {
  const r = await run(
    ["ip", "netns", "exec", tb.clientNs, PATHSPIDER, "measure", "-i", tb.clientIface, ...args],
    { stdin: jobs, timeoutMs },
  );
  const results = r.stdout.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as Result);
  return { code: r.code, results, stderr: r.stderr, stdout: r.stdout };
}

/** The result of `name`'s address of family 4 or 6. */
export function resultOf(results: Result[], tb: Testbed, name: string, family: 4 | 6): Result {
  const t = tb.target(name);
  const addr = family === 4 ? t.v4 : t.v6;
  const r = results.find((x) => x.dip === addr);
  if (r === undefined) throw new Error(`no result for ${name} (${addr})`);
  return r;
}

/** A sysctl of the client namespace. */
export async function clientSysctl(tb: Testbed, key: string): Promise<string> {
  return (await tb.exec(["sysctl", "-n", key])).stdout.trim();
}

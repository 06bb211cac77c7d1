/**
 * The `campaign` command: one measurement run from many vantage points over NATS JetStream
 * (create, add, work, status, collect). Argument parsing and printing only: the work is in
 * src/campaign/.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { EXIT, UserError } from "../errors.ts";
import { VERSION } from "../version.ts";
import { findPlugin, PLUGINS } from "../plugins/registry.ts";
import type { Plugin, PluginArgs } from "../plugins/plugin.ts";
import { parsePluginArgs } from "./plugin_args.ts";
import type { AccessOptions } from "../campaign/access.ts";
import type { Campaign, CampaignDef } from "../campaign/store.ts";

const STREAMS_HELP = `
Streams (JetStream, file storage) of campaign NAME:
  PSC_NAME_JOBS     subjects psc.NAME.jobs.<jobid> (one message per job; the job id is the
                    SHA-256 of the job's JSON with sorted keys, first 32 hex digits) and
                    psc.NAME.def (the plugin and its options)
  PSC_NAME_RESULTS  subjects psc.NAME.results.<vantage>.<jobid> (one result per vantage point
                    and job, tagged with "vantage" and "job_id")
  consumer <vantage> on PSC_NAME_JOBS: each vantage point's durable pull consumer; every
                    vantage point gets every job, its workers share them.
Credentials come from files or the environment, never from the command line: --user (or
NATS_USER) with --password-file (or NATS_PASSWORD), --token-file (or NATS_TOKEN), --nkey (a
seed file, or NATS_NKEY), --creds (or NATS_CREDS); TLS with tls://HOST and --tls-ca/--tls-cert/
--tls-key (or NATS_CA, NATS_CERT, NATS_KEY).
Exit statuses: 0 done, 1 failure, 2 usage, 3 set-up (server unreachable, interface),
128+n stopped by signal n.`;

function checkedName(what: string, text: string): string {
  // names are checked before anything connects
  if (!/^[A-Za-z0-9_-]{1,48}$/.test(text)) {
    throw new UserError(
      `${what} ${JSON.stringify(text)}: use 1 to 48 letters, digits, '-' or '_'`,
      EXIT.USAGE,
    );
  }
  return text;
}

function intIn(opt: string, min: number, max: number) {
  return (text: string): number => {
    if (!/^\s*\d+\s*$/.test(text) || Number(text) < min || Number(text) > max) {
      throw new InvalidArgumentError(`${opt} must be an integer from ${min} to ${max}`);
    }
    return Number(text);
  };
}

/** Adds the options that say how to reach the server; refuses secrets given inline. */
function withAccess(cmd: Command): Command {
  return cmd
    .option("--server <url>", "NATS server(s): nats://HOST[:PORT] or tls://HOST[:PORT], commas")
    .option("--user <name>", "NATS user (password from --password-file or NATS_PASSWORD)")
    .option("--password-file <file>", "file holding the NATS password")
    .option("--token-file <file>", "file holding the NATS token")
    .option("--nkey <file>", "file holding an nkey seed")
    .option("--creds <file>", "NATS credentials file (user JWT and seed)")
    .option("--tls-ca <file>", "CA certificate(s) to verify the server")
    .option("--tls-cert <file>", "client certificate")
    .option("--tls-key <file>", "client key")
    .addOption(new Option("--password <secret>").hideHelp())
    .addOption(new Option("--token <secret>").hideHelp());
}

async function access(o: Record<string, unknown>) {
  for (const k of ["password", "token"]) {
    if (o[k] !== undefined) {
      throw new UserError(
        `--${k} on the command line is readable by every user (ps) and lands in logs: ` +
          `use --${k}-file or NATS_${k.toUpperCase()}`,
        EXIT.USAGE,
      );
    }
  }
  const { accessFrom } = await import("../campaign/access.ts");
  return accessFrom(o as AccessOptions);
}

/** Connects and opens campaign `name`; `fn` runs with it, the connection is closed after. */
async function withCampaign<T>(
  name: string,
  o: Record<string, unknown>,
  fn: (c: Campaign) => Promise<T>,
  keepTrying = false,
): Promise<T> {
  const a = await access(o);
  const { connectNats } = await import("../campaign/access.ts");
  const { Campaign } = await import("../campaign/store.ts");
  const nc = await connectNats(a, { name: `pathspider campaign ${name}`, keepTrying });
  try {
    return await fn(await Campaign.open(nc, name));
  } finally {
    await nc.close().catch(() => {});
  }
}

/**
 * Seconds a job may stay unacknowledged: its connections (each up to the timeout plus the
 * engine's 2 s grace, one after another) plus the wait for its flows, plus 10 s to spare.
 * dscp or ecn with the default 5 s timeout: 2 x 7 + 12 + 10 = 36 s. A live worker reports the
 * jobs it holds as in progress, so this only bounds how long a dead worker's jobs wait.
 */
async function ackWaitSec(plugin: Plugin, args: PluginArgs): Promise<number> {
  const { flowWaitMs, observerTimeouts } = await import("../spider/run.ts");
  const m = plugin.model(args);
  const conns = m.kind === "sync"
    ? m.configurations.length
    : m.kind === "desync" && !m.concurrent
    ? m.connections.length
    : 1;
  const flows = flowWaitMs(observerTimeouts(args.timeout)) / 1000;
  return (args.timeout + 2) * conns + flows + 10;
}

function pluginOf(name: string): Plugin {
  const p = findPlugin(name);
  if (p === undefined || p.standalone) {
    const names = PLUGINS.filter((q) => !q.standalone).map((q) => q.name).join(", ");
    throw new UserError(`unknown plugin ${name} (campaigns measure with: ${names})`, EXIT.USAGE);
  }
  return p;
}

/** The plugin and its option words, as given to `create`. */
function measurement(def: CampaignDef): string {
  return [def.plugin, ...def.args].join(" ");
}

function ago(d: Date | undefined): string {
  if (d === undefined) return "never";
  const s = Math.max(0, Math.round((Date.now() - d.getTime()) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : d.toISOString();
}

/** Registers `campaign` and its subcommands. */
export function registerCampaign(program: Command): void {
  const campaign = program.command("campaign")
    .description("Measure the same targets from many vantage points (NATS JetStream)")
    .usage("create|add|work|status|collect [options]")
    .enablePositionalOptions()
    .addHelpText("after", STREAMS_HELP);

  withAccess(
    campaign.command("create")
      .description("Create campaign NAME measuring with PLUGIN and its options")
      .argument("<name>", "campaign name (letters, digits, - and _)")
      .argument("<plugin>", "the plugin every vantage point runs")
      .argument("[options...]", "the plugin's options, as for measure PLUGIN")
      .passThroughOptions()
      .allowUnknownOption(),
  ).action(async (nameText: string, pluginName: string, words: string[], o) => {
    const n = checkedName("campaign name", nameText);
    const plugin = pluginOf(pluginName);
    const args = parsePluginArgs(plugin, words);
    const def: CampaignDef = {
      campaign: n,
      plugin: plugin.name,
      args: words,
      options: { ...args },
      ackWaitSec: await ackWaitSec(plugin, args),
      created: new Date().toISOString(),
      tool: `pathspider ${VERSION}`,
    };
    const r = await withCampaign(n, o, (c) => c.create(def));
    console.error(
      `pathspider: campaign ${n} ${r.existed ? "exists" : "created"}: ${measurement(r.def)} ` +
        `(streams PSC_${n}_JOBS, PSC_${n}_RESULTS; ` +
        `ack wait ${r.def.ackWaitSec} s)`,
    );
  });

  withAccess(
    campaign.command("add")
      .description("Add jobs (ndjson, or CSV with --csv-input) to campaign NAME")
      .argument("<name>", "campaign name")
      .option("--input <file>", "the jobs; defaults to standard input")
      .option("--csv-input", "Indicate CSV format."),
  ).action(async (nameText: string, o) => {
    const n = checkedName("campaign name", nameText);
    const { newFeederStats, readJobs } = await import("../spider/feeder.ts");
    const stats = newFeederStats();
    let file: Deno.FsFile | undefined;
    if (o.input !== undefined && o.input !== "-") {
      try {
        file = await Deno.open(o.input);
      } catch (e) {
        throw new UserError(`cannot open ${o.input}: ${(e as Error).message}`, EXIT.SETUP);
      }
    }
    const r = await withCampaign(n, o, async (c) => {
      await c.definition();
      return await c.add(
        readJobs(file?.readable ?? Deno.stdin.readable, { csv: o.csvInput === true, stats }),
      );
    });
    console.error(
      `pathspider: campaign ${n}: ${r.added} jobs added, ${r.known} already there, ` +
        `${stats.malformed + stats.duplicates} skipped lines (${stats.malformed} malformed, ` +
        `${stats.duplicates} duplicate targets)`,
    );
  });

  withAccess(
    campaign.command("work")
      .description("Measure campaign NAME's jobs as vantage point V (a worker)")
      .argument("<name>", "campaign name")
      .requiredOption("--vantage <name>", "this vantage point's name (workers of one share jobs)")
      .option("-i, --interface <iface>", "The interface to use for the observer.", "eth0")
      .option("-w, --workers <n>", "Number of workers to use.", intIn("--workers", 1, 100000), 100)
      .option(
        "--until-done",
        "exit 0 once the vantage point has had jobs and has none left (else wait for more)",
      )
      .option("--output-flows", "Include flow results in the results.")
      .option("--quiet", "Print no progress on stderr.")
      .option(
        "--rate <n>",
        "Start at most N jobs per second on this worker (as measure --rate).",
        intIn("--rate", 1, 10_000_000),
      )
      .option("--metadata <file>", "The run's record (as measure --metadata), with the vantage.")
      .option(
        "--status-interval <seconds>",
        "Seconds between status lines when stderr is not a terminal; 0: none.",
        intIn("--status-interval", 0, 86_400),
      ),
  ).action(async (nameText: string, o) => {
    const n = checkedName("campaign name", nameText);
    const vantage = checkedName("vantage point name", o.vantage);
    const { scheduleOf } = await import("./measure_schedule.ts");
    const schedule = scheduleOf({
      rate: o.rate,
      metadata: o.metadata,
      vantage,
      statusInterval: o.statusInterval,
      verbose: program.opts().verbose === true,
    });
    const code = await withCampaign(n, o, async (c) => {
      const def = await c.definition();
      const plugin = pluginOf(def.plugin);
      const args = parsePluginArgs(plugin, def.args);
      const { runWork } = await import("../campaign/work.ts");
      const { liveDeps } = await import("../spider/live.ts");
      return await runWork(c, def, plugin, args, {
        vantage,
        iface: o.interface,
        workers: o.workers,
        untilDone: o.untilDone === true,
        outputFlows: o.outputFlows === true,
        quiet: o.quiet === true,
        schedule,
      }, liveDeps);
    }, true);
    if (code !== 0) throw new UserError("campaign work stopped", code);
  });

  withAccess(
    campaign.command("status")
      .description("Per vantage point: jobs done, in flight and left, rate, last seen")
      .argument("<name>", "campaign name")
      .option("--json", "one JSON record instead of a table"),
  ).action(async (nameText: string, o) => {
    const n = checkedName("campaign name", nameText);
    const st = await withCampaign(n, o, (c) => c.status());
    if (o.json) {
      console.log(JSON.stringify(st));
      return;
    }
    console.log(
      `campaign ${n}: ${measurement(st.def)}; ${st.jobs} jobs, ` +
        `${st.results} results`,
    );
    const rows = [["vantage", "done", "in flight", "left", "rate/s", "last seen"]];
    for (const v of st.vantages) {
      rows.push([
        v.vantage,
        String(v.done),
        String(v.inFlight),
        String(v.left),
        v.rate.toFixed(1),
        ago(v.lastSeen),
      ]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd());
  });

  withAccess(
    campaign.command("collect")
      .description("Write every result of campaign NAME, one per vantage point and job")
      .argument("<name>", "campaign name")
      .requiredOption("--output <file>", "where to write the results (ndjson; - for stdout)"),
  ).action(async (nameText: string, o) => {
    const n = checkedName("campaign name", nameText);
    let file: Deno.FsFile | typeof Deno.stdout;
    try {
      file = o.output === "-"
        ? Deno.stdout
        : await Deno.open(o.output, { write: true, create: true, truncate: true });
    } catch (e) {
      throw new UserError(`cannot open ${o.output}: ${(e as Error).message}`, EXIT.SETUP);
    }
    // results are written in chunks of about 1 MiB (two small writes per result cost more)
    const chunk = new Uint8Array(1 << 20);
    let used = 0;
    const flush = () => {
      for (let off = 0; off < used;) off += file.writeSync(chunk.subarray(off, used));
      used = 0;
    };
    const put = (d: Uint8Array) => {
      if (used + d.length + 1 > chunk.length) flush();
      if (d.length + 1 > chunk.length) {
        for (let off = 0; off < d.length;) off += file.writeSync(d.subarray(off));
      } else {
        chunk.set(d, used);
        used += d.length;
      }
      chunk[used++] = 10;
    };
    let per: Map<string, number>;
    try {
      per = await withCampaign(n, o, (c) => c.collect(put));
      flush();
    } finally {
      if (file !== Deno.stdout) (file as Deno.FsFile).close();
    }
    const total = [...per.values()].reduce((a, b) => a + b, 0);
    const each = [...per].sort().map(([v, k]) => `${v} ${k}`).join(", ");
    console.error(`pathspider: campaign ${n}: ${total} results${each ? ` (${each})` : ""}`);
  });
}

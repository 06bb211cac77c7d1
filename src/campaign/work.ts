/**
 * `campaign work`: a measurement run whose jobs come from the vantage point's consumer and whose
 * results go to the campaign's results stream; everything else (capture, engine, settings,
 * signals) is `measure`'s run.
 *
 * @module
 */
import type { Plugin, PluginArgs } from "../plugins/plugin.ts";
import { type MeasureDeps, runMeasure, summarise } from "../spider/run.ts";
import type { ScheduleOptions } from "../spider/schedule.ts";
import type { Campaign, CampaignDef } from "./store.ts";
import { CampaignWorker, ensureVantage } from "./worker.ts";

/** What a worker needs besides the campaign. */
export interface WorkOptions {
  vantage: string;
  iface: string;
  workers: number;
  untilDone: boolean;
  outputFlows: boolean;
  quiet: boolean;
  /** `--rate`, `--metadata`, status lines and the exit statuses of a scheduled run. */
  schedule?: ScheduleOptions;
}

/** Most jobs pulled ahead of the engine, whatever `-w` says (each waits against the ack wait). */
const MAX_BUFFER = 1000;

/** Runs one worker until its vantage point is done (`untilDone`) or a signal; the exit status. */
export async function runWork(
  c: Campaign,
  def: CampaignDef,
  plugin: Plugin,
  args: PluginArgs,
  o: WorkOptions,
  makeDeps: () => MeasureDeps | Promise<MeasureDeps>,
): Promise<number> {
  const say = (line: string) => console.error(line);
  await ensureVantage(c, def, o.vantage);
  const worker = new CampaignWorker(c, def, {
    vantage: o.vantage,
    buffer: Math.min(o.workers, MAX_BUFFER),
    untilDone: o.untilDone,
    say,
  });
  return await runMeasure(
    {
      iface: o.iface,
      workers: o.workers,
      // what the metadata record and --verbose name as the input
      input: `campaign ${c.names.name}: stream ${c.names.jobsStream}, consumer ${o.vantage}`,
      csvInput: false,
      outputFlows: o.outputFlows,
      quiet: o.quiet,
      plugin,
      args,
      schedule: o.schedule,
    },
    makeDeps,
    {
      jobs: () => ({
        jobs: worker.jobs(),
        total: () => undefined,
        [Symbol.asyncDispose]: () => worker.drain(),
      }),
      sink: () => ({
        write: (r) => worker.write(r),
        // a result is safe once the server has it; nothing is buffered here
        flushSync: () => {},
        [Symbol.dispose]: () => {},
      }),
      summary: (r, say) => {
        // measure's line and exit status (a run whose flows went unobserved is no success)
        const code = summarise(r, say);
        const w = worker.stats;
        say(
          `pathspider: campaign ${c.names.name} at ${o.vantage}: ${w.taken} jobs, ` +
            `${w.stored} results stored (${w.alreadyStored} stored before), ` +
            `${w.skipped} redelivered jobs already done, ${w.malformed} malformed`,
        );
        return code;
      },
    },
  );
}

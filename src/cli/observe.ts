/**
 * The `observe` command: `pathspider observe -i IFACE|FILE [--list-chains] [--output FILE]
 * [--write FILE.pcap] [--quiet] CHAIN...`: passive observation of a live interface or a capture
 * file, one flow record per line (ndjson) as the original's `json.dumps` writes it.
 */
import type { Command } from "commander";
import { UserError } from "../errors.ts";
import { DEFAULT_INTERFACE } from "./observe_args.ts";
import { chainNames, listedChainNames, makeChains } from "../chains/registry.ts";
import { Observer } from "../observer/observer.ts";
import { NdjsonWriter } from "../observer/pyjson.ts";
import type { FlowRecord } from "../observer/chain.ts";
import type { PcapWriter as PcapWriterType } from "../ffi/capture.ts";

/** Options of an observe run (as parsed by commander). */
export interface ObserveOptions {
  interface: string;
  listChains?: boolean;
  output?: string;
  write?: string;
  quiet?: boolean;
}

/** Where `-i` points: a capture file or a live interface (the original's URI prefixes accepted). */
export function resolveSource(arg: string): { file?: string; iface?: string } {
  if (arg.startsWith("pcapfile:")) return { file: arg.slice(9) };
  if (arg.startsWith("pcap:")) return { file: arg.slice(5) };
  if (arg.startsWith("int:")) return { iface: arg.slice(4) };
  try {
    if (Deno.statSync(arg).isFile) return { file: arg };
  } catch {
    // not a file: an interface name, or a file that does not exist
  }
  if (arg.endsWith(".pcap") || arg.endsWith(".pcapng") || arg.includes("/")) return { file: arg };
  return { iface: arg };
}

/** Throws a one-line error unless the interface exists and is up. */
function checkInterface(iface: string): void {
  let flags: number;
  try {
    flags = parseInt(Deno.readTextFileSync(`/sys/class/net/${iface}/flags`).trim(), 16);
  } catch {
    throw new UserError(`interface ${iface} does not exist`);
  }
  if ((flags & 1) === 0) throw new UserError(`interface ${iface} is not up; cannot observe on it`);
}

/** Writes whole chunks to a file descriptor (partial writes handled); notes a closed pipe. */
class ByteSink {
  broken = false;
  constructor(private readonly out: Deno.FsFile | typeof Deno.stdout) {}

  write(data: Uint8Array): void {
    if (this.broken) return;
    let off = 0;
    try {
      while (off < data.length) off += this.out.writeSync(data.subarray(off));
    } catch (e) {
      if (e instanceof Deno.errors.BrokenPipe) {
        this.broken = true;
        return;
      }
      throw new UserError(`cannot write output: ${(e as Error).message}`);
    }
  }
}

/** Batch size, live or from a file: a thousand packets or more per call into the library. */
const BATCH_BYTES = 1 << 20;

/** Batches read after Ctrl-C on a live capture, at most: what the kernel still holds. */
const DRAIN_BATCHES = 64;

function listChains(): void {
  // the original's wording and layout
  console.log("The following chains are available:\n");
  for (const n of listedChainNames()) console.log(n);
  console.log("\nSpider safely!");
}

/** Runs `observe`; resolves with the exit code. */
export async function runObserve(chainArgs: string[], opts: ObserveOptions): Promise<number> {
  if (opts.listChains) {
    listChains();
    return 0;
  }
  const unknown = chainArgs.filter((n) => !chainNames().includes(n.toLowerCase()));
  if (unknown.length) {
    throw new UserError(
      `unknown chain${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}; ` +
        `available: ${chainNames().join(", ")}`,
    );
  }
  const src = resolveSource(opts.interface);
  if (src.iface !== undefined) checkInterface(src.iface);

  // the native library loads only now, so that --help and --list-chains work without it
  const { CaptureSource, CaptureError, PacketBatch, PcapWriter, Status } = await import(
    "../ffi/capture.ts"
  );
  let source;
  try {
    source = src.file !== undefined
      ? CaptureSource.openFile(src.file)
      : CaptureSource.openLive(src.iface!);
  } catch (e) {
    if (e instanceof CaptureError) throw new UserError(e.message);
    throw e;
  }
  // the library's thread reads the first batch of a file while the observer is set up
  if (!source.live) source.readAhead(BATCH_BYTES);

  let outFile: Deno.FsFile | undefined;
  let writer: PcapWriterType | undefined;
  let stop = false;
  const onSignal = () => {
    stop = true;
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    if (opts.output !== undefined && opts.output !== "-" && opts.output !== "/dev/stdout") {
      try {
        outFile = Deno.openSync(opts.output, { write: true, create: true, truncate: true });
      } catch (e) {
        throw new UserError(`cannot open output ${opts.output}: ${(e as Error).message}`);
      }
    }
    if (opts.write !== undefined) {
      try {
        writer = PcapWriter.open(opts.write);
      } catch (e) {
        if (e instanceof CaptureError) throw new UserError(e.message);
        throw e;
      }
    }
    const sink = new ByteSink(outFile ?? Deno.stdout);
    const out = new NdjsonWriter((bytes) => sink.write(bytes));
    const observer = new Observer(makeChains(chainArgs), {
      emit: (rec: FlowRecord) => out.write(rec, observer.floatFields),
    });
    // A file is read ahead by the library on a thread of its own, which lends its batches:
    // taking a ready one here costs microseconds and copies nothing. Every 250 ms, and whenever
    // no batch came within 20 ms, the take is awaited instead: the event loop turns meanwhile, and
    // that is when SIGINT/SIGTERM arrive. (Not more often: an await costs 1-7 ms on a busy 2-core
    // machine.) A live capture awaits up to 200 ms per call.
    const liveBatch = source.live ? new PacketBatch(BATCH_BYTES) : null;
    let lastTurn = performance.now();
    // a capture error ends the input; the flows seen so far are still written, then it is reported
    let failure: Error | undefined;
    // After Ctrl-C a live capture is still read, without waiting, until the kernel holds nothing
    // more (the loop may have stopped between two reads), at most DRAIN_BATCHES batches
    let drained = 0;
    try {
      while (!sink.broken) {
        if (stop && (liveBatch === null || drained++ === DRAIN_BATCHES)) break;
        let n: number;
        let batch: InstanceType<typeof PacketBatch>;
        try {
          if (liveBatch !== null) {
            batch = liveBatch;
            n = await source.next(batch, stop ? 0 : 200);
          } else {
            // a batch not ready yet is waited for here first (a wake-up from the library's
            // thread is fast; one through the event loop costs milliseconds), up to 20 ms
            n = performance.now() - lastTurn < 250 ? source.take(20, BATCH_BYTES) : 0;
            if (n === 0) {
              n = await source.takeAsync(200, BATCH_BYTES);
              lastTurn = performance.now();
            }
            batch = source.taken;
          }
        } catch (e) {
          if (e instanceof CaptureError && e.code === Status.TRUNCATED) {
            if (!opts.quiet) console.error(`pathspider: warning: ${e.message}`);
            continue;
          }
          throw e;
        }
        if (n < 0) break;
        if (n === 0) {
          if (stop) break;
          // nothing came for a while: what is complete goes out now, not with the next packets
          out.flush();
          continue;
        }
        writer?.write(batch);
        observer.push(batch);
        if (source.live) out.flush();
      }
    } catch (e) {
      if (!(e instanceof CaptureError)) throw e;
      failure = e;
    }
    observer.flush();
    out.flush();
    if (failure !== undefined) throw new UserError(failure.message);
    if (!opts.quiet) {
      const c = observer.counters;
      let drops = 0;
      try {
        drops = source.stats().dropped;
      } catch {
        // no statistics: report none
      }
      console.error(
        `pathspider: ${c.packets} packets, ${c.flows} flows (${c.ignored} ignored), ` +
          `${c.nonIp} non-IP, ${c.short} short, ${c.malformed} malformed, ${drops} kernel drops`,
      );
    }
    return 0;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    source.close();
    try {
      writer?.close();
    } finally {
      outFile?.close();
    }
  }
}

/** Registers the `observe` command. */
export function registerObserve(program: Command): void {
  program.command("observe")
    .description("Passively observe network traffic")
    .usage("[options] [chains...]")
    .argument("[chains...]", "Observer chains to use")
    .option("--list-chains", "Prints a list of available chains")
    .option(
      "-i, --interface <iface>",
      "The interface to observe, or a capture file (pcap or pcapng, recognised by content; " +
        "the prefixes pcapfile:, pcap: and int: are accepted)",
      DEFAULT_INTERFACE,
    )
    .option(
      "--output <file>",
      "The file to output results data to. Defaults to standard output.",
    )
    .option("--write <file>", "Also write every packet seen to this pcap file")
    .option("-q, --quiet", "No summary line on standard error")
    .addHelpText("after", "\nSpider safely!")
    .action(async (chains: string[], opts: ObserveOptions) => {
      const code = await runObserve(chains, opts);
      if (code !== 0) throw new UserError("observation failed", code);
    });
}

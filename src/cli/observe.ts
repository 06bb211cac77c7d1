/**
 * The `observe` command: `pathspider observe -i IFACE|FILE [--list-chains] [--output FILE]
 * [--write FILE.pcap] [--quiet] CHAIN...`: passive observation of a live interface or a capture
 * file, one flow record per line (ndjson) as the original's `json.dumps` writes it.
 */
import type { Command } from "commander";
import { EXIT, UserError } from "../errors.ts";
import { DEFAULT_INTERFACE } from "./observe_args.ts";
import { chainNames, listedChainNames, makeChains } from "../chains/registry.ts";
import { Observer } from "../observer/observer.ts";
import { NdjsonWriter } from "../observer/pyjson.ts";
import type { FlowRecord } from "../observer/chain.ts";
import type { PcapWriter as PcapWriterType } from "../ffi/capture.ts";
import { BATCH_BYTES, CapturePump } from "../observer/pump.ts";

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
    const st = Deno.statSync(arg);
    if (st.isFile) return { file: arg };
    if (st.isDirectory) {
      throw new UserError(
        `-i ${arg} is a directory; give a capture file (pcap, pcapng) or an interface`,
        EXIT.SETUP,
      );
    }
  } catch (e) {
    if (e instanceof UserError) throw e;
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
    throw new UserError(`interface ${iface} does not exist`, EXIT.SETUP);
  }
  if ((flags & 1) === 0) {
    throw new UserError(`interface ${iface} is not up; cannot observe on it`, EXIT.SETUP);
  }
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
      EXIT.USAGE,
    );
  }
  const src = resolveSource(opts.interface);
  if (src.iface !== undefined) checkInterface(src.iface);

  // the native library loads only now, so that --help and --list-chains work without it
  const { CaptureSource, CaptureError, PcapWriter } = await import(
    "../ffi/capture.ts"
  );
  let source;
  try {
    source = src.file !== undefined
      ? CaptureSource.openFile(src.file)
      : CaptureSource.openLive(src.iface!);
  } catch (e) {
    if (e instanceof CaptureError) {
      throw new UserError(e.message.replace(/ \(os error \d+\)/, ""), EXIT.SETUP);
    }
    throw e;
  }
  // the library's thread reads the first batch of a file while the observer is set up
  if (!source.live) source.readAhead(BATCH_BYTES);

  let outFile: Deno.FsFile | undefined;
  let writer: PcapWriterType | undefined;
  let pump: CapturePump | undefined;
  let signalled = false;
  const onSignal = () => {
    signalled = true;
    pump?.stop();
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
    // a closed output pipe ends the run at once, without draining
    const flushOut = () => {
      out.flush();
      if (sink.broken) pump!.stop(false);
    };
    pump = new CapturePump(source, observer, {
      beforePush: writer ? (b) => writer!.write(b) : undefined,
      // live: what is complete goes out at once; nothing came for a while: likewise
      afterPush: source.live ? flushOut : undefined,
      onEmpty: flushOut,
      warn: (m) => opts.quiet || console.error(`pathspider: warning: ${m}`),
    });
    if (signalled) pump.stop();
    // a capture error ends the input; the flows seen so far are still written, then it is reported
    let failure: Error | undefined;
    await pump.run().catch((e) => {
      if (!(e instanceof CaptureError)) throw e;
      failure = e;
    });
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

/**
 * The settings lock: a run that changes settings (sysctls, nftables) holds it for the whole run,
 * one per network namespace, so that two runs never journal each other's values or restore a
 * setting under each other. It is `flock(2)` on `lock-net-<inode of the namespace>` in the
 * journal directory: the kernel releases it when the holder dies in any way, so nothing goes
 * stale after `kill -9`.
 *
 * @module
 */
import { EXIT, UserError } from "../errors.ts";
import { checkJournalDir, journalDir } from "./journal_dir.ts";
import { recoverStaleJournals } from "./journal.ts";

/** How often a waiting run tries the lock again (ms). */
const RETRY_MS = 200;

/** Options of {@link lockSettings}. */
export interface LockOptions {
  /** Wait for the holder to finish (true) or refuse at once (false, `--no-wait`). */
  wait: boolean;
  /** Prints one line on stderr. */
  say: (line: string) => void;
  /** `net:[inode]` of the network namespace (default: this process's). */
  netns: string;
  /** Polled while waiting: a reason (e.g. a signal) to give up, or undefined to go on. */
  cancelled?: () => { why: string; code: number } | undefined;
}

/** A held settings lock; disposing releases it. */
export interface SettingsLock extends Disposable {
  /** The lock file. */
  readonly path: string;
}

/** The lock file of network namespace `netns` in journal directory `dir`. */
export function lockPath(dir: string, netns: string): string {
  const ino = /^net:\[(\d+)\]$/.exec(netns)?.[1] ?? "unknown";
  return `${dir}/lock-net-${ino}`;
}

/**
 * Takes the settings lock of `netns` (see the module). While another run holds it: with `wait`,
 * says so once and tries again every 200 ms; without, throws a one-line UserError (exit SETUP).
 */
export async function lockSettings(dir: string, o: LockOptions): Promise<SettingsLock> {
  const file = openLockFile(dir, o.netns);
  const path = lockPath(dir, o.netns);
  try {
    if (!file.tryLockSync(true)) {
      const holder = holderOf(path);
      const who = `another pathspider run${holder ? ` (pid ${holder})` : ""} is changing ` +
        `settings in this network namespace`;
      if (!o.wait) throw new UserError(`${who}; not waiting (--no-wait)`, EXIT.SETUP);
      o.say(`pathspider: ${who}; waiting for it to finish`);
      while (!file.tryLockSync(true)) {
        const stop = o.cancelled?.();
        if (stop !== undefined) {
          throw new UserError(`${stop.why} while waiting for the settings lock`, stop.code);
        }
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
    // who holds it, for the message of the next run that has to wait
    file.truncateSync(0);
    file.writeSync(new TextEncoder().encode(`${Deno.pid}\n`));
  } catch (e) {
    file.close();
    throw e;
  }
  return { path, [Symbol.dispose]: () => file.close() };
}

/**
 * Opens (creating 0600) the lock file in the checked journal directory. O_CREAT without O_EXCL
 * would follow a symlink, but no one else may write in that directory; the lstat/fstat pair
 * still refuses anything that is not a plain file.
 */
function openLockFile(dir: string, netns: string): Deno.FsFile {
  checkJournalDir(dir);
  const path = lockPath(dir, netns);
  const refuse = (why: string) =>
    new UserError(`settings lock ${path}: ${why}; refusing to use it`, EXIT.SETUP);
  let before: Deno.FileInfo | undefined;
  try {
    before = Deno.lstatSync(path);
  } catch { /* not there yet */ }
  if (before !== undefined && !before.isFile) throw refuse("not a regular file");
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 });
  } catch (e) {
    throw refuse((e as Error).message);
  }
  const after = file.statSync();
  if (before !== undefined && (after.ino !== before.ino || after.dev !== before.dev)) {
    file.close();
    throw refuse("replaced while opened");
  }
  return file;
}

function holderOf(path: string): number | undefined {
  try {
    const n = Number(Deno.readTextFileSync(path).trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Before a run: a run that changes settings (`changes`) takes the lock for the whole run, then
 * repairs what crashed runs left (under the lock, so never under a live run's feet); a run that
 * changes nothing repairs only if the lock is free at that moment, and holds nothing. Returns
 * the lock to dispose at the end (undefined when none is held).
 */
export async function prepareSettings(
  changes: boolean,
  o: LockOptions & { dir?: string },
): Promise<SettingsLock | undefined> {
  const dir = o.dir ?? journalDir();
  if (changes) {
    const lock = await lockSettings(dir, o);
    try {
      recoverStaleJournals(o.say, dir);
    } catch (e) {
      lock[Symbol.dispose]();
      throw e;
    }
    return lock;
  }
  // nothing of this run needs the directory: a problem with it is a warning only
  try {
    using _ = await lockSettings(dir, { ...o, wait: false });
    recoverStaleJournals(o.say, dir);
  } catch (e) {
    if (!(e instanceof UserError) || !/refusing/.test(e.message)) return undefined;
    o.say(`pathspider: warning: ${e.message}`);
  }
  return undefined;
}

/**
 * Where the settings journal and the settings lock live, and the check that keeps them safe to
 * read back as root: the directory belongs to the running user (root: to root), is not a symlink, and
 * no one else may write in it (so no one else can plant, replace or link a file in it).
 *
 * @module
 */
import { EXIT, UserError } from "../errors.ts";

/**
 * The journal directory in effect: `$PATHSPIDER_JOURNAL_DIR`; else for root `/run/pathspider`;
 * else `$XDG_RUNTIME_DIR/pathspider` (systemd's per-user runtime directory, the user's own, 0700);
 * else `/tmp/pathspider-<uid>` (created 0700; refused if someone else made it first).
 */
export function journalDir(): string {
  const env = Deno.env.get("PATHSPIDER_JOURNAL_DIR");
  if (env !== undefined && env !== "") return env;
  const uid = Deno.uid();
  if (uid === 0 || uid === null) return "/run/pathspider";
  const xdg = Deno.env.get("XDG_RUNTIME_DIR");
  if (xdg !== undefined && xdg.startsWith("/")) return `${xdg}/pathspider`;
  return `/tmp/pathspider-${uid}`;
}

/**
 * Creates `dir` (0700) if it is missing, and checks it: a directory, not a symlink, owned by the
 * running user (root's by root), writable by no one else. Throws a one-line UserError (exit SETUP) if not.
 */
export function checkJournalDir(dir: string): void {
  let st: Deno.FileInfo;
  try {
    st = Deno.lstatSync(dir);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw refuse(dir, (e as Error).message);
    try {
      // parents as the user's umask makes them; the journal directory itself private
      Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
      st = Deno.lstatSync(dir);
    } catch (e) {
      throw refuse(dir, `cannot create it: ${(e as Error).message}`);
    }
  }
  const uid = Deno.uid() ?? 0;
  if (st.isSymlink) throw refuse(dir, "it is a symbolic link");
  if (!st.isDirectory) throw refuse(dir, "it is not a directory");
  // root reads it back: another owner could plant files; a user cannot write in root's
  if (st.uid !== uid) throw refuse(dir, `it belongs to uid ${st.uid}, not to this user (${uid})`);
  if (((st.mode ?? 0) & 0o022) !== 0) {
    throw refuse(dir, `others may write in it (mode ${((st.mode ?? 0) & 0o7777).toString(8)})`);
  }
}

function refuse(dir: string, why: string): UserError {
  return new UserError(
    `settings journal directory ${dir}: ${why}; refusing to use it ` +
      `(choose another with PATHSPIDER_JOURNAL_DIR)`,
    EXIT.SETUP,
  );
}

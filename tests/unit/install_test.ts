/**
 * `make install` into a temporary PREFIX: the installed launcher runs on its own (no source
 * tree, no Deno cache of the user's), the man page renders, the bash completion completes; and
 * the committed man page and completions are those the command definitions generate.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../..", import.meta.url).pathname;

function run(cmd: string[], env?: Record<string, string>, clearEnv = false) {
  const out = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    cwd: ROOT,
    env,
    clearEnv,
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("the committed man page and completions are generated from the commands", () => {
  const r = run([`${ROOT}.tools/bin/deno`, "run", "-A", "scripts/gen-docs.ts", "--check"]);
  assert.equal(r.code, 0, r.stderr);
});

Deno.test("make install PREFIX=...: launcher, library, man page and completions work", () => {
  const prefix = Deno.makeTempDirSync({ prefix: "psinstall-" });
  try {
    const make = run(["make", "-s", "install", `PREFIX=${prefix}`]);
    assert.equal(make.code, 0, make.stderr);
    const home = `${prefix}/home`;
    Deno.mkdirSync(home);
    // a bare environment: nothing of this tree or of the user's Deno cache is reachable
    const env = { PATH: "/usr/bin:/bin", HOME: home };
    for (const name of ["pathspider", "pspdr"]) {
      const v = run([`${prefix}/bin/${name}`, "--version"], env, true);
      assert.equal(v.code, 0, v.stderr);
      assert.match(v.stdout, /^pathspider \d+\.\d+\.\d+\n$/);
    }
    // measure loads commander from the installed npm cache, the plugins and the library
    const help = run([`${prefix}/bin/pathspider`, "measure", "ecn", "--help"], env, true);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /tcp_ecn/);
    assert.deepEqual([...Deno.readDirSync(home)], []);
    const lib = Deno.statSync(
      `${prefix}/lib/pathspider/capture-ffi/target/release/libpathspider_capture.so`,
    );
    assert.ok(lib.isFile);
    // the man page renders
    const man = run(["man", "-l", `${prefix}/share/man/man1/pathspider.1`], {
      ...env,
      MANWIDTH: "100",
    }, true);
    assert.equal(man.code, 0, man.stderr);
    assert.match(man.stdout, /EXIT STATUS/);
    assert.match(man.stdout, /--max-unobserved/);
    // the bash completion, as bash-completion loads it
    const complete = (words: string[]) => {
      const script = `source ${prefix}/share/bash-completion/completions/pathspider
COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}
_pathspider; echo "\${COMPREPLY[*]}"`;
      const r = run(["bash", "--norc", "-c", script], env, true);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    assert.equal(complete(["pathspider", "mea"]), "measure");
    assert.equal(complete(["pathspider", "measure", "-i", "eth0", "ds"]), "dscp");
    assert.equal(complete(["pspdr", "measure", "dscp", "--co"]), "--connect --codepoint");
    assert.equal(
      complete(["pathspider", "measure", "ecn", "--connect", ""]),
      "http https tcp dnstcp",
    );
    assert.equal(complete(["pathspider", "measure", "--shar"]), "--shards --shard");
    // zsh and fish: the files parse; fish completes with them
    const zsh = run(["zsh", "-n", `${prefix}/share/zsh/site-functions/_pathspider`], env, true);
    assert.equal(zsh.code, 0, `zsh (scripts/install-deps.sh installs it): ${zsh.stderr}`);
    const fish = run(
      [
        "fish",
        "-c",
        `source ${prefix}/share/fish/vendor_completions.d/pathspider.fish; ` +
        "complete -C 'pathspider measure dscp --conn'",
      ],
      env,
      true,
    );
    assert.equal(fish.code, 0, `fish (scripts/install-deps.sh installs it): ${fish.stderr}`);
    assert.match(fish.stdout, /^--connect\tType of connection to perform$/m);
  } finally {
    Deno.removeSync(prefix, { recursive: true });
  }
});

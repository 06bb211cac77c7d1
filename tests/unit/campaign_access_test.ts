/**
 * How a campaign command reaches its NATS server: server words, credentials from files or the
 * environment, and the refusals (secrets inline, two kinds of credentials at once).
 */
import assert from "node:assert/strict";
import { accessFrom } from "../../src/campaign/access.ts";
import { badName, campaignNames } from "../../src/campaign/names.ts";
import { UserError } from "../../src/errors.ts";

const noEnv = () => undefined;

/** What the access's authenticator sends the server. */
function authOf(a: ReturnType<typeof accessFrom>): unknown {
  const f = a.options.authenticator;
  return typeof f === "function" ? f(undefined) : undefined;
}

Deno.test("server words become host:port; tls:// asks for TLS", () => {
  const a = accessFrom({ server: "nats://10.0.0.1,tls://nats.example:4443,[fd00::1]:5222" }, noEnv);
  assert.deepEqual(a.servers, ["10.0.0.1:4222", "nats.example:4443", "[fd00::1]:5222"]);
  assert.equal(a.tlsRequired, true);
  assert.deepEqual(a.options.tls, {});
  const plain = accessFrom({ server: "127.0.0.1:4222" }, noEnv);
  assert.equal(plain.tlsRequired, false);
  assert.equal(plain.options.tls, undefined);
  assert.equal(plain.options.authenticator, undefined);
});

Deno.test("a server URL carrying a password or token is refused with a usage error", () => {
  for (const s of ["nats://alice:secret@127.0.0.1", "nats://s3cr3t-token@127.0.0.1:4222"]) {
    assert.throws(() => accessFrom({ server: s }, noEnv), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.equal(e.code, 2);
      assert.doesNotMatch(e.message, /secret|s3cr3t/, "the secret is not repeated");
      return true;
    });
  }
  assert.throws(() => accessFrom({ server: "http://127.0.0.1" }, noEnv), /nats:\/\/HOST/);
  assert.throws(() => accessFrom({}, noEnv), /no NATS server/);
});

Deno.test("credentials come from files or the environment, one kind at a time", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/pw`, "hunter2\n");
    const env = (vars: Record<string, string>) => (n: string) => vars[n];
    const a = accessFrom({ server: "127.0.0.1", user: "u", passwordFile: `${dir}/pw` }, noEnv);
    assert.deepEqual(authOf(a), { user: "u", pass: "hunter2" });
    const b = accessFrom(
      { server: "127.0.0.1" },
      env({ NATS_USER: "v", NATS_PASSWORD: "pw2" }),
    );
    assert.deepEqual(authOf(b), { user: "v", pass: "pw2" });
    const t = accessFrom({ server: "127.0.0.1" }, env({ NATS_TOKEN: "tok" }));
    assert.deepEqual(authOf(t), { auth_token: "tok" });
    assert.throws(
      () => accessFrom({ server: "127.0.0.1", user: "u" }, env({ NATS_TOKEN: "tok" })),
      /more than one kind of NATS credentials given \(user, token/,
    );
    assert.throws(
      () => accessFrom({ server: "127.0.0.1", tokenFile: `${dir}/missing` }, noEnv),
      /cannot read the token file/,
    );
    assert.throws(
      () => accessFrom({ server: "127.0.0.1", passwordFile: `${dir}/pw` }, noEnv),
      /--password-file needs --user/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("campaign and vantage names are subject-safe; streams and subjects follow them", () => {
  assert.equal(badName("ecn-2026_12"), undefined);
  for (const bad of ["", "a.b", "a b", "a*", "a>", "x".repeat(49)]) {
    assert.ok(badName(bad) !== undefined, bad);
  }
  const n = campaignNames("c1");
  assert.equal(n.jobsStream, "PSC_c1_JOBS");
  assert.equal(n.resultsStream, "PSC_c1_RESULTS");
  assert.equal(n.jobSubject("ab"), "psc.c1.jobs.ab");
  assert.equal(n.resultSubject("east", "ab"), "psc.c1.results.east.ab");
});

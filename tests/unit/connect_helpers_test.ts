import assert from "node:assert/strict";
import { Reactor } from "../../src/ffi/sockets.ts";
import { CONNECT_HELPERS } from "../../src/connect/mod.ts";
import { jobQuery } from "../../src/connect/dns_udp.ts";
import { QTYPE_A, QTYPE_AAAA } from "../../src/wire/dns.ts";

Deno.test("DNS helpers ask for AAAA for an IPv6 target and A for an IPv4 one", () => {
  const qtype = (dip: string) => {
    const q = jobQuery({ job: { dip, domain: "www.example.test" } })!;
    // the question ends the query: QTYPE, then QCLASS IN
    const v = new DataView(q.msg.buffer, q.msg.byteOffset, q.msg.byteLength);
    assert.equal(v.getUint16(q.msg.length - 2), 1);
    assert.equal(v.getUint16(0), q.id);
    return v.getUint16(q.msg.length - 4);
  };
  assert.equal(qtype("198.18.0.2"), QTYPE_A);
  assert.equal(qtype("fd00:5::1"), QTYPE_AAAA);
  assert.equal(qtype("::ffff:198.18.0.2"), QTYPE_AAAA);
});

// Bad jobs never reach the network: these calls open no socket.

Deno.test("DNS helpers skip a job without a domain, as no query can be built", async () => {
  const reactor = Reactor.open();
  try {
    for (const mode of ["dnsudp", "dnstcp"] as const) {
      for (const job of [{ dip: "198.18.0.2" }, { dip: "198.18.0.2", domain: "a..b" }]) {
        const r = await CONNECT_HELPERS[mode].run({ job, opts: {}, timeoutMs: 100, reactor });
        assert.deepEqual(r, { sip: "", sp: 0, spdr_state: 3 }, `${mode} ${JSON.stringify(job)}`);
      }
    }
    assert.equal(reactor.openSockets(), 0);
  } finally {
    reactor.close();
  }
});

Deno.test("helpers report FAILED for a job whose address or port is not usable", async () => {
  const reactor = Reactor.open();
  try {
    const jobs = [
      { dip: "www.example.test", domain: "www.example.test" },
      { dip: "198.18.0.2", dp: 70000, domain: "www.example.test" },
      { dip: "198.18.0.2", dp: 0, domain: "www.example.test" },
    ];
    for (const mode of ["tcp", "http", "https", "dnsudp", "dnstcp"] as const) {
      for (const job of jobs) {
        const r = await CONNECT_HELPERS[mode].run({ job, opts: {}, timeoutMs: 100, reactor });
        assert.equal(r.spdr_state, 1, `${mode} ${JSON.stringify(job)}`);
        assert.equal(r.sp, 0);
      }
    }
    assert.equal(reactor.openSockets(), 0);
  } finally {
    reactor.close();
  }
});

Deno.test("the https helper refuses marking options it cannot apply", () => {
  const reactor = Reactor.open();
  try {
    assert.throws(
      () =>
        CONNECT_HELPERS.https.run({
          job: { dip: "198.18.0.2" },
          opts: { tos: 184 },
          timeoutMs: 100,
          reactor,
        }),
      /cannot mark/,
    );
    assert.equal(CONNECT_HELPERS.https.marks, false);
  } finally {
    reactor.close();
  }
});

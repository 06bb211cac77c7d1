import assert from "node:assert/strict";
import {
  buildGetRequest,
  CHUNKED,
  expectedBodyLength,
  headEnd,
  hostHeader,
  parseHead,
  USER_AGENT,
} from "../../src/wire/http1.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("hostHeader() uses the domain, else the IP with IPv6 in brackets", () => {
  assert.equal(hostHeader("198.18.0.2", 80, "www.example.test", false), "www.example.test");
  assert.equal(hostHeader("198.18.0.2", 80, undefined, false), "198.18.0.2");
  assert.equal(hostHeader("fd00::2", 80, undefined, false), "[fd00::2]");
  assert.equal(hostHeader("fd00::2", 443, "", true), "[fd00::2]");
});

Deno.test("hostHeader() adds the port only when it is not the scheme's default", () => {
  assert.equal(hostHeader("198.18.0.2", 8080, "a.test", false), "a.test:8080");
  assert.equal(hostHeader("198.18.0.2", 80, "a.test", true), "a.test:80");
  assert.equal(hostHeader("fd00::2", 443, undefined, false), "[fd00::2]:443");
});

Deno.test("buildGetRequest() sends GET / with Host, the original's user agent and close", () => {
  const text = new TextDecoder().decode(buildGetRequest("www.example.test"));
  assert.equal(
    text,
    "GET / HTTP/1.1\r\nHost: www.example.test\r\nUser-Agent: " + USER_AGENT +
      "\r\nAccept: */*\r\nConnection: close\r\n\r\n",
  );
});

Deno.test("buildGetRequest() refuses a host that would inject header lines", () => {
  assert.throws(() => buildGetRequest("a.test\r\nX-Evil: 1"), /invalid host/);
  assert.throws(() => buildGetRequest("a b"), /invalid host/);
});

Deno.test("headEnd() finds the empty line with CRLF or bare LF, or -1 while incomplete", () => {
  assert.equal(headEnd(enc("HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody")), 25);
  assert.equal(headEnd(enc("HTTP/1.0 200 OK\nA: b\n\nbody")), 22);
  assert.equal(headEnd(enc("HTTP/1.1 200 OK\r\nA: b\r\n")), -1);
  assert.equal(headEnd(new Uint8Array(0)), -1);
});

Deno.test("parseHead() reads the status and the head without the body", () => {
  const h = parseHead(enc("HTTP/1.1 301 Moved Permanently\r\nLocation: /x\r\n\r\n<html>"));
  assert.deepEqual(h, {
    version: "1.1",
    status: 301,
    text: "HTTP/1.1 301 Moved Permanently\r\nLocation: /x",
  });
});

Deno.test("parseHead() accepts a complete status line of a head cut short", () => {
  const h = parseHead(enc("HTTP/1.0 204\r\nServer: x"));
  assert.equal(h?.status, 204);
  assert.equal(h?.version, "1.0");
});

Deno.test("parseHead() rejects malformed or incomplete status lines", () => {
  for (
    const bad of [
      "",
      "HTTP/1.1 200 OK", // no line end yet
      "SSH-2.0-OpenSSH_9.2\r\n",
      "HTTP/1.1 20 OK\r\n\r\n",
      "HTTP/1.1 2000 OK\r\n\r\n",
      "HTTP/11 200 OK\r\n\r\n",
      "http/1.1 200 OK\r\n\r\n",
      "\u0000\u0001\u0002\n",
    ]
  ) {
    assert.equal(parseHead(enc(bad)), null, JSON.stringify(bad));
  }
});

Deno.test("expectedBodyLength() follows Content-Length, chunking and bodiless statuses", () => {
  const len = (s: string) => expectedBodyLength(enc(s));
  assert.equal(len("HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\nabc"), 19);
  assert.equal(len("HTTP/1.1 200 OK\r\ncontent-length:7 \r\nX: y\r\n\r\n"), 7);
  assert.equal(len("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), CHUNKED);
  assert.equal(len("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"), null, "ends at close");
  assert.equal(len("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"), 0);
  assert.equal(len("HTTP/1.1 304 Not Modified\r\n\r\n"), 0);
  assert.equal(len("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n"), 0);
  assert.equal(len("HTTP/1.1 200 OK\r\nContent-Length: 19\r\n"), null, "head incomplete");
});

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { h2Plugin } from "../../src/plugins/h2.ts";
import type { FlowResult, PluginArgs } from "../../src/plugins/plugin.ts";

const args: PluginArgs = { connect: "http", timeout: 5 };

function flow(config: number, spdr_state: number, extra: Record<string, unknown> = {}): FlowResult {
  return { observed: true, ...extra, config, spdr_state };
}

Deno.test("h2 combineFlows reports works and success when the server agreed to HTTP/2", () => {
  const c = h2Plugin.combineFlows([
    flow(0, 0, { http_version: "1.1" }),
    flow(1, 0, { http_version: "2", http_response_code: 101 }),
  ], args);
  assertEquals(c, ["h2.connectivity.works", "h2.upgrade.success"]);
});

Deno.test("h2 combineFlows reports failed when the server stayed on HTTP/1.1", () => {
  const c = h2Plugin.combineFlows([
    flow(0, 0, { http_version: "1.1" }),
    flow(1, 0, { http_version: "1.1", http_response_code: 200 }),
  ], args);
  assertEquals(c, ["h2.connectivity.works", "h2.upgrade.failed"]);
});

Deno.test("h2 combineFlows reports broken, transient and offline without an upgrade condition", () => {
  assertEquals(h2Plugin.combineFlows([flow(0, 0), flow(1, 2)], args), ["h2.connectivity.broken"]);
  assertEquals(h2Plugin.combineFlows([flow(0, 1), flow(1, 0, { http_version: "2" })], args), [
    "h2.connectivity.transient",
  ]);
  assertEquals(h2Plugin.combineFlows([flow(0, 1), flow(1, 2)], args), [
    "h2.connectivity.offline",
  ]);
});

Deno.test("h2's baseline asks for HTTP/1.1 explicitly and its experiment for HTTP/2", () => {
  assertEquals(h2Plugin.model(args), {
    kind: "desync",
    connections: [{ http2: false }, { http2: true }],
  });
});

import {
  acceptsH2c,
  buildH2cUpgradeRequest,
  clientPreface,
  serverPreface,
} from "../../src/wire/http2.ts";

Deno.test("the h2c upgrade request names Upgrade and HTTP2-Settings in Connection (RFC 7540 §3.2)", () => {
  const text = new TextDecoder().decode(buildH2cUpgradeRequest("www.example.test"));
  const lines = text.split("\r\n");
  assertEquals(lines[0], "GET / HTTP/1.1");
  assertEquals(lines.includes("Host: www.example.test"), true);
  assertEquals(lines.includes("Connection: Upgrade, HTTP2-Settings"), true);
  assertEquals(lines.includes("Upgrade: h2c"), true);
  const settings = lines.find((l) => l.startsWith("HTTP2-Settings: "))!.slice(16);
  // token68 in base64url without padding: 12 bytes of settings
  assertEquals(/^[A-Za-z0-9_-]+$/.test(settings), true);
  assertEquals(atob(settings.replaceAll("-", "+").replaceAll("_", "/")).length, 12);
  assertEquals(text.endsWith("\r\n\r\n"), true);
});

Deno.test("acceptsH2c wants both 101 and Upgrade: h2c", () => {
  const head = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c";
  assertEquals(acceptsH2c(101, head), true);
  assertEquals(acceptsH2c(101, head.replace("h2c", "websocket")), false);
  assertEquals(acceptsH2c(200, "HTTP/1.1 200 OK\r\nUpgrade: h2c"), false);
});

Deno.test("the client preface is the magic string then a SETTINGS frame on stream 0", () => {
  const p = clientPreface();
  assertEquals(new TextDecoder().decode(p.subarray(0, 24)), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  assertEquals([...p.subarray(24, 33)], [0, 0, 12, 4, 0, 0, 0, 0, 0]);
  assertEquals(p.length, 24 + 9 + 12);
});

Deno.test("serverPreface tells a server SETTINGS frame from anything else", () => {
  assertEquals(serverPreface(Uint8Array.from([0, 0, 6, 4, 0, 0, 0, 0])), null);
  assertEquals(serverPreface(Uint8Array.from([0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3])), "settings");
  assertEquals(serverPreface(Uint8Array.from([0, 0, 0, 4, 1, 0, 0, 0, 0])), "other"); // an ACK
  assertEquals(serverPreface(new TextEncoder().encode("HTTP/1.1 400 Bad")), "other");
});

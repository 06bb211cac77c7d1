/**
 * Real servers for the testbed's server namespace, each run in the foreground as a child process
 * with its configuration in the testbed's temporary directory: nginx (HTTP on 80, HTTPS on 443
 * with a self-signed certificate), NSD (authoritative DNS for `example.test` on UDP and TCP 53)
 * and h2o (HTTP/1.1 with the h2c upgrade on 8080, when installed).
 *
 * @module
 */
import { Background, run, sh } from "./netns.ts";

/** The DNS zone the testbed serves. */
export const ZONE = "example.test";

/** Makes a self-signed certificate for `*.example.test`; returns [certificate, key] paths. */
export async function makeCertificate(dir: string): Promise<[string, string]> {
  const cert = `${dir}/cert.pem`, key = `${dir}/key.pem`;
  await sh([
    "openssl",
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "2",
    "-subj",
    `/CN=${ZONE}`,
    "-addext",
    `subjectAltName=DNS:${ZONE},DNS:*.${ZONE}`,
    "-keyout",
    key,
    "-out",
    cert,
  ]);
  return [cert, key];
}

/** Writes nginx's configuration and web root; returns the configuration path. */
export async function nginxConfig(dir: string, cert: string, key: string): Promise<string> {
  const www = `${dir}/www`;
  await Deno.mkdir(www, { recursive: true });
  await Deno.writeTextFile(`${www}/index.html`, "pathspider testbed\n");
  // a larger object, so that a fetch carries several full-size data segments
  await Deno.writeFile(`${www}/big`, new Uint8Array(200_000).fill(0x61));
  const conf = `${dir}/nginx.conf`;
  const tmp = (n: string) => `${dir}/nginx-${n}`;
  await Deno.writeTextFile(
    conf,
    `daemon off;
user root;
master_process on;
worker_processes 1;
worker_rlimit_nofile 16384;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
# the load tests and benches keep up to 1,000 connections open at once (-w 500, two per job)
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${tmp("body")};
  proxy_temp_path ${tmp("proxy")};
  fastcgi_temp_path ${tmp("fastcgi")};
  uwsgi_temp_path ${tmp("uwsgi")};
  scgi_temp_path ${tmp("scgi")};
  default_type text/plain;
  # one nginx answers for up to 8,000 target addresses: with the default backlog of 511, a
  # -w 2000 run's opening burst of 4,000 SYNs overflowed the accept queue (2,604 ListenDrops in
  # one bench run), turning into 1-second SYN retransmissions that no Internet path of 4,000
  # separate servers would show
  server {
    listen 80 default_server backlog=4096;
    listen [::]:80 default_server backlog=4096;
    listen 443 ssl http2 default_server backlog=4096;
    listen [::]:443 ssl http2 default_server backlog=4096;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    root ${www};
  }
}
`,
  );
  return conf;
}

/** Starts nginx in `ns` and waits until it listens on 80 and 443. */
export async function startNginx(ns: string, dir: string, conf: string): Promise<Background> {
  const p = new Background(["nginx", "-c", conf, "-p", dir], { ns });
  await waitListening(ns, ["tcp:80", "tcp:443"], p);
  return p;
}

/** Writes the zone file: `ns`, `www` and one name per target with its A and AAAA records. */
export async function zoneFile(
  dir: string,
  names: { name: string; v4?: string; v6?: string }[],
  nsAddr: { v4: string; v6: string },
): Promise<string> {
  const lines = [
    `$ORIGIN ${ZONE}.`,
    `$TTL 300`,
    `@ IN SOA ns.${ZONE}. hostmaster.${ZONE}. 1 3600 600 86400 300`,
    `@ IN NS ns.${ZONE}.`,
    `ns IN A ${nsAddr.v4}`,
    `ns IN AAAA ${nsAddr.v6}`,
  ];
  for (const n of names) {
    if (n.v4) lines.push(`${n.name} IN A ${n.v4}`);
    if (n.v6) lines.push(`${n.name} IN AAAA ${n.v6}`);
  }
  const first = names.find((n) => n.v4 || n.v6);
  if (first?.v4) lines.push(`www IN A ${first.v4}`);
  if (first?.v6) lines.push(`www IN AAAA ${first.v6}`);
  const path = `${dir}/${ZONE}.zone`;
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  return path;
}

/**
 * Writes NSD's configuration (everything under `dir`, runs as root, no control socket), listening
 * on `addrs`.
 */
export async function nsdConfig(dir: string, zonePath: string, addrs: string[]): Promise<string> {
  const conf = `${dir}/nsd.conf`;
  // one socket per address: bound to the wildcard, NSD would answer UDP from the interface's
  // own address instead of the target's, and resolvers drop such answers
  await Deno.writeTextFile(
    conf,
    `server:
${addrs.map((a) => `  ip-address: ${a}\n`).join("")}  port: 53
  do-ip4: yes
  do-ip6: yes
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "${dir}"
  database: ""
  zonelistfile: "${dir}/nsd-zone.list"
  xfrdfile: "${dir}/nsd-xfrd.state"
  xfrdir: "${dir}"
  pidfile: "${dir}/nsd.pid"
  logfile: "${dir}/nsd.log"
  verbosity: 0
remote-control:
  control-enable: no
zone:
  name: "${ZONE}"
  zonefile: "${zonePath}"
`,
  );
  return conf;
}

/** Starts NSD in the foreground in `ns` and waits until it listens on UDP and TCP 53. */
export async function startNsd(ns: string, conf: string): Promise<Background> {
  const p = new Background(["nsd", "-d", "-c", conf], { ns });
  await waitListening(ns, ["udp:53", "tcp:53"], p);
  return p;
}

/** Whether h2o is installed. */
export async function haveH2o(): Promise<boolean> {
  return (await run(["sh", "-c", "command -v h2o"])).code === 0;
}

/** Writes h2o's configuration: HTTP/1.1 with h2c upgrade on 8080. */
export async function h2oConfig(dir: string): Promise<string> {
  const conf = `${dir}/h2o.conf`;
  await Deno.writeTextFile(
    conf,
    `user: root
pid-file: ${dir}/h2o.pid
error-log: ${dir}/h2o-error.log
access-log: /dev/null
listen: 8080
http2-reprioritize-blocking-assets: OFF
hosts:
  default:
    paths:
      /:
        file.dir: ${dir}/www
`,
  );
  return conf;
}

/** Starts h2o in `ns` and waits until it listens on 8080. */
export async function startH2o(ns: string, conf: string): Promise<Background> {
  const p = new Background(["h2o", "-c", conf], { ns });
  await waitListening(ns, ["tcp:8080"], p);
  return p;
}

/** Waits until every `proto:port` has a listening socket in `ns`. */
export async function waitListening(
  ns: string,
  want: string[],
  proc: Background,
  timeoutMs = 10_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const out = (await run(["ss", "-lntuH"], { ns })).stdout;
    const have = new Set(
      out.split("\n").filter(Boolean).map((l) => {
        const f = l.trim().split(/\s+/);
        return `${f[0]}:${f[4]!.slice(f[4]!.lastIndexOf(":") + 1)}`;
      }),
    );
    if (want.every((w) => have.has(w))) return;
    if (Date.now() > end) {
      throw new Error(
        `${proc.argv.join(" ")}: not listening on ${want.join(", ")}: ${proc.stderr}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

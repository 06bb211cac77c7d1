/**
 * A second nginx in a testbed's server namespace, for the plugins that need servers differing
 * from the standard ones: a listener with TCP fast open (`listen ... fastopen=N`, RFC 7413) and
 * a TLS listener without HTTP/2 (its ALPN offers only http/1.1). Started with `tb.spawn`, so
 * `tb.destroy()` stops it.
 *
 * @module
 */
import { waitListening } from "./servers.ts";
import type { Testbed } from "./testbed.ts";

/** Ports of the extra listeners. */
export const EXTRA_PORTS = {
  /** HTTP with fast open (the standard nginx on 80 has none). */
  fastOpen: 81,
  /** HTTPS without HTTP/2 (the standard nginx on 443 offers h2). */
  tlsNoH2: 8443,
} as const;

/**
 * Starts the extra nginx, reusing the standard one's certificate and web root (the testbed must
 * have been created with the "http" server). Fast open on the server side also needs bit 1 of
 * net.ipv4.tcp_fastopen in the server namespace: set here to 3 (client and server).
 */
export async function startExtraNginx(tb: Testbed): Promise<void> {
  await tb.exec(["sysctl", "-qw", "net.ipv4.tcp_fastopen=3"], tb.serverNs);
  const d = `${tb.dir}/extra`;
  await Deno.mkdir(d, { recursive: true });
  const conf = `${d}/nginx.conf`;
  await Deno.writeTextFile(
    conf,
    `daemon off;
user root;
master_process on;
worker_processes 1;
pid ${d}/nginx.pid;
error_log ${d}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${d}/body;
  proxy_temp_path ${d}/proxy;
  fastcgi_temp_path ${d}/fastcgi;
  uwsgi_temp_path ${d}/uwsgi;
  scgi_temp_path ${d}/scgi;
  default_type text/plain;
  server {
    listen ${EXTRA_PORTS.fastOpen} fastopen=64;
    listen [::]:${EXTRA_PORTS.fastOpen} fastopen=64;
    listen ${EXTRA_PORTS.tlsNoH2} ssl;
    listen [::]:${EXTRA_PORTS.tlsNoH2} ssl;
    ssl_certificate ${tb.dir}/cert.pem;
    ssl_certificate_key ${tb.dir}/key.pem;
    root ${tb.dir}/www;
  }
}
`,
  );
  const p = tb.spawn(["nginx", "-c", conf, "-p", d], tb.serverNs);
  await waitListening(
    tb.serverNs,
    [`tcp:${EXTRA_PORTS.fastOpen}`, `tcp:${EXTRA_PORTS.tlsNoH2}`],
    p,
  );
}

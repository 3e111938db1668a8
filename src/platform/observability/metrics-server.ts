import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * `GET /metrics` for a process without an HTTP API (the worker): our registry, followed by the
 * Temporal SDK's own metrics read from its loopback Prometheus exporter (`temporalUrl`), so one
 * scrape gets both. An SDK exporter that does not answer costs its part of the page, never ours
 * (`threadline_temporal_metrics_up` says which).
 */
export async function startMetricsServer(opts: {
  registry: Registry;
  host: string;
  port: number;
  temporalUrl?: string;
}): Promise<MetricsServer> {
  const temporalPart = async (): Promise<string> => {
    if (!opts.temporalUrl) return '';
    try {
      const res = await fetch(opts.temporalUrl, { signal: AbortSignal.timeout(2_000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return `# HELP threadline_temporal_metrics_up Whether the Temporal SDK's metrics were read for this page\n# TYPE threadline_temporal_metrics_up gauge\nthreadline_temporal_metrics_up 1\n${await res.text()}`;
    } catch {
      return "# HELP threadline_temporal_metrics_up Whether the Temporal SDK's metrics were read for this page\n# TYPE threadline_temporal_metrics_up gauge\nthreadline_temporal_metrics_up 0\n";
    }
  };
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
      return;
    }
    void Promise.all([opts.registry.metrics(), temporalPart()]).then(
      ([ours, theirs]) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(`${ours}\n${theirs}`),
      () => res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"metrics_unavailable"}'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { html, type Html, type Part } from './html.js';

const require = createRequire(import.meta.url);
const here = (file: string) => new URL(`./assets/${file}`, import.meta.url).pathname;

/** The browser files every sandbox view loads; served from a fixed list (no path from the request reaches the disk). */
const SHARED_ASSETS: Record<string, string> = {
  '/_ui/assets/live.js': here('live.js'),
  '/_ui/assets/base.css': here('base.css'),
  // morphdom patches the page in place on live updates, so focus, typed text and scroll survive.
  '/_ui/vendor/morphdom.js': require.resolve('morphdom/dist/morphdom-esm.js'),
};

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * Only our own files, no inline script, nothing fetched from elsewhere: messages and issues are
 * rendered as escaped text, and this is the second line of defence. Inline styles are allowed
 * for attachment colour bars.
 */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * Live updates over server-sent events: each open page subscribes to a topic (a workspace, the
 * Jira site) and is told when its state changed; it then fetches itself again and patches the DOM.
 * Changes are coalesced (a click that posts, edits and reacts is one refresh).
 */
export class LiveUpdates {
  private readonly clients = new Map<string, Set<ServerResponse>>();
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly heartbeat: NodeJS.Timeout;
  private seq = 0;

  constructor(private readonly coalesceMs = 40) {
    // Comments keep proxies and the browser from treating a quiet stream as dead.
    this.heartbeat = setInterval(() => this.broadcast(': ping\n\n'), 15_000);
    this.heartbeat.unref();
  }

  /** Something under `topic` changed: every page watching it refreshes (once per burst). */
  changed(topic: string): void {
    if (this.pending.has(topic) || !this.clients.get(topic)?.size) return;
    const t = setTimeout(() => {
      this.pending.delete(topic);
      this.seq += 1;
      for (const res of this.clients.get(topic) ?? []) res.write(`event: change\ndata: ${this.seq}\n\n`);
    }, this.coalesceMs);
    this.pending.set(topic, t);
  }

  /** Serves `GET url` as an event stream for the topic the request names. */
  route(app: FastifyInstance, url: string, topicOf: (query: Record<string, string | undefined>) => string | undefined) {
    app.get<{ Querystring: Record<string, string | undefined> }>(url, (req, reply) => {
      const topic = topicOf(req.query);
      if (!topic) return reply.code(404).send({ ok: false, error: 'unknown_topic' });
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      // Reconnect quickly after an emulator restart.
      res.write('retry: 1000\n\n');
      let set = this.clients.get(topic);
      if (!set) this.clients.set(topic, (set = new Set()));
      set.add(res);
      req.raw.on('close', () => set.delete(res));
      return reply;
    });
    // Open streams would keep `app.close()` waiting forever.
    app.addHook('preClose', async () => this.close());
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
    for (const set of this.clients.values()) for (const res of set) res.end();
    this.clients.clear();
  }

  private broadcast(chunk: string): void {
    for (const set of this.clients.values()) for (const res of set) res.write(chunk);
  }
}

/** Serves the shared browser files plus a view's own (`url → absolute file`). */
export function serveAssets(app: FastifyInstance, own: Record<string, string>): void {
  for (const [url, file] of Object.entries({ ...SHARED_ASSETS, ...own })) {
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    app.get(url, async (_req, reply) =>
      reply
        .type(type)
        .header('cache-control', 'no-cache')
        .send(await readFile(file)),
    );
  }
}

/** A whole page: the shell every view shares, with its stylesheet and script. */
export function page(input: {
  title: string;
  /** The view's own stylesheet and module script (served by `serveAssets`). */
  css: string;
  script: string;
  /** Where the page listens for changes (`LiveUpdates.route`). */
  events: string;
  body: Part;
}): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${input.title}</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/_ui/assets/base.css" />
        <link rel="stylesheet" href="${input.css}" />
        <script type="module" src="${input.script}"></script>
      </head>
      <body data-events="${input.events}">
        <a class="skip-link" href="#main">Skip to content</a>
        ${input.body}
        <div id="toasts" class="toasts" role="status" aria-live="polite"></div>
      </body>
    </html>`;
}

/** Sends a rendered page with the view's security headers. */
export function sendPage(reply: FastifyReply, body: Html, status = 200): FastifyReply {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('content-security-policy', CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store')
    .send(body.value);
}

/** One cookie's value from a Cookie header (the views remember who you act as). */
export function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
}

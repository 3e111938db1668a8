import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Version3Client } from 'jira.js';
import { SANDBOX_DEFAULTS } from '../../../emulators/shared/defaults.js';
import { JiraEmulatorAdmin } from '../../../emulators/jira/admin-client.js';
import { startJiraEmulator, type JiraEmulator, type JiraEmulatorOptions } from '../../../emulators/jira/server.js';

export const EMAIL = SANDBOX_DEFAULTS.JIRA_EMAIL;
export const TOKEN = SANDBOX_DEFAULTS.JIRA_API_TOKEN;
export const SECRET = SANDBOX_DEFAULTS.JIRA_WEBHOOK_SECRET;
export const BOT = '712020:threadline-bot';

export interface Started {
  emu: JiraEmulator;
  admin: JiraEmulatorAdmin;
  client: Version3Client;
}

export async function start(opts: Partial<JiraEmulatorOptions> = {}): Promise<Started> {
  const emu = await startJiraEmulator({ port: 0, email: EMAIL, apiToken: TOKEN, ...opts });
  return {
    emu,
    admin: new JiraEmulatorAdmin(emu.url),
    client: new Version3Client({ host: emu.url, authentication: { basic: { email: EMAIL, apiToken: TOKEN } } }),
  };
}

export const adf = (text: string) => ({
  type: 'doc' as const,
  version: 1 as const,
  content: [{ type: 'paragraph' as const, content: [{ type: 'text' as const, text }] }],
});

export interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  body: Record<string, unknown>;
}

/** A local webhook receiver; `respond` decides the status per request (default 200). */
export async function receiver(respond: (r: Received, n: number) => number = () => 200) {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const r: Received = { headers: req.headers, raw, body: JSON.parse(raw) as Record<string, unknown> };
      got.push(r);
      res.statusCode = respond(r, got.length);
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/jira`,
    got,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

import { createServer } from 'node:http';

/** One webhook an emulator sent, kept byte for byte. */
export interface CapturedHook {
  source: 'jira' | 'slack';
  headers: Record<string, string>;
  body: string;
  /** Parsed body (both platforms send JSON). */
  json: Record<string, unknown>;
}

/**
 * A stand-in for our endpoints that keeps what the Jira emulator (`/jira`) and the Slack
 * emulator's Events API (`/slack`) send and answers 200, so the chaos load can deliver each
 * webhook itself: duplicated, reordered, and retried through API crashes the way the platform
 * retries. The emulators still produce every payload (shapes, identifiers, signatures' inputs).
 */
export async function startHookCapture(): Promise<{
  jiraUrl: string;
  slackUrl: string;
  got: CapturedHook[];
  close: () => Promise<void>;
}> {
  const got: CapturedHook[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const json = JSON.parse(body) as Record<string, unknown>;
      got.push({ source: req.url?.startsWith('/jira') ? 'jira' : 'slack', headers, body, json });
      res.statusCode = 200;
      res.setHeader('content-type', 'application/json');
      // Slack's url_verification expects the challenge back; event callbacks only need a 200.
      res.end(JSON.stringify(typeof json.challenge === 'string' ? { challenge: json.challenge } : { ok: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    jiraUrl: `http://127.0.0.1:${port}/jira`,
    slackUrl: `http://127.0.0.1:${port}/slack`,
    got,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { payloadToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTemporalCli } from '../../../src/platform/infra/temporal-cli.js';
import { paymentsHarness } from '../../flows/payments/e2e/helpers.js';
import { sharedBundle } from '../../helpers/bundle.js';
import { startTestStack, type TestStack } from '../../helpers/stack.js';

const run = promisify(execFile);
const UI = 'http://localhost:8233';

/** The first signal's payload in a proto-JSON history (CLI output, exported file): its encoding and data as text. */
function signalIn(protoJson: string) {
  const { events } = JSON.parse(protoJson) as {
    events: {
      workflowExecutionSignaledEventAttributes?: {
        input: { payloads: { metadata: { encoding: string }; data: string }[] };
      };
    }[];
  };
  const p = events.find((e) => e.workflowExecutionSignaledEventAttributes)!.workflowExecutionSignaledEventAttributes!
    .input.payloads[0]!;
  return {
    encoding: Buffer.from(p.metadata.encoding, 'base64').toString(),
    data: Buffer.from(p.data, 'base64').toString(),
  };
}

/**
 * The codec endpoint (Temporal's codec-server protocol) on the real API: an operator with an API
 * key decodes what the worker encrypted, from raw history, with curl-like calls and with the
 * Temporal CLI itself; CORS admits the Temporal UI's origin only.
 */
describe('codec endpoint: POST /codec/decode, /codec/encode', () => {
  let stack: TestStack;
  let auth: { authorization: string };
  let orderId: string;
  let payerName: string;
  /** The payment workflow's start input as stored: encrypted, proto JSON. */
  let encrypted: ReturnType<typeof payloadToJSON>;

  const post = (op: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${stack.urls.api}/codec/${op}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  beforeAll(async () => {
    stack = await startTestStack({ THREADLINE_CODEC_CORS_ORIGINS: UI });
    auth = { authorization: `Bearer ${stack.config.apiKeys[0]!}` };
    const h = paymentsHarness(stack);
    orderId = h.ids().orderId;
    payerName = `Codec Payer ${orderId.slice(-6)}`;
    await h.expectAccepted(await h.initiate(h.initiation(orderId, { payerName })));
    await h.thread('C0PAYMENTS', orderId, 0);
    const connection = await Connection.connect({ address: stack.urls.temporal });
    try {
      const history = await new Client({ connection }).workflow.getHandle(`payment:${orderId}`).fetchHistory();
      const signaled = history.events!.find((e) => e.workflowExecutionSignaledEventAttributes)!;
      encrypted = payloadToJSON(signaled.workflowExecutionSignaledEventAttributes!.input!.payloads![0]!);
    } finally {
      await connection.close();
    }
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('decodes a payload read raw from history; encode → decode round-trips', async () => {
    const res = await post('decode', { payloads: [encrypted] }, { 'x-namespace': 'default' });
    expect(res.status, await res.clone().text()).toBe(200);
    // An endpoint templated with {namespace} answers the same.
    const templated = await post('default/decode', { payloads: [encrypted] });
    expect(await templated.json()).toEqual(await res.clone().json());
    const { payloads } = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    expect(Buffer.from(payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(payloads[0]!.data, 'base64').toString())).toMatchObject({ orderId, payerName });

    const plain = payloadToJSON(defaultPayloadConverter.toPayload({ note: 'from an operator' }));
    const enc = (await (await post('encode', { payloads: [plain] })).json()) as { payloads: typeof payloads };
    expect(Buffer.from(enc.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('binary/encrypted');
    expect(Buffer.from(enc.payloads[0]!.metadata['encryption-key-id']!, 'base64').toString()).toBe('sandbox');
    const dec = (await (await post('decode', enc)).json()) as { payloads: typeof payloads };
    expect(dec.payloads).toEqual([plain]);
    // Unencrypted payloads pass through decode unchanged.
    expect(((await (await post('decode', { payloads: [plain] })).json()) as { payloads: unknown }).payloads).toEqual([
      plain,
    ]);
  });

  it('the Temporal CLI shows decoded history through it (--codec-endpoint, --codec-auth)', async () => {
    const cli = await ensureTemporalCli(() => undefined);
    const args = ['workflow', 'show', '-w', `payment:${orderId}`, '--address', stack.urls.temporal, '-o', 'json'];
    const endpoint = ['--codec-endpoint', `${stack.urls.api}/codec`];
    const decoded = signalIn((await run(cli, [...args, ...endpoint, '--codec-auth', auth.authorization])).stdout);
    expect(decoded.encoding).toBe('json/plain');
    expect(JSON.parse(decoded.data)).toMatchObject({ orderId, payerName });
    const raw = signalIn((await run(cli, args)).stdout);
    expect(raw.encoding).toBe('binary/encrypted');
    expect(raw.data).not.toContain(payerName);
    // Without the API key the endpoint refuses (401), so the CLI cannot decode (it retries until its timeout).
    const refused = await run(cli, [...args, ...endpoint, '--command-timeout', '2s']).then(
      (r) => r.stdout + r.stderr,
      (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`,
    );
    expect(refused).not.toContain(Buffer.from('json/plain').toString('base64'));
    expect(refused).toMatch(/level=ERROR/);
  });

  it('the history exporter (dev/export-history.ts) writes decoded payloads that replay without keys', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'threadline-export-'));
    try {
      const out = join(dir, 'payment.json');
      await run(process.execPath, ['--import', 'tsx', 'dev/export-history.ts', `payment:${orderId}`, out], {
        env: { ...process.env, TEMPORAL_ADDRESS: stack.urls.temporal, THREADLINE_SANDBOX: 'true' },
      });
      const text = await readFile(out, 'utf8');
      // Not one payload left encrypted.
      expect(text).not.toContain(Buffer.from('binary/encrypted').toString('base64'));
      const exported = signalIn(text);
      expect(exported.encoding).toBe('json/plain');
      expect(JSON.parse(exported.data)).toMatchObject({ orderId, payerName });
      // No data converter: a committed fixture replays without any key.
      await Worker.runReplayHistory({ workflowBundle: await sharedBundle() }, JSON.parse(text), `payment:${orderId}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('requires the API key: missing, malformed or wrong → 401, nothing decoded', async () => {
    for (const headers of [
      { authorization: '' },
      { authorization: 'Basic abc' },
      { authorization: 'Bearer wrong_key_1' },
    ]) {
      const res = await post('decode', { payloads: [encrypted] }, headers);
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain(payerName);
    }
  });

  it('bad input is a 400 naming the problem; an undecodable payload names its index; oversized → 413', async () => {
    const cases: [unknown, RegExp][] = [
      ['{not json', /invalid_json/],
      [{}, /payloads: /],
      [{ payloads: [{ data: 'not base64!' }] }, /payloads\.0\.data: base64/],
      [{ payloads: [{ metadata: { encoding: 42 } }] }, /payloads\.0\.metadata\.encoding/],
    ];
    for (const [body, message] of cases) {
      const res = await post('decode', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(await res.text()).toMatch(message);
    }
    const tampered = { ...encrypted, data: Buffer.from('x'.repeat(64)).toString('base64') };
    const bad = await post('decode', { payloads: [encrypted, tampered] });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: 'decode_failed',
      message: 'payloads.1: payload encrypted with key id "sandbox" failed authentication (tampered?)',
    });
    const unknownKey: Payload = {
      metadata: { encoding: Buffer.from('binary/encrypted'), 'encryption-key-id': Buffer.from('gone') },
      data: Buffer.alloc(40),
    };
    const gone = await post('decode', { payloads: [payloadToJSON(unknownKey)] });
    expect(((await gone.json()) as { message: string }).message).toContain('key id "gone", which is not configured');
    const huge = await post('encode', { payloads: [{ data: 'A'.repeat(17 * 1024 * 1024) }] });
    expect(huge.status).toBe(413);
  });

  it('CORS: the Temporal UI origin gets a preflight answer with credentials; other origins and routes get none', async () => {
    const preflight = (origin: string, path = '/codec/decode') =>
      fetch(`${stack.urls.api}${path}`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,x-namespace',
        },
      });
    const ok = await preflight(UI);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(UI);
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    expect(ok.headers.get('access-control-allow-methods')).toBe('POST');
    expect(ok.headers.get('access-control-allow-headers')).toBe('authorization, content-type, x-namespace');

    const evil = await preflight('https://evil.example.com');
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    // The CORS route is scoped to /codec: other routes are untouched.
    const elsewhere = await preflight(UI, '/v1/payments');
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.headers.get('access-control-allow-origin')).toBeNull();

    const actual = await post('decode', { payloads: [encrypted] }, { origin: UI });
    expect(actual.status).toBe(200);
    expect(actual.headers.get('access-control-allow-origin')).toBe(UI);
  });
});

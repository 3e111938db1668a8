import { createHmac, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { computeJiraSignature } from '../../src/integrations/jira/signature.js';
import { computeSlackSignature } from '../../src/integrations/slack/signature.js';

/**
 * Generators for the bad-input battery (test/platform/guarantees/bad-input.test.ts): every
 * inbound endpoint gets requests that are malformed, truncated, of the wrong content type,
 * unsigned, wrongly signed, stale, replayed, oversized, deeply nested, wrongly typed field by
 * field, or carry unicode edge cases. Each names the status family it must get.
 */
export interface BadRequest {
  endpoint: string;
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /**
   * `413` exactly; any 4xx; `refused`: a 4xx, or a console page's 303 to its login page (a browser
   * without a session); `not_5xx`: a route whose answer does not depend on the request (probes,
   * static files, install pages), sent junk anyway: anything but a 5xx.
   */
  expect: Expectation;
}

export type Expectation = 413 | '4xx' | 'refused' | 'not_5xx';

/** Whether an answer meets its request's expectation. */
export function meets(r: Pick<BadRequest, 'expect'>, res: { status: number; location?: string }): boolean {
  const { status } = res;
  if (r.expect === 413) return status === 413;
  if (r.expect === 'not_5xx') return status >= 100 && status < 500;
  const refused = status >= 400 && status < 500;
  if (r.expect === 'refused') return refused || (status === 303 && (res.location ?? '').startsWith('/console/login'));
  return refused;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** How an endpoint authenticates a request over its exact body bytes. */
export interface Signer {
  /** Headers that authenticate `body` (fresh, valid). */
  sign(body: Buffer): Record<string, string>;
  /** Headers that look like a signature but are wrong, one set per variant. */
  forged(body: Buffer): Record<string, string>[];
  /** Headers that were valid once (another body, an old timestamp): replays. */
  replayed(body: Buffer): Record<string, string>[];
  /** Slack only: valid signatures over out-of-window timestamps. */
  stale?(body: Buffer): Record<string, string>[];
}

export const slackSigner = (secret: string): Signer => {
  const at = (ts: string, body: Buffer, key = secret) => ({
    'x-slack-request-timestamp': ts,
    'x-slack-signature': computeSlackSignature(key, ts, body.toString('utf8')),
  });
  const now = () => Math.floor(Date.now() / 1000);
  return {
    sign: (body) => at(String(now()), body),
    forged: (body) => {
      const good = at(String(now()), body);
      const hex = good['x-slack-signature'].slice(3);
      return [
        { ...good, 'x-slack-signature': `v0=${'0'.repeat(64)}` },
        { ...good, 'x-slack-signature': `v0=${hex.toUpperCase()}` },
        { ...good, 'x-slack-signature': `v1=${hex}` },
        { ...good, 'x-slack-signature': hex },
        { ...good, 'x-slack-signature': `v0=${hex.slice(0, 63)}` },
        { ...good, 'x-slack-signature': `v0=${hex}00` },
        { ...good, 'x-slack-signature': 'v0=' },
        { ...good, 'x-slack-signature': `v0=${'zz'.repeat(32)}` },
        at(String(now()), body, `${secret}x`),
        at(String(now()), body, ''),
        { ...good, 'x-slack-signature': `v0=${hex},v0=${hex}` },
        { ...good, 'x-slack-request-timestamp': String(now() + 1) },
      ];
    },
    replayed: (body) => {
      const other = at(String(now()), Buffer.concat([body, Buffer.from(' ')]));
      const old = at(String(now() - 3600), body);
      return [other, old, { ...at(String(now()), Buffer.from('{}')) }];
    },
    stale: (body) =>
      [now() - 301, now() - 86_400, now() + 900, 0, -1]
        .map((t) => at(String(t), body))
        .concat([
          at('1e9', body),
          at(`${now()}.5`, body),
          at('', body),
          at('abc', body),
          at(`${now()}${'0'.repeat(30)}`, body),
        ]),
  };
};

const hmacHex = (secret: string, body: Buffer) => createHmac('sha256', secret).update(body).digest('hex');

export const razorpaySigner = (secret: string): Signer => ({
  sign: (body) => ({ 'x-razorpay-signature': hmacHex(secret, body) }),
  forged: (body) => {
    const hex = hmacHex(secret, body);
    return [
      { 'x-razorpay-signature': '0'.repeat(64) },
      { 'x-razorpay-signature': hex.toUpperCase() },
      { 'x-razorpay-signature': `sha256=${hex}` },
      { 'x-razorpay-signature': hex.slice(0, 63) },
      { 'x-razorpay-signature': `${hex}00` },
      { 'x-razorpay-signature': '' },
      { 'x-razorpay-signature': 'zz'.repeat(32) },
      { 'x-razorpay-signature': hmacHex(`${secret}x`, body) },
      { 'x-razorpay-signature': hmacHex('', body) },
      { 'x-razorpay-signature': Buffer.from(hex, 'hex').toString('base64') },
    ];
  },
  replayed: (body) => [
    { 'x-razorpay-signature': hmacHex(secret, Buffer.concat([body, Buffer.from(' ')])) },
    { 'x-razorpay-signature': hmacHex(secret, Buffer.from('{}')) },
  ],
});

export const jiraSigner = (secret: string, identifier: () => string): Signer => ({
  sign: (body) => ({
    'x-hub-signature': computeJiraSignature(secret, body.toString('utf8')),
    'x-atlassian-webhook-identifier': identifier(),
  }),
  forged: (body) => {
    const good = computeJiraSignature(secret, body.toString('utf8'));
    const hex = good.replace(/^sha256=/, '');
    const id = { 'x-atlassian-webhook-identifier': identifier() };
    return [
      `sha256=${'0'.repeat(64)}`,
      `sha1=${hex}`,
      hex,
      `sha256=${hex.slice(0, 63)}`,
      `sha256=${hex}00`,
      'sha256=',
      `sha256=${'zz'.repeat(32)}`,
      computeJiraSignature(`${secret}x`, body.toString('utf8')),
      computeJiraSignature('', body.toString('utf8')),
    ].map((s) => ({ ...id, 'x-hub-signature': s }));
  },
  replayed: (body) => [
    {
      'x-hub-signature': computeJiraSignature(secret, `${body.toString('utf8')} `),
      'x-atlassian-webhook-identifier': identifier(),
    },
    { 'x-hub-signature': computeJiraSignature(secret, '{}'), 'x-atlassian-webhook-identifier': identifier() },
  ],
});

/** Every leaf and branch path of a JSON value (object keys and array indexes). */
function paths(v: Json, at: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== 'object') return [at];
  const kids = Array.isArray(v) ? v.map((x, i) => [i, x] as const) : Object.entries(v);
  return [...(at.length ? [at] : []), ...kids.flatMap(([k, x]) => paths(x, [...at, k]))];
}

function setAt(v: Json, path: (string | number)[], value: Json | undefined): Json {
  const copy = structuredClone(v) as Record<string | number, Json>;
  let cur = copy;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, Json>;
  const last = path[path.length - 1]!;
  if (value === undefined) delete cur[last];
  else cur[last] = value;
  return copy;
}

function getAt(v: Json, path: (string | number)[]): Json | undefined {
  let cur: Json | undefined = v;
  for (const k of path) cur = cur && typeof cur === 'object' ? (cur as Record<string | number, Json>)[k] : undefined;
  return cur;
}

/** Values of another type than `v` (and, for strings, the empty string). */
function wrongTypes(v: Json | undefined): Json[] {
  const all: Json[] = [12345, -1.5, true, null, 'not-what-was-expected', [], {}, [1, 'x'], { nested: { x: 1 } }];
  const same = (x: Json) =>
    typeof x === typeof v && Array.isArray(x) === Array.isArray(v) && (x === null) === (v === null);
  return [...all.filter((x) => !same(x)), ...(typeof v === 'string' ? [''] : [])];
}

/** Unicode a validator should refuse in an identifier: controls, invisible and lookalike characters, lone surrogates. */
export const UNICODE_IDS = [
  'id\u0000nul',
  '\ud800',
  'lone\udfffsurrogate',
  'zero\u200bwidth',
  '\u202eltr-override',
  'ｆｕｌｌｗｉｄｔｈ',
  '\ufeffbom',
  'emoji🧨id',
  'line\nbreak',
  'tab\tid',
  'a'.repeat(5_000),
  '../../etc/passwd',
  '<script>',
  ' ',
  '',
  '\u0007bell',
  '\u001bescape',
  '\u2028separator',
  'combining\u0301\u0301\u0301',
  '\ud83d',
  'x\u00a0nbsp',
  '\u0000',
  'rtl\u200fmark',
  '%00',
];

/** Nested arrays/objects `depth` deep (beyond any legitimate payload). */
function deep(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

const MALFORMED = [
  '{',
  '}',
  '[',
  '{"a":',
  '{"a" 1}',
  '}{',
  "{'single':'quotes'}",
  'nul',
  'undefined',
  'NaN',
  '{"a":NaN}',
  '{"a":1,}',
  '[1,2,,3]',
  '{"a":"unterminated}',
  '\u0000\u0000\u0000',
  '<xml/>',
  'a=b&c=d',
  '"just a string"',
  '12345',
  'true',
  'null',
  '[]',
  '{}',
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
];

/** A JSON endpoint's battery. `validated`: the body paths its schema reads (wrong types there must be refused). */
export function jsonBattery(opts: {
  endpoint: string;
  path: string;
  /** Default POST. */
  method?: string;
  base: Json;
  validated?: (string | number)[][];
  /** Validated paths that may be left out (wrong types there are still refused). */
  optional?: string[];
  signer?: Signer;
  auth?: Record<string, string>;
  /** Paths holding identifiers that get the unicode edge cases. */
  ids: (string | number)[][];
  /** Applied to every generated body (e.g. fresh event ids), so no two requests share an identity. */
  fresh?: (b: Json) => Json;
  /** Bytes above this are oversized. */
  limit: number;
  /** Wrap a JSON text into the request body (Slack interactions: form field `payload`). */
  encode?: (json: string) => { body: Buffer; contentType: string };
  /** How many random-byte bodies and truncation points (default 30 and 49). */
  randoms?: number;
  cuts?: number;
  /** Extra headers on every request (e.g. a fresh Idempotency-Key). */
  headers?: () => Record<string, string>;
}): BadRequest[] {
  const encode =
    opts.encode ?? ((json: string) => ({ body: Buffer.from(json, 'utf8'), contentType: 'application/json' }));
  const fresh = opts.fresh ?? ((b: Json) => b);
  const authed = (body: Buffer) => ({ ...(opts.auth ?? {}), ...(opts.signer?.sign(body) ?? {}) });
  const out: BadRequest[] = [];
  const add = (kind: string, body: Buffer, headers: Record<string, string>, expect: 413 | '4xx' = '4xx') =>
    out.push({
      endpoint: opts.endpoint,
      kind,
      method: opts.method ?? 'POST',
      path: opts.path,
      headers: { ...opts.headers?.(), ...headers },
      body,
      expect,
    });
  const signedJson = (kind: string, json: string) => {
    const e = encode(json);
    add(kind, e.body, { 'content-type': e.contentType, ...authed(e.body) });
  };
  const valid = () => JSON.stringify(fresh(opts.base));

  for (const m of MALFORMED) signedJson('malformed', m);
  for (let i = 0; i < (opts.randoms ?? 12); i++) {
    const e = { body: randomBytes(16 + i * 37), contentType: encode('{}').contentType };
    add('malformed', e.body, { 'content-type': e.contentType, ...authed(e.body) });
  }
  const whole = valid();
  const cuts = (opts.cuts ?? 16) + 1;
  for (let cut = 1; cut < cuts; cut++) signedJson('truncated', whole.slice(0, Math.floor((whole.length * cut) / cuts)));

  for (const ct of [
    'text/plain',
    'application/xml',
    'multipart/form-data; boundary=x',
    'application/octet-stream',
    'text/html',
    'image/png',
    opts.encode ? 'application/json' : 'application/x-www-form-urlencoded',
  ]) {
    const body = Buffer.from(valid());
    add('wrong_content_type', body, { 'content-type': ct, ...authed(body) });
  }
  {
    const body = Buffer.from(valid());
    add('wrong_content_type', body, { ...authed(body) });
  }

  if (opts.signer) {
    for (let i = 0; i < 6; i++) {
      const e = encode(valid());
      const headers: Record<string, string> = { 'content-type': e.contentType };
      if (i === 1) headers['x-slack-signature'] = '';
      if (i === 2) headers['x-razorpay-signature'] = '';
      if (i === 3) headers['x-hub-signature'] = '';
      if (i === 4) headers.authorization = 'Bearer whatever';
      add('unsigned', e.body, headers);
    }
    const e = encode(valid());
    for (const h of opts.signer.forged(e.body)) add('wrongly_signed', e.body, { 'content-type': e.contentType, ...h });
    for (const h of opts.signer.replayed(e.body)) add('replayed', e.body, { 'content-type': e.contentType, ...h });
    for (const h of opts.signer.stale?.(e.body) ?? []) add('stale', e.body, { 'content-type': e.contentType, ...h });
  } else if (opts.auth) {
    const e = encode(valid());
    for (const h of [
      {},
      { authorization: '' },
      { authorization: 'Bearer' },
      { authorization: 'Bearer wrong-key' },
      { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      { authorization: 'Bearer \u00e9\u00e9' },
      { 'x-api-key': 'wrong-key' },
    ])
      add('unauthenticated', e.body, { 'content-type': e.contentType, ...(h as Record<string, string>) });
  }

  for (const size of [opts.limit + 1, opts.limit * 2]) {
    const pad = 'x'.repeat(size);
    const json = JSON.stringify({ pad, ...(fresh(opts.base) as Record<string, Json>) });
    const e = encode(json);
    add('oversized', e.body, { 'content-type': e.contentType, ...authed(e.body) }, 413);
  }

  for (const depth of [64, 1_000, 10_000, 100_000]) {
    for (const kind of ['array', 'object'] as const) signedJson('deeply_nested', deep(depth, kind));
    const nestedAt = opts.validated?.[0];
    if (nestedAt) {
      // Spliced in as text: serializing a value this deep would itself exhaust the stack.
      const marker = JSON.stringify(setAt(fresh(opts.base), nestedAt, '__deep__'));
      signedJson('deeply_nested', marker.replace('"__deep__"', deep(depth, 'object')));
    }
  }

  const validated = opts.validated ?? paths(opts.base);
  for (const p of validated) {
    for (const w of wrongTypes(getAt(opts.base, p)))
      signedJson('wrong_type', JSON.stringify(setAt(fresh(opts.base), p, w)));
    if (!opts.optional?.includes(p.join('.')))
      signedJson('missing_field', JSON.stringify(setAt(fresh(opts.base), p, undefined)));
  }

  for (const p of opts.ids) {
    for (const u of UNICODE_IDS) signedJson('unicode', JSON.stringify(setAt(fresh(opts.base), p, u)));
  }
  // Bytes that are not UTF-8 at all, inside a string of an otherwise valid body.
  for (const bad of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80]]) {
    const json = valid();
    const at = json.indexOf('"', json.indexOf(':')) + 1;
    const bytes = Buffer.concat([Buffer.from(json.slice(0, at)), Buffer.from(bad), Buffer.from(json.slice(at))]);
    const e = opts.encode ? encode(bytes.toString('latin1')) : { body: bytes, contentType: 'application/json' };
    add('invalid_utf8', e.body, { 'content-type': e.contentType, ...authed(e.body) });
  }
  {
    const e = { body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(valid())]) };
    add('bom', e.body, { 'content-type': encode('{}').contentType, ...authed(e.body) });
  }
  return out;
}

export interface SentResult {
  status: number;
  body: string;
  location?: string;
}

/**
 * Sends one request with node's http client (exact headers and bytes, no retries) and reads the
 * whole answer. A connection closed before a complete answer was read rejects: the battery counts
 * that as a failure (the server must answer, 413 included, before it closes).
 */
export function send(base: string, r: BadRequest): Promise<SentResult> {
  const url = new URL(r.path, base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        method: r.method,
        hostname: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        headers: { ...r.headers, ...(r.body ? { 'content-length': String(r.body.length) } : {}), connection: 'close' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            ...(res.headers.location ? { location: res.headers.location } : {}),
          }),
        );
        res.on('error', reject);
      },
    );
    let answered = false;
    req.on('response', () => (answered = true));
    req.on('error', (err) => {
      // Writing the rest of an oversized body after the server answered and closed: the answer counts.
      if (!answered) reject(err);
    });
    if (r.body) req.end(r.body);
    else req.end();
  });
}

/** Runs `requests` with at most `concurrency` in flight; results in request order. */
export async function sendAll(
  base: string,
  requests: BadRequest[],
  concurrency = 8,
): Promise<(SentResult | { status: 0; body: string; error: string })[]> {
  const results: (SentResult | { status: 0; body: string; error: string })[] = new Array(requests.length);
  let next = 0;
  const lane = async () => {
    while (next < requests.length) {
      const i = next++;
      results[i] = await send(base, requests[i]!).catch((err: unknown) => ({
        status: 0 as const,
        body: '',
        error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      }));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return results;
}

/** One route the app serves. */
export interface ServedRoute {
  method: string;
  url: string;
}

/**
 * Every route in Fastify's `printRoutes({ commonPrefix: false })` tree: each line is a path
 * segment below its parent (four columns per level) with the methods served there. HEAD twins of
 * GET routes are left out (Fastify adds them; they run the GET handler).
 */
export function servedRoutes(printed: string): ServedRoute[] {
  const out: ServedRoute[] = [];
  const stack: string[] = [];
  for (const line of printed.split('\n')) {
    const at = line.indexOf('── ');
    if (at < 0) continue;
    const depth = Math.round((at - 1) / 4);
    const rest = line.slice(at + 3);
    const open = rest.lastIndexOf(' (');
    const segment = open >= 0 ? rest.slice(0, open) : rest;
    stack.length = depth;
    stack.push(segment);
    if (open < 0) continue;
    const url = stack.join('');
    for (const m of rest.slice(open + 2, -1).split(', ')) {
      if (m && m !== '-' && m !== 'HEAD') out.push({ method: m, url });
    }
  }
  return out;
}

/** A route's URL with every `:param` (and a trailing `*`) replaced by `value` (already encoded). */
export function fill(url: string, value: string): string {
  return url.replace(/:[A-Za-z_]+/g, value).replace(/\*$/, value);
}

/** A lone surrogate has no UTF-8 form: it goes as the bytes of its CESU-8 encoding. */
export const encodeId = (v: string) => (/[\ud800-\udfff]/.test(v) ? '%ED%A0%80' : encodeURIComponent(v));

/**
 * Path parameter values no route should take: one of each unicode edge case (controls, lone
 * surrogates, invisible and lookalike characters, length) and broken escapes.
 */
export const BAD_PATH_IDS = [
  ...[
    'id\u0000nul',
    '\ud800',
    'zero\u200bwidth',
    '\u202eltr-override',
    'ｆｕｌｌｗｉｄｔｈ',
    'emoji🧨id',
    'line\nbreak',
  ]
    .concat(['a'.repeat(5_000), '../../etc/passwd', '<script>', ' ', '\u001bescape', 'x\u00a0nbsp'])
    .map(encodeId),
  '%',
  '%zz',
  '..%2F..%2Fetc',
  '%00',
];

/**
 * The battery every API-key route gets, whatever it does, so a route added later is covered
 * without anyone writing its battery: no or wrong credentials; with the key, path parameters no
 * route should take; and, for routes that read a body, bodies no schema accepts (malformed, not
 * an object, the wrong content type, oversized, deeply nested, not UTF-8). `okId` fills path
 * parameters where the parameter is not what is being tested. Routes that take no body
 * (`takesBody: false`) get only what is refused before any handler runs, since they would accept
 * a well-formed body they ignore.
 */
export function apiKeyBattery(r: {
  route: ServedRoute;
  key: Record<string, string>;
  okId: string;
  takesBody: boolean;
  limit: number;
  headers: () => Record<string, string>;
}): BadRequest[] {
  const endpoint = `${r.route.method} ${r.route.url}`;
  const hasBody = r.route.method !== 'GET' && r.route.method !== 'DELETE';
  const out: BadRequest[] = [];
  const add = (
    kind: string,
    path: string,
    headers: Record<string, string>,
    body?: Buffer,
    expect: Expectation = '4xx',
  ) =>
    out.push({ endpoint, kind, method: r.route.method, path, headers: { ...r.headers(), ...headers }, body, expect });
  const json = (text: string | Buffer) => (typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
  const jsonType = { 'content-type': 'application/json' };
  const okPath = fill(r.route.url, r.okId);
  for (const h of [
    {},
    { authorization: 'Bearer nope-nope' },
    { authorization: 'Basic eDp5' },
    { authorization: `Bearer ${'x'.repeat(9000)}` },
  ] as Record<string, string>[])
    add('unauthenticated', okPath, hasBody ? { ...jsonType, ...h } : h, hasBody ? json('{}') : undefined);
  if (r.route.url.includes(':')) {
    for (const id of BAD_PATH_IDS)
      add(
        'bad_id',
        fill(r.route.url, id),
        hasBody ? { ...jsonType, ...r.key } : r.key,
        hasBody ? json('{}') : undefined,
      );
  }
  if (!hasBody) return out;
  const authed = { ...jsonType, ...r.key };
  for (const m of ['{', '{"a":', "{'a':1}", 'nul', '[1,,2]', '{"a":1,}']) add('malformed', okPath, authed, json(m));
  add('oversized', okPath, authed, json(JSON.stringify({ pad: 'x'.repeat(r.limit + 1) })), 413);
  if (!r.takesBody) return out;
  add('deeply_nested', okPath, authed, json(deep(100_000, 'array')));
  add('deeply_nested', okPath, authed, json(deep(10_000, 'object')));
  for (const v of ['[]', 'null', '12', '"s"', 'true']) add('not_an_object', okPath, authed, json(v));
  for (const ct of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x'])
    add('wrong_content_type', okPath, { ...r.key, 'content-type': ct }, json('{}'));
  add('invalid_utf8', okPath, authed, Buffer.concat([json('{"a":"'), Buffer.from([0xff, 0xfe]), json('"}')]));
  add('bom', okPath, authed, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json('{}')]));
  return out;
}

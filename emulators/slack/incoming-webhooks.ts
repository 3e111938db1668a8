import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { FaultRegistry } from '../shared/faults.js';
import type { TokenBuckets } from '../shared/token-bucket.js';
import { validateBlocks } from './blocks.js';
import type { SlackPlatform } from './platform.js';
import type { Obj } from './workspace.js';

/**
 * Incoming webhooks, as Slack serves them at `https://hooks.slack.com/services/T…/B…/<secret>`:
 * a POST of `{text, blocks?, attachments?}` (JSON, or a form field `payload` holding JSON) posts
 * to the webhook's channel as the app's bot. Slack answers `ok` (200, text/plain) or an error
 * code as text: 400 `invalid_payload` / `no_text` / `invalid_blocks`, 404 `no_service` (unknown,
 * disabled or removed webhook) / `channel_not_found`, 403 `invalid_token` (wrong secret),
 * 410 `channel_is_archived`, and 429 with `Retry-After` past about one message per second per
 * channel (the same budget as chat.postMessage). Faults use the method name `incoming-webhook`.
 */
export interface IncomingWebhook {
  id: string;
  teamId: string;
  channel: string;
  url: string;
  secret: string;
  createdAt: string;
  disabled: boolean;
}

export interface IncomingWebhookPost {
  webhook: string;
  at: string;
  status: number;
  /** `ok` or the error code Slack would answer. */
  answer: string;
  channel: string;
  ts?: string;
}

const createInput = z.object({ channel: z.string().min(1), team: z.string().optional() });
const disableInput = z.object({ url: z.string().min(1) });

export async function registerIncomingWebhooks(
  app: FastifyInstance,
  deps: {
    platform: SlackPlatform;
    faults: FaultRegistry;
    rateLimits: { enabled: boolean };
    postBuckets: TokenBuckets;
    baseUrl: () => string;
  },
): Promise<void> {
  const hooks = new Map<string, IncomingWebhook>();
  const posts: IncomingWebhookPost[] = [];

  app.post('/_admin/incoming-webhooks', (req, reply) => {
    const input = createInput.parse(req.body);
    const team = input.team ? deps.platform.team(input.team) : deps.platform.primary;
    if (!team) return reply.code(404).send({ ok: false, error: `unknown team ${input.team}` });
    const ch = team.ws.channel(input.channel) ?? team.ws.channelByName(input.channel.replace(/^#/, ''));
    if (!ch) return reply.code(404).send({ ok: false, error: `unknown channel ${input.channel}` });
    const id = `B${randomBytes(5).toString('hex').toUpperCase()}`;
    const secret = randomBytes(12).toString('hex');
    const hook: IncomingWebhook = {
      id,
      teamId: team.ws.teamId,
      channel: ch.id,
      url: `${deps.baseUrl()}/services/${team.ws.teamId}/${id}/${secret}`,
      secret,
      createdAt: new Date().toISOString(),
      disabled: false,
    };
    hooks.set(id, hook);
    return { ok: true, url: hook.url, channel: ch.id, id };
  });
  app.post('/_admin/incoming-webhooks/disable', (req, reply) => {
    const { url } = disableInput.parse(req.body);
    const hook = [...hooks.values()].find((h) => h.url === url);
    if (!hook) return reply.code(404).send({ ok: false, error: 'unknown webhook' });
    hook.disabled = true;
    return { ok: true };
  });
  // The secret is part of the URL (a bearer capability): inspection lists hooks without it.
  app.get('/_admin/incoming-webhooks', () => ({
    ok: true,
    webhooks: [...hooks.values()].map(({ secret: _s, url: _u, ...h }) => h),
    posts,
  }));

  // Slack answers a malformed body with its own code, so the hook route reads JSON itself.
  await app.register(async (scoped) => {
    scoped.removeContentTypeParser('application/json');
    scoped.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    registerHookRoute(scoped);
  });

  function registerHookRoute(scoped: FastifyInstance) {
    scoped.post<{ Params: { team: string; bot: string; secret: string } }>(
      '/services/:team/:bot/:secret',
      async (req, reply) => {
        const hook = hooks.get(req.params.bot);
        const answer = (
          status: number,
          code: string,
          extra: { ts?: string; headers?: Record<string, string> } = {},
        ) => {
          posts.push({
            webhook: req.params.bot,
            at: new Date().toISOString(),
            status,
            answer: code,
            channel: hook?.channel ?? '',
            ...(extra.ts ? { ts: extra.ts } : {}),
          });
          if (posts.length > 5000) posts.splice(0, posts.length - 5000);
          return reply
            .code(status)
            .headers({ 'content-type': 'text/plain; charset=utf-8', ...(extra.headers ?? {}) })
            .send(code);
        };
        if (!hook || hook.teamId !== req.params.team || hook.disabled) return answer(404, 'no_service');
        if (hook.secret !== req.params.secret) return answer(403, 'invalid_token');

        const fault = deps.faults.take('incoming-webhook', { channel: hook.channel });
        if (fault?.kind === 'error') return answer(400, fault.error ?? 'invalid_payload');
        if (fault?.kind === 'status') return answer(fault.status ?? 500, fault.error ?? 'internal_error');
        if (fault?.kind === 'ratelimit')
          return answer(429, 'rate_limited', { headers: { 'retry-after': String(fault.retryAfter ?? 1) } });
        if (fault?.kind === 'latency') await new Promise((r) => setTimeout(r, fault.latencyMs ?? 1000));

        let body: Obj | undefined;
        const raw = req.body;
        try {
          if (typeof raw === 'string') body = JSON.parse(raw) as Obj;
          else if (raw && typeof raw === 'object') {
            const form = raw as Obj;
            body = typeof form.payload === 'string' ? (JSON.parse(form.payload) as Obj) : form;
          }
        } catch {
          return answer(400, 'invalid_payload');
        }
        if (!body || typeof body !== 'object' || Array.isArray(body)) return answer(400, 'invalid_payload');
        const text = typeof body.text === 'string' ? body.text : '';
        const blocks = Array.isArray(body.blocks) ? body.blocks : undefined;
        const attachments = Array.isArray(body.attachments) ? body.attachments : undefined;
        if (!text && !blocks?.length && !attachments?.length) return answer(400, 'no_text');
        if (blocks && validateBlocks(blocks, 'message').length) return answer(400, 'invalid_blocks');

        const team = deps.platform.team(hook.teamId);
        const ch = team?.ws.channel(hook.channel);
        if (!team || !ch) return answer(404, 'channel_not_found');
        if (ch.is_archived) return answer(410, 'channel_is_archived');
        if (deps.rateLimits.enabled) {
          const taken = deps.postBuckets.take(`${hook.teamId}:chat.postMessage:${ch.id}`);
          if (!taken.ok)
            return answer(429, 'rate_limited', { headers: { 'retry-after': String(taken.retryAfterSec) } });
        }
        const m = team.ws.post(ch, {
          user: team.ws.botUserId,
          bot: true,
          text,
          ...(blocks ? { blocks } : {}),
          ...(attachments ? { attachments } : {}),
        });
        if (fault?.kind === 'commit_then_timeout') {
          posts.push({
            webhook: hook.id,
            at: new Date().toISOString(),
            status: 0,
            answer: 'ok',
            channel: ch.id,
            ts: m.ts,
          });
          reply.hijack();
          req.raw.socket.destroy();
          return reply;
        }
        return answer(200, 'ok', { ts: m.ts });
      },
    );
  }
}

import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { faultSchema } from '../shared/faults.js';
import { richTextFor, validateBlocks } from './blocks.js';
import { isKnownEmoji } from './emoji-names.js';
import type { SlackDelivery } from './outbound.js';
import type { EmulatorCore } from './server.js';
import { replaceViewContent, storeView, validateView } from './web-api.js';
import type { ApiContext } from './web-api.js';
import type { Obj, StoredChannel, StoredMessage, StoredView } from './workspace.js';

/** Raised inside admin handlers; becomes `{ok:false, error}` with the given HTTP status. */
class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const messageInput = z.object({
  user: z.string(),
  channel: z.string(),
  text: z.string().default(''),
  thread_ts: z.string().optional(),
  reply_broadcast: z.boolean().optional(),
  blocks: z.array(z.unknown()).optional(),
});
const messageRef = z.object({ user: z.string(), channel: z.string(), ts: z.string() });
const editInput = messageRef.extend({ text: z.string() });
const reactionInput = messageRef.extend({ name: z.string().min(1) });
const clickInput = z.object({
  user: z.string(),
  channel: z.string().optional(),
  ts: z.string().optional(),
  view_id: z.string().optional(),
  action_id: z.string(),
  value: z.string().optional(),
});
const submitInput = z.object({
  user: z.string(),
  view_id: z.string().optional(),
  values: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
});
const closeInput = z.object({ user: z.string(), view_id: z.string().optional() });
const commandInput = z.object({
  user: z.string(),
  channel: z.string(),
  command: z.string().regex(/^\//),
  text: z.string().default(''),
});
const configInput = z.object({
  appUrls: z
    .object({ events: z.string().optional(), interactivity: z.string().optional(), commands: z.string().optional() })
    .optional(),
  eventRetryDelaysMs: z.array(z.number().int().nonnegative()).optional(),
  deliveryTimeoutMs: z.number().int().positive().optional(),
  triggerTtlMs: z.number().int().positive().optional(),
});

/** What the app answered to an interaction or command, as the admin API reports it. */
export interface DeliveryOutcome {
  delivered: boolean;
  status: number | null;
  error?: string;
  body?: string;
  response?: unknown;
}

function outcome(rec: SlackDelivery): DeliveryOutcome {
  const a = rec.attempts.at(-1);
  if (!a) return { delivered: false, status: null, error: 'no_app_url' };
  let response: unknown;
  if (a.responseBody) {
    try {
      response = JSON.parse(a.responseBody);
    } catch {
      response = a.responseBody;
    }
  }
  return {
    delivered: rec.delivered,
    status: a.status,
    ...(a.error ? { error: a.error } : {}),
    ...(a.responseBody !== undefined ? { body: a.responseBody } : {}),
    ...(response !== undefined ? { response } : {}),
  };
}

type Element = Obj & { action_id?: string; type?: string; value?: string };

/** Interactive elements of a block list with the block they sit in. */
function* elementsOf(blocks: unknown[] | undefined): Generator<{ block: Obj; el: Element }> {
  for (const b of blocks ?? []) {
    if (typeof b !== 'object' || b === null) continue;
    const block = b as Obj;
    if (Array.isArray(block.elements)) for (const el of block.elements as Element[]) yield { block, el };
    if (block.accessory && typeof block.accessory === 'object') yield { block, el: block.accessory as Element };
    if (block.element && typeof block.element === 'object') yield { block, el: block.element as Element };
  }
}

/** Admin API: acting as people, faults, configuration and inspection. */
export function registerAdminRoutes(app: FastifyInstance, core: EmulatorCore): void {
  const { ws, outbound } = core;

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof AdminError) return reply.code(err.status).send({ ok: false, error: err.message });
    if (err instanceof z.ZodError)
      return reply.code(400).send({ ok: false, error: 'invalid_request', issues: err.issues });
    const e = err as { statusCode?: number; message?: string };
    return reply.code(e.statusCode ?? 500).send({ ok: false, error: e.message ?? 'internal_error' });
  });

  const person = (id: string) => {
    const u = ws.user(id);
    if (!u) throw new AdminError(404, `unknown user ${id}`);
    // Deactivated people and pending invitees cannot act in the workspace.
    if (u.deleted || u.is_invited_user) throw new AdminError(403, `${id} is not an active member`);
    return id;
  };
  const channelOf = (ref: string): StoredChannel => {
    const c = ws.channel(ref) ?? ws.channelByName(ref.replace(/^#/, ''));
    if (!c) throw new AdminError(404, `unknown channel ${ref}`);
    return c;
  };
  const messageOf = (ch: StoredChannel, ts: string): StoredMessage => {
    const m = ws.message(ch, ts);
    if (!m) throw new AdminError(404, `no message ${ts} in ${ch.id}`);
    return m;
  };
  const userObj = (id: string) => ({ id, username: ws.userName(id), name: ws.userName(id), team_id: ws.teamId });
  const team = () => ({ id: ws.teamId, domain: ws.seed.team.domain });
  const apiCtx = (): ApiContext => ({
    ws,
    scopes: ws.seed.botScopes,
    actorId: ws.botUserId,
    isBot: true,
    triggers: outbound.triggers,
    triggerTtlMs: core.triggerTtlMs.value,
    schedule: core.schedule,
  });

  // ---------------- acting as people ----------------

  app.post('/_admin/messages', (req) => {
    const b = messageInput.parse(req.body);
    const user = person(b.user);
    const ch = channelOf(b.channel);
    if (ch.is_archived) throw new AdminError(409, 'is_archived');
    if (!ch.members.includes(user)) {
      if (ch.is_private) throw new AdminError(403, `${user} is not a member of ${ch.id}`);
      // People can post into public channels they have not joined; Slack joins them.
      ch.members.push(user);
    }
    if (!b.text && !b.blocks?.length) throw new AdminError(400, 'no_text');
    if (b.blocks) {
      const errs = validateBlocks(b.blocks, 'message');
      if (errs.length) throw new AdminError(400, `invalid_blocks: ${errs.join('; ')}`);
    }
    let threadTs: string | undefined;
    if (b.thread_ts) threadTs = messageOf(ch, b.thread_ts).thread_ts ?? b.thread_ts;
    const m = ws.post(ch, {
      user,
      bot: false,
      text: b.text,
      ...(b.blocks ? { blocks: b.blocks } : {}),
      ...(threadTs ? { thread_ts: threadTs, reply_broadcast: b.reply_broadcast === true } : {}),
    });
    return { ok: true, channel: ch.id, ts: m.ts, message: ws.apiMessage(m, { metadata: true }) };
  });

  app.post('/_admin/messages/edit', (req) => {
    const b = editInput.parse(req.body);
    const ch = channelOf(b.channel);
    const m = messageOf(ch, b.ts);
    if (m.user !== person(b.user)) throw new AdminError(403, `${b.user} can only edit their own messages`);
    // Slack's clients send a fresh rich_text rendering of the edited text.
    ws.edit(ch, m, { text: b.text, blocks: richTextFor(b.text) }, b.user);
    return { ok: true, channel: ch.id, ts: m.ts, message: ws.apiMessage(m, { metadata: true }) };
  });

  app.post('/_admin/messages/delete', (req) => {
    const b = messageRef.parse(req.body);
    const ch = channelOf(b.channel);
    const m = messageOf(ch, b.ts);
    const user = person(b.user);
    // Workspace admins may delete anyone's message, everyone else only their own.
    if (m.user !== user && !ws.user(user)?.is_admin)
      throw new AdminError(403, `${user} can only delete their own messages`);
    ws.delete(ch, m, user);
    return { ok: true, channel: ch.id, ts: m.ts };
  });

  const react = (add: boolean) => (req: { body: unknown }) => {
    const b = reactionInput.parse(req.body);
    const ch = channelOf(b.channel);
    const m = messageOf(ch, b.ts);
    const name = b.name.replace(/^:|:$/g, '');
    // A person can only pick an emoji the workspace has, as in Slack's picker.
    if (!isKnownEmoji(name, ws.seed.custom_emoji)) throw new AdminError(400, 'invalid_name');
    const ok = add ? ws.addReaction(ch, m, person(b.user), name) : ws.removeReaction(ch, m, person(b.user), name);
    if (!ok) throw new AdminError(409, add ? 'already_reacted' : 'no_reaction');
    return { ok: true };
  };
  app.post('/_admin/reactions', react(true));
  app.delete('/_admin/reactions', react(false));

  app.post('/_admin/click', async (req) => {
    const b = clickInput.parse(req.body);
    const user = person(b.user);
    const actionTs = `${(Date.now() / 1000).toFixed(6)}`;
    const trigger = outbound.issueTrigger(user);
    const match = (blocks: unknown[] | undefined) => {
      for (const { block, el } of elementsOf(blocks)) {
        if (el.action_id !== b.action_id) continue;
        if (el.type === 'button' && b.value !== undefined && el.value !== b.value) continue;
        return { block, el };
      }
      return undefined;
    };
    const actionOf = (found: { block: Obj; el: Element }): Obj => {
      const { block, el } = found;
      const base: Obj = { action_id: el.action_id, block_id: block.block_id, type: el.type, action_ts: actionTs };
      if (el.type === 'button')
        return { ...base, text: el.text, value: el.value, ...(el.style ? { style: el.style } : {}) };
      const opts = (el.options as { value: string }[] | undefined) ?? [];
      const opt = opts.find((o) => o.value === b.value);
      if (opts.length && !opt) throw new AdminError(404, `no option ${b.value ?? ''} in ${b.action_id}`);
      return { ...base, ...(opt ? { selected_option: opt } : { value: b.value }) };
    };

    if (b.view_id) {
      const v = ws.data.views[b.view_id];
      if (!v?.open || v.user !== user) throw new AdminError(404, `no open view ${b.view_id} for ${user}`);
      const found = match(v.blocks);
      if (!found) throw new AdminError(404, `no element with action_id ${b.action_id} in view ${v.id}`);
      const payload = {
        type: 'block_actions',
        user: userObj(user),
        api_app_id: ws.seed.app.id,
        token: outbound.opts.verificationToken,
        container: { type: 'view', view_id: v.id },
        trigger_id: trigger,
        team: team(),
        enterprise: null,
        is_enterprise_install: false,
        view: { ...ws.apiView(v), state: { values: {} } },
        actions: [actionOf(found)],
      };
      const rec = await outbound.interact(payload);
      return { ok: true, trigger_id: trigger, delivery: outcome(rec) };
    }

    if (!b.channel || !b.ts) throw new AdminError(400, 'channel and ts (or view_id) are required');
    const ch = channelOf(b.channel);
    const m = messageOf(ch, b.ts);
    const found = match(m.blocks);
    if (!found) throw new AdminError(404, `no element with action_id ${b.action_id} in message ${m.ts}`);
    const responseUrl = outbound.issueResponseUrl({ channel: ch.id, user, message_ts: m.ts, source: 'block_actions' });
    const payload = {
      type: 'block_actions',
      user: userObj(user),
      api_app_id: ws.seed.app.id,
      token: outbound.opts.verificationToken,
      container: { type: 'message', message_ts: m.ts, channel_id: ch.id, is_ephemeral: false },
      trigger_id: trigger,
      team: team(),
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: ch.id, name: ch.name },
      message: ws.apiMessage(m, { metadata: true }),
      state: { values: {} },
      response_url: responseUrl,
      actions: [actionOf(found)],
    };
    ws.onChange();
    const rec = await outbound.interact(payload);
    return { ok: true, trigger_id: trigger, response_url: responseUrl, delivery: outcome(rec) };
  });

  const viewFor = (user: string, viewId: string | undefined): StoredView => {
    const v = viewId ? ws.data.views[viewId] : ws.topView(user);
    if (!v?.open || v.type !== 'modal' || v.user !== user)
      throw new AdminError(404, `no open modal ${viewId ?? ''} for ${user}`);
    return v;
  };

  /** Builds `view.state.values` the way Slack does: every input block, typed per element. */
  const stateValues = (v: StoredView, values: Record<string, Record<string, unknown>>): Obj => {
    const out: Record<string, Obj> = {};
    const known = new Set<string>();
    for (const { block, el } of elementsOf(v.blocks)) {
      if (block.type !== 'input' || typeof block.block_id !== 'string' || typeof el.action_id !== 'string') continue;
      known.add(`${block.block_id}/${el.action_id}`);
      const given = values[block.block_id]?.[el.action_id];
      const optional = block.optional === true;
      let state: Obj;
      if (given !== null && typeof given === 'object' && !Array.isArray(given))
        state = { type: el.type, ...(given as Obj) };
      else state = typedValue(el, given);
      if (given === undefined && !optional)
        throw new AdminError(400, `required input ${block.block_id}/${el.action_id} has no value`);
      (out[block.block_id] ??= {})[el.action_id] = state;
    }
    for (const [bid, acts] of Object.entries(values))
      for (const aid of Object.keys(acts))
        if (!known.has(`${bid}/${aid}`)) throw new AdminError(404, `view ${v.id} has no input ${bid}/${aid}`);
    return out;
  };

  app.post('/_admin/views/submit', async (req, reply) => {
    const b = submitInput.parse(req.body);
    const user = person(b.user);
    const v = viewFor(user, b.view_id);
    const values = stateValues(v, b.values);
    const payload = {
      type: 'view_submission',
      team: team(),
      user: userObj(user),
      api_app_id: ws.seed.app.id,
      token: outbound.opts.verificationToken,
      trigger_id: outbound.issueTrigger(user),
      view: { ...ws.apiView(v), state: { values } },
      response_urls: [],
      is_enterprise_install: false,
      enterprise: null,
    };
    const rec = await outbound.interact(payload);
    const out = outcome(rec);
    if (!rec.delivered) return reply.code(200).send({ ok: true, outcome: 'failed', view_id: v.id, delivery: out });
    const resp = (out.response && typeof out.response === 'object' ? out.response : {}) as Obj;
    switch (resp.response_action) {
      case 'errors':
        v.errors = (resp.errors as Record<string, string> | undefined) ?? {};
        ws.onChange();
        return { ok: true, outcome: 'errors', view_id: v.id, errors: v.errors, delivery: out };
      case 'update': {
        const errs = validateView(resp.view);
        if (errs.length) return { ok: true, outcome: 'invalid_response', errors: errs, view_id: v.id, delivery: out };
        replaceViewContent(ws, v, resp.view as Obj);
        return { ok: true, outcome: 'updated', view_id: v.id, view: ws.apiView(v), delivery: out };
      }
      case 'push': {
        const errs = validateView(resp.view);
        if (errs.length) return { ok: true, outcome: 'invalid_response', errors: errs, view_id: v.id, delivery: out };
        const pushed = storeView(apiCtx(), resp.view as Obj, user, v, v.root_view_id);
        (ws.data.viewStacks[user] ??= []).push(pushed.id);
        ws.onChange();
        return { ok: true, outcome: 'pushed', view_id: pushed.id, view: ws.apiView(pushed), delivery: out };
      }
      case 'clear':
        ws.clearViews(user);
        return { ok: true, outcome: 'cleared', view_id: v.id, delivery: out };
      default:
        ws.closeTopView(user);
        return { ok: true, outcome: 'closed', view_id: v.id, delivery: out };
    }
  });

  app.post('/_admin/views/close', async (req) => {
    const b = closeInput.parse(req.body);
    const user = person(b.user);
    const v = viewFor(user, b.view_id);
    ws.closeTopView(user);
    if (!v.notify_on_close) return { ok: true, notified: false };
    const rec = await outbound.interact({
      type: 'view_closed',
      team: team(),
      user: userObj(user),
      api_app_id: ws.seed.app.id,
      token: outbound.opts.verificationToken,
      view: ws.apiView(v),
      is_cleared: false,
      is_enterprise_install: false,
      enterprise: null,
    });
    return { ok: true, notified: true, delivery: outcome(rec) };
  });

  app.post('/_admin/commands', async (req) => {
    const b = commandInput.parse(req.body);
    const user = person(b.user);
    const ch = channelOf(b.channel);
    const trigger = outbound.issueTrigger(user);
    const responseUrl = outbound.issueResponseUrl({ channel: ch.id, user, source: 'command' });
    ws.onChange();
    const rec = await outbound.command({
      token: outbound.opts.verificationToken,
      team_id: ws.teamId,
      team_domain: ws.seed.team.domain,
      channel_id: ch.id,
      channel_name: ch.is_im ? 'directmessage' : ch.name,
      user_id: user,
      user_name: ws.userName(user),
      command: b.command,
      text: b.text,
      api_app_id: ws.seed.app.id,
      is_enterprise_install: 'false',
      response_url: responseUrl,
      trigger_id: trigger,
    });
    const out = outcome(rec);
    // The immediate answer is shown like a response_url message (ephemeral unless in_channel).
    if (rec.delivered && out.body) applyResponse(responseRecordFor(out.response), ch, user, undefined, 'command');
    return { ok: true, trigger_id: trigger, response_url: responseUrl, delivery: out };
  });

  const responseRecordFor = (r: unknown): Obj => (typeof r === 'string' ? { text: r } : ((r ?? {}) as Obj));

  /** Shows an app's response (response_url post or command answer); returns a short effect description. */
  const applyResponse = (
    body: Obj,
    ch: StoredChannel,
    user: string,
    messageTs: string | undefined,
    source: 'response_url' | 'command',
  ): string => {
    const text = typeof body.text === 'string' ? body.text : '';
    const blocks = Array.isArray(body.blocks) ? (body.blocks as unknown[]) : undefined;
    const original = messageTs ? ws.message(ch, messageTs) : undefined;
    if (body.delete_original === true || body.delete_original === 'true') {
      if (!original) throw new AdminError(404, 'no original message to delete');
      ws.delete(ch, original, ws.botUserId);
      return 'deleted_original';
    }
    if (body.replace_original === true || body.replace_original === 'true') {
      if (!original) throw new AdminError(404, 'no original message to replace');
      ws.edit(ch, original, { text, blocks: blocks ?? null }, ws.seed.bot.bot_id);
      return 'replaced_original';
    }
    if (!text && !blocks) return 'nothing';
    if (body.response_type === 'in_channel') {
      const threadTs =
        typeof body.thread_ts === 'string' && ws.message(ch, body.thread_ts) ? body.thread_ts : undefined;
      ws.post(ch, {
        user: ws.botUserId,
        bot: true,
        text,
        ...(blocks ? { blocks } : {}),
        ...(threadTs ? { thread_ts: threadTs } : {}),
      });
      return 'posted_in_channel';
    }
    ws.data.ephemerals.push({
      channel: ch.id,
      user,
      message_ts: ws.nextTs(),
      text,
      ...(blocks ? { blocks } : {}),
      source,
      at: new Date().toISOString(),
    });
    ws.onChange();
    return 'ephemeral';
  };

  // ---------------- response_url (served like hooks.slack.com) ----------------

  app.post<{ Params: { id: string } }>('/_response/:id', (req, reply) => {
    const rec = ws.data.responseUrls[req.params.id];
    const body = (typeof req.body === 'string' ? safeJson(req.body) : req.body) as Obj | undefined;
    const record = (status: number, effect: string) =>
      ws.data.responsePosts.push({ id: req.params.id, at: new Date().toISOString(), status, body, effect });
    if (!rec) {
      record(404, 'invalid_url');
      return reply.code(404).send('invalid_url');
    }
    // response_url: at most 5 uses within 30 minutes.
    if (Date.now() - rec.createdAt > 30 * 60_000) {
      record(404, 'expired_url');
      return reply.code(404).send('expired_url');
    }
    if (rec.uses >= 5) {
      record(404, 'used_url');
      return reply.code(404).send('used_url');
    }
    if (!body || typeof body !== 'object') {
      record(400, 'invalid_payload');
      return reply.code(400).send('invalid_payload');
    }
    rec.uses += 1;
    const ch = ws.channel(rec.channel);
    if (!ch) throw new AdminError(404, 'channel_not_found');
    const effect = applyResponse(body, ch, rec.user, rec.message_ts, 'response_url');
    record(200, effect);
    ws.onChange();
    return reply.code(200).send({ ok: true });
  });

  // ---------------- faults, limits, config ----------------

  app.post('/_admin/faults', (req) => ({ ok: true, fault: core.faults.add(faultSchema.parse(req.body)) }));
  app.get('/_admin/faults', () => ({ ok: true, faults: core.faults.list() }));
  app.delete('/_admin/faults', () => {
    core.faults.clear();
    return { ok: true };
  });
  app.post('/_admin/rate-limits', (req) => {
    core.rateLimits.enabled = z.object({ enabled: z.boolean() }).parse(req.body).enabled;
    return { ok: true, enabled: core.rateLimits.enabled };
  });
  app.post('/_admin/config', (req) => {
    const b = configInput.parse(req.body);
    if (b.appUrls) outbound.opts.appUrls = { ...b.appUrls };
    if (b.eventRetryDelaysMs) outbound.opts.eventRetryDelaysMs = b.eventRetryDelaysMs;
    if (b.deliveryTimeoutMs) outbound.opts.deliveryTimeoutMs = b.deliveryTimeoutMs;
    if (b.triggerTtlMs) core.triggerTtlMs.value = b.triggerTtlMs;
    return {
      ok: true,
      appUrls: outbound.opts.appUrls,
      eventRetryDelaysMs: outbound.opts.eventRetryDelaysMs,
      deliveryTimeoutMs: outbound.opts.deliveryTimeoutMs,
      triggerTtlMs: core.triggerTtlMs.value,
    };
  });
  app.post('/_admin/url-verification', async () => {
    const r = await outbound.urlVerification();
    return { ok: true, challenge: r.challenge, verified: r.verified, delivery: outcome(r.delivery) };
  });
  app.post('/_admin/uninstall', () => {
    // What Slack does when the app is removed from the workspace: its tokens die, two events are sent.
    core.uninstall();
    return { ok: true };
  });
  app.post('/_admin/reset', () => {
    core.resetAll();
    return { ok: true };
  });
  app.post('/_admin/oauth/code', (req) => {
    const b = z.object({ user: z.string().optional() }).parse(req.body ?? {});
    const user = b.user ?? ws.users().find((u) => u.is_admin)?.id ?? ws.users()[0]?.id ?? '';
    return { ok: true, code: core.issueOAuthCode(person(user)) };
  });

  // ---------------- inspection ----------------

  const inspectMessage = (ch: StoredChannel, m: StoredMessage): Obj => ({
    ...ws.apiMessage(m, { metadata: true }),
    channel: ch.id,
    bot: m.bot,
    ...(m.metadata ? { metadata: m.metadata } : {}),
    ...(m.broadcast ? { reply_broadcast: true } : {}),
    ...(m.deleted ? { deleted: m.deleted } : {}),
    history: m.history,
  });

  app.get('/_admin/channels', () => ({
    ok: true,
    channels: Object.values(ws.data.channels).map((c) => ({
      ...ws.apiChannel(c),
      members: c.members,
      message_count: c.messages.filter((m) => !m.deleted).length,
    })),
  }));

  app.get<{ Params: { id: string }; Querystring: { include_deleted?: string } }>(
    '/_admin/channels/:id/messages',
    (req) => {
      const ch = channelOf(req.params.id);
      const withDeleted = req.query.include_deleted === 'true';
      const shown = ch.messages.filter((m) => withDeleted || !m.deleted);
      // Replies grouped by thread in one pass: the bench polls channels of thousands of threads.
      const replies = new Map<string, StoredMessage[]>();
      for (const r of shown) {
        if (!r.thread_ts || r.thread_ts === r.ts) continue;
        const list = replies.get(r.thread_ts);
        if (list) list.push(r);
        else replies.set(r.thread_ts, [r]);
      }
      return {
        ok: true,
        channel: ch.id,
        messages: shown
          .filter((m) => ws.isTopLevel(m))
          .map((m) => ({
            ...inspectMessage(ch, m),
            replies: (replies.get(m.ts) ?? []).map((r) => inspectMessage(ch, r)),
          })),
      };
    },
  );

  app.get<{ Params: { channel: string; ts: string } }>('/_admin/messages/:channel/:ts', (req) => {
    const ch = channelOf(req.params.channel);
    const m = ch.messages.find((x) => x.ts === req.params.ts);
    if (!m) throw new AdminError(404, `no message ${req.params.ts} in ${ch.id}`);
    return {
      ok: true,
      message: {
        ...inspectMessage(ch, m),
        replies: ws.replies(ch, m.ts).map((r) => inspectMessage(ch, r)),
      },
    };
  });

  app.get('/_admin/ephemerals', () => ({ ok: true, ephemerals: ws.data.ephemerals }));
  app.get('/_admin/responses', () => ({ ok: true, responses: ws.data.responsePosts }));
  app.get('/_admin/views', () => ({
    ok: true,
    views: Object.values(ws.data.views).map((v) => ({
      ...ws.apiView(v),
      user: v.user,
      open: v.open,
      ...(v.errors ? { errors: v.errors } : {}),
    })),
    stacks: ws.data.viewStacks,
  }));
  app.get('/_admin/deliveries', () => ({ ok: true, deliveries: outbound.deliveries }));
  app.get('/_admin/calls', () => ({ ok: true, calls: core.calls }));
  app.get('/_admin/scheduled', () => ({ ok: true, scheduled: ws.data.scheduled }));
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    // response_url also accepts form posts with a `payload` field.
    const p = new URLSearchParams(s).get('payload');
    return p ? safeJson(p) : undefined;
  }
}

/** A submitted value typed the way Slack reports it for that element type. */
function typedValue(el: Element, given: unknown): Obj {
  const type = el.type ?? 'plain_text_input';
  const v = given === undefined || given === null ? null : typeof given === 'string' ? given : JSON.stringify(given);
  switch (type) {
    case 'static_select':
    case 'radio_buttons':
    case 'external_select': {
      const opt = ((el.options as { value: string }[] | undefined) ?? []).find((o) => o.value === v);
      if (v !== null && (el.options as unknown[] | undefined) && !opt)
        throw new AdminError(400, `no option ${v} in ${String(el.action_id)}`);
      return { type, selected_option: opt ?? (v === null ? null : { value: v }) };
    }
    case 'users_select':
      return { type, selected_user: v };
    case 'conversations_select':
      return { type, selected_conversation: v };
    case 'channels_select':
      return { type, selected_channel: v };
    case 'datepicker':
      return { type, selected_date: v };
    case 'timepicker':
      return { type, selected_time: v };
    case 'checkboxes':
    case 'multi_static_select': {
      const vals = Array.isArray(given) ? given.map(String) : v === null ? [] : [v];
      const opts = (el.options as { value: string }[] | undefined) ?? [];
      return { type, selected_options: vals.map((x) => opts.find((o) => o.value === x) ?? { value: x }) };
    }
    case 'multi_users_select':
      return { type, selected_users: Array.isArray(given) ? given : v === null ? [] : [v] };
    default:
      return { type, value: v };
  }
}

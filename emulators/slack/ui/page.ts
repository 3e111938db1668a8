import { classes, confirmDialog, html, json, type Html } from '../../shared/ui/html.js';
import { page } from '../../shared/ui/server.js';
import type { SlackPlatform, Team } from '../platform.js';
import type { EphemeralRecord, StoredChannel, StoredMessage, StoredUser, StoredView, Workspace } from '../workspace.js';
import { renderAttachments, renderBlocks, type BlockContext, type Choice } from './blocks.js';
import { emojiChar, PICKER } from './emoji.js';
import { formatSlackDate, mrkdwn, plainText, type TextContext } from './mrkdwn.js';

/** What one render of the sandbox view shows: a workspace, as a person, one channel, maybe a thread. */
export interface SlackViewState {
  team: Team;
  viewer: StoredUser;
  channel: StoredChannel | undefined;
  threadTs?: string | undefined;
  /** A message to point at (a permalink was opened). */
  highlight?: string | undefined;
}

/** Where the view lives: `/client/<team>/<channel>` (Slack's own client URLs look the same). */
export const clientHref = (team: string, channel?: string, q: Record<string, string | undefined> = {}) => {
  const query = new URLSearchParams(Object.entries(q).filter((e): e is [string, string] => e[1] !== undefined));
  const qs = query.toString();
  return `/client/${team}${channel ? `/${channel}` : ''}${qs ? `?${qs}` : ''}`;
};

/** People who can act: not deactivated, not pending invitees. */
export const activePeople = (ws: Workspace): StoredUser[] => ws.users().filter((u) => !u.deleted && !u.is_invited_user);

const displayName = (u: StoredUser) => u.display_name || u.real_name || u.name;

/** The conversations a person sees: public channels, private ones they are in, their DM with the app. */
export function visibleChannels(ws: Workspace, viewer: string): StoredChannel[] {
  return Object.values(ws.data.channels).filter((c) =>
    c.is_im ? c.im_user === viewer : !c.is_private || c.members.includes(viewer),
  );
}

const domId = (prefix: string, ts: string) => `${prefix}-${ts.replace('.', '-')}`;

/** The whole sandbox page (the live update refetches exactly this and patches `#app`). */
export function renderSlackPage(platform: SlackPlatform, s: SlackViewState): Html {
  const { ws } = s.team;
  const title = s.channel ? `${channelLabel(ws, s.channel)} – ${ws.seed.team.name}` : ws.seed.team.name;
  return page({
    title: `${title} (sandbox Slack)`,
    css: '/_ui/assets/slack.css',
    script: '/_ui/assets/slack.js',
    events: `/_ui/events?team=${encodeURIComponent(ws.teamId)}`,
    body: html`<div id="app" class="${classes('slack', s.threadTs && 'with-thread')}">
      ${topBar(platform, s)} ${sidebar(s)}
      <main id="main" class="channel" aria-label="${s.channel ? channelLabel(ws, s.channel) : 'No channel'}">
        ${s.channel ? channelPane(s, s.channel) : html`<p class="empty">Pick a channel.</p>`}
      </main>
      ${s.channel && s.threadTs ? threadPane(s, s.channel, s.threadTs) : ''} ${modal(s)}
    </div>`,
  });
}

function channelLabel(ws: Workspace, c: StoredChannel): string {
  return c.is_im ? ws.userName(ws.botUserId) : `#${c.name}`;
}

function topBar(platform: SlackPlatform, s: SlackViewState): Html {
  const { ws } = s.team;
  const here = (q: Record<string, string | undefined>) =>
    clientHref(ws.teamId, s.channel?.id, { thread: s.threadTs, ...q });
  return html`<header class="topbar">
    <div class="workspace">
      <label for="team-switcher">Workspace</label>
      <select id="team-switcher" data-navigate>
        ${[...platform.teams.values()].map(
          (t) =>
            html`<option value="${clientHref(t.ws.teamId)}" ${t === s.team ? 'selected' : ''}>
              ${t.ws.seed.team.name}${t.ws.data.installed ? '' : ' (app not installed)'}
            </option>`,
        )}
      </select>
    </div>
    <p class="sandbox-note">Sandbox Slack: what you do here is sent to the app exactly as Slack would send it.</p>
    <div class="acting-as">
      <label for="acting-as">You are</label>
      <select id="acting-as" data-navigate>
        ${activePeople(ws).map(
          (u) =>
            html`<option value="${here({ as: u.id })}" ${u.id === s.viewer.id ? 'selected' : ''}>
              ${u.real_name}${u.is_admin ? ' (admin)' : ''}
            </option>`,
        )}
      </select>
    </div>
  </header>`;
}

function sidebar(s: SlackViewState): Html {
  const { ws } = s.team;
  const mine = visibleChannels(ws, s.viewer.id);
  const item = (c: StoredChannel) => {
    const current = c.id === s.channel?.id;
    const joined = c.members.includes(s.viewer.id);
    return html`<li>
      <a
        href="${clientHref(ws.teamId, c.id)}"
        class="${classes('side-link', !joined && 'not-joined', c.is_archived && 'archived')}"
        ${current ? html`aria-current="page"` : ''}
        >${c.is_im ? html`<span aria-hidden="true">●</span> ${ws.userName(ws.botUserId)}` : html`${c.is_private ? '🔒' : '#'} ${c.name}`}</a
      >
    </li>`;
  };
  const channels = mine.filter((c) => !c.is_im && !c.is_archived);
  const archived = mine.filter((c) => !c.is_im && c.is_archived);
  const dms = mine.filter((c) => c.is_im);
  return html`<nav class="sidebar" aria-label="Conversations">
    <h2 class="side-team">${ws.seed.team.name}</h2>
    <h3 class="side-heading">Channels</h3>
    <ul class="side-list">
      ${channels.map(item)}
    </ul>
    <h3 class="side-heading">Direct messages</h3>
    <ul class="side-list">
      ${dms.length ? dms.map(item) : html`<li class="side-empty">None yet: the app opens them.</li>`}
    </ul>
    ${
      archived.length
        ? html`<h3 class="side-heading">Archived</h3>
            <ul class="side-list">
              ${archived.map(item)}
            </ul>`
        : ''
    }
  </nav>`;
}

/** Everything a render of one person's view needs to turn text and blocks into HTML. */
function contexts(s: SlackViewState) {
  const { ws } = s.team;
  const text: TextContext = {
    userName: (id) => {
      if (id === ws.botUserId) return ws.seed.bot.name;
      const u = ws.user(id);
      return u ? displayName(u) : undefined;
    },
    channelName: (id) => {
      const c = ws.channel(id);
      return c && !c.is_im ? c.name : undefined;
    },
    channelHref: (id) => clientHref(ws.teamId, id),
    timeZone: s.viewer.tz || 'UTC',
    now: Date.now(),
  };
  const people: Choice[] = activePeople(ws).map((u) => ({ id: u.id, label: u.real_name }));
  const conversations: Choice[] = visibleChannels(ws, s.viewer.id)
    .filter((c) => !c.is_im && !c.is_archived)
    .map((c) => ({ id: c.id, label: `#${c.name}` }));
  const admin = (path: string) => `${s.team.prefix}/_admin/${path}`;
  const forMessage = (ch: StoredChannel, m: StoredMessage | undefined, idPrefix: string): BlockContext => ({
    ...text,
    surface: 'message',
    act: m ? { url: admin('click'), body: { user: s.viewer.id, channel: ch.id, ts: m.ts } } : undefined,
    idPrefix,
    people,
    conversations,
  });
  return { text, people, conversations, admin, forMessage };
}

type Ctx = ReturnType<typeof contexts>;

function channelPane(s: SlackViewState, ch: StoredChannel): Html {
  const { ws } = s.team;
  const ctx = contexts(s);
  if (ch.is_private && !ch.is_im && !ch.members.includes(s.viewer.id))
    return html`<p class="empty">${s.viewer.real_name} is not a member of this private channel.</p>`;
  const top = ch.messages.filter((m) => ws.isTopLevel(m) && (!m.deleted || ws.replies(ch, m.ts).length > 0));
  const eph = ws.data.ephemerals.filter((e) => e.channel === ch.id && e.user === s.viewer.id && !e.thread_ts);
  const label = channelLabel(ws, ch);
  return html`<header class="channel-header">
      <h1>${label}</h1>
      ${ch.topic ? html`<p class="channel-topic">${ch.topic}</p>` : ''}
      ${ch.is_im ? html`<p class="channel-topic">Your direct messages with the app</p>` : ''}
    </header>
    <section class="messages" id="messages" aria-label="Messages in ${label}" tabindex="-1">
      ${timeline(s, ch, top, eph, ctx, false)}
    </section>
    ${composer(s, ch, undefined, ctx)}`;
}

/** Messages and the viewer's ephemerals in time order, with Slack's day dividers. */
function timeline(
  s: SlackViewState,
  ch: StoredChannel,
  messages: StoredMessage[],
  ephemerals: EphemeralRecord[],
  ctx: Ctx,
  inThread: boolean,
): Html {
  const items = [
    ...messages.map((m) => ({ ts: m.ts, render: () => message(s, ch, m, ctx, inThread) })),
    ...ephemerals.map((e) => ({ ts: e.message_ts, render: () => ephemeral(s, e, ctx) })),
  ].sort((a, b) => Number(a.ts) - Number(b.ts));
  if (!items.length) return html`<p class="empty">No messages yet.</p>`;
  let lastDay = '';
  return html`${items.map((it) => {
    const day = formatSlackDate(Number(it.ts), '{day_divider_pretty}', ctx.text);
    const divider = !inThread && day !== lastDay ? html`<div class="day-divider" role="separator">${day}</div>` : '';
    lastDay = day;
    return html`${divider}${it.render()}`;
  })}`;
}

function authorOf(s: SlackViewState, m: { user: string; bot?: boolean }): { name: string; app: boolean } {
  const { ws } = s.team;
  if (m.bot || m.user === ws.botUserId) return { name: ws.seed.bot.name, app: true };
  const u = ws.user(m.user);
  return { name: u ? u.real_name : m.user, app: u?.is_bot === true };
}

const initials = (name: string) =>
  name
    .split(/\s+/)
    .map((w) => w[0] ?? '')
    .join('')
    .slice(0, 2)
    .toUpperCase();

function message(s: SlackViewState, ch: StoredChannel, m: StoredMessage, ctx: Ctx, inThread: boolean): Html {
  const { ws } = s.team;
  // The thread pane shows some messages the channel shows too: ids stay unique per pane.
  const id = domId(inThread ? 'thr' : 'msg', m.ts);
  if (m.deleted)
    return html`<article class="msg msg-deleted" id="${id}">
      <div class="avatar" aria-hidden="true"></div>
      <div class="msg-body">
        <p class="muted">This message was deleted.</p>
        ${threadSummary(s, ch, m, inThread)}
      </div>
    </article>`;
  const author = authorOf(s, m);
  const mine = !m.bot && m.user === s.viewer.id;
  const canDelete = mine || s.viewer.is_admin;
  const archived = ch.is_archived;
  const bctx = ctx.forMessage(ch, archived ? undefined : m, id);
  const body =
    m.blocks && m.blocks.length
      ? renderBlocks(m.blocks, bctx)
      : html`<div class="bk-text">${mrkdwn(m.text, ctx.text)}</div>`;
  const time = formatSlackDate(Number(m.ts), '{time}', ctx.text);
  const full = formatSlackDate(Number(m.ts), '{date_long} at {time_secs}', ctx.text);
  const parent = m.broadcast && m.thread_ts ? ws.message(ch, m.thread_ts) : undefined;
  const editId = `${id}-edit`;
  const pickId = `${id}-react`;
  const deleteId = `${id}-delete`;
  const ref = { user: s.viewer.id, channel: ch.id, ts: m.ts };
  return html`<article
    class="${classes('msg', author.app && 'msg-app', s.highlight === m.ts && 'msg-highlight')}"
    id="${id}"
    aria-labelledby="${id}-author"
    data-ts="${m.ts}"
  >
    <div class="avatar" aria-hidden="true">${author.app ? '⚙' : initials(author.name)}</div>
    <div class="msg-body">
      <header class="msg-meta">
        <span class="msg-author" id="${id}-author">${author.name}</span>
        ${author.app ? html`<span class="badge" title="Posted by the app">APP</span>` : ''}
        <time class="msg-time" datetime="${new Date(Number(m.ts) * 1000).toISOString()}" title="${full}">${time}</time>
        ${m.edited ? html`<span class="muted">(edited)</span>` : ''}
      </header>
      ${
        m.broadcast
          ? html`<p class="muted broadcast-note">
              replied to a thread:
              <a href="${clientHref(ws.teamId, ch.id, { thread: m.thread_ts })}"
                >${parent ? parent.text.slice(0, 80) : 'the original message'}</a
              >
            </p>`
          : ''
      }
      <div class="msg-content">${body} ${m.attachments ? renderAttachments(m.attachments, bctx) : ''}</div>
      ${reactions(s, ch, m, ctx)} ${threadSummary(s, ch, m, inThread)}
      ${mine && !archived ? editForm(s, ch, m, editId, ctx) : ''}
    </div>
    ${
      archived
        ? ''
        : html`<div class="msg-actions" role="toolbar" aria-label="Actions for the message by ${author.name}">
              <button
                type="button"
                class="icon-btn"
                data-toggle="${pickId}"
                aria-expanded="false"
                aria-controls="${pickId}"
              >
                Add reaction
              </button>
              ${
                inThread || m.broadcast
                  ? ''
                  : html`<a class="icon-btn" href="${clientHref(ws.teamId, ch.id, { thread: m.ts })}"
                      >Reply in thread</a
                    >`
              }
              ${
                mine
                  ? html`<button
                      type="button"
                      class="icon-btn"
                      data-toggle="${editId}"
                      aria-expanded="false"
                      aria-controls="${editId}"
                    >
                      Edit
                    </button>`
                  : ''
              }
              ${
                canDelete
                  ? html`<button type="button" class="icon-btn" data-confirm="${deleteId}" aria-haspopup="dialog">
                      Delete
                    </button>`
                  : ''
              }
            </div>
            <div class="emoji-picker" id="${pickId}" role="group" aria-label="Pick a reaction" data-panel hidden>
              ${PICKER.map(
                (name) =>
                  html`<button
                    type="button"
                    class="emoji-btn"
                    aria-label="React with ${name.replace(/_/g, ' ')}"
                    data-post="${ctx.admin('reactions')}"
                    data-body="${json({ ...ref, name })}"
                  >
                    ${emojiChar(name)}
                  </button>`,
              )}
            </div>
            ${
              canDelete
                ? confirmDialog({
                    id: deleteId,
                    title: 'Delete message',
                    text: 'Are you sure you want to delete this message? This cannot be undone.',
                    post: ctx.admin('messages/delete'),
                    body: ref,
                  })
                : ''
            }`
    }
  </article>`;
}

function editForm(s: SlackViewState, ch: StoredChannel, m: StoredMessage, id: string, ctx: Ctx): Html {
  return html`<form
    class="edit-form"
    id="${id}"
    data-panel
    hidden
    data-post="${ctx.admin('messages/edit')}"
    data-body="${json({ user: s.viewer.id, channel: ch.id, ts: m.ts })}"
    data-reset="false"
    data-close-on-success
  >
    <label class="visually-hidden" for="${id}-text">Edit message</label>
    <textarea id="${id}-text" name="text" rows="2" data-enter-submits required>${m.text}</textarea>
    <div class="edit-buttons">
      <button type="button" class="bk-btn" data-toggle="${id}">Cancel</button>
      <button type="submit" class="bk-btn bk-primary">Save</button>
    </div>
  </form>`;
}

function reactions(s: SlackViewState, ch: StoredChannel, m: StoredMessage, ctx: Ctx): Html {
  if (!m.reactions.length) return html``;
  const ref = { user: s.viewer.id, channel: ch.id, ts: m.ts };
  return html`<div class="reactions" role="group" aria-label="Reactions">
    ${m.reactions.map((r) => {
      const mine = r.users.includes(s.viewer.id);
      const who = r.users.map((u) => ctx.text.userName(u) ?? u).join(', ');
      return html`<button
        type="button"
        class="${classes('reaction', mine && 'reaction-mine')}"
        aria-pressed="${mine ? 'true' : 'false'}"
        aria-label="${r.name.replace(/_/g, ' ')}: ${r.count} (${who})"
        title="${who} reacted with :${r.name}:"
        ${ch.is_archived ? 'disabled' : ''}
        data-post="${ctx.admin('reactions')}"
        data-method="${mine ? 'DELETE' : 'POST'}"
        data-body="${json({ ...ref, name: r.name })}"
      >
        <span aria-hidden="true">${emojiChar(r.name) ?? `:${r.name}:`}</span> ${r.count}
      </button>`;
    })}
  </div>`;
}

function threadSummary(s: SlackViewState, ch: StoredChannel, m: StoredMessage, inThread: boolean): Html {
  if (inThread || m.thread_ts !== m.ts) return html``;
  const replies = s.team.ws.replies(ch, m.ts);
  if (!replies.length) return html``;
  const last = replies.at(-1)!;
  return html`<a class="thread-summary" href="${clientHref(s.team.ws.teamId, ch.id, { thread: m.ts })}">
    ${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}
    <span class="muted"
      >Last reply ${formatSlackDate(Number(last.ts), '{date_short_pretty} at {time}', contexts(s).text)}</span
    >
  </a>`;
}

function ephemeral(s: SlackViewState, e: EphemeralRecord, ctx: Ctx): Html {
  const ch = s.team.ws.channel(e.channel);
  const bctx: BlockContext = { ...ctx.forMessage(ch!, undefined, domId('eph', e.message_ts)) };
  const body = e.blocks?.length
    ? renderBlocks(e.blocks, bctx)
    : html`<div class="bk-text">${mrkdwn(e.text, ctx.text)}</div>`;
  return html`<article
    class="msg msg-app msg-ephemeral"
    id="${domId('eph', e.message_ts)}"
    aria-label="Only visible to you"
  >
    <div class="avatar" aria-hidden="true">⚙</div>
    <div class="msg-body">
      <header class="msg-meta">
        <span class="msg-author">${s.team.ws.seed.bot.name}</span><span class="badge">APP</span>
        <time class="msg-time">${formatSlackDate(Number(e.message_ts), '{time}', ctx.text)}</time>
        <span class="only-you">Only visible to you</span>
      </header>
      <div class="msg-content">${body}</div>
    </div>
  </article>`;
}

function composer(s: SlackViewState, ch: StoredChannel, threadTs: string | undefined, ctx: Ctx): Html {
  const { ws } = s.team;
  if (ch.is_archived) return html`<p class="composer-note">This channel has been archived: nobody can post here.</p>`;
  const id = threadTs ? `composer-thread-${threadTs.replace('.', '-')}` : `composer-${ch.id}`;
  const label = threadTs ? 'Reply in thread' : `Message ${channelLabel(ws, ch)}`;
  return html`<form
    class="composer"
    data-form="composer"
    data-post="${ctx.admin('messages')}"
    data-commands="${ctx.admin('commands')}"
    data-body="${json({ user: s.viewer.id, channel: ch.id, ...(threadTs ? { thread_ts: threadTs } : {}) })}"
  >
    <label class="visually-hidden" for="${id}">${label}</label>
    <textarea
      id="${id}"
      name="text"
      rows="2"
      data-enter-submits
      placeholder="${threadTs ? 'Reply…' : `${label} (type / for a command, e.g. /threadline help)`}"
    ></textarea>
    ${
      threadTs && !ch.is_im
        ? html`<label class="broadcast"
            ><input type="checkbox" name="reply_broadcast" /> Also send to #${ch.name}</label
          >`
        : ''
    }
    <button type="submit" class="bk-btn bk-primary">Send</button>
  </form>`;
}

function threadPane(s: SlackViewState, ch: StoredChannel, threadTs: string): Html {
  const { ws } = s.team;
  const ctx = contexts(s);
  const parent = ch.messages.find((m) => m.ts === threadTs);
  const close = clientHref(ws.teamId, ch.id);
  if (!parent)
    return html`<aside class="thread" aria-label="Thread">
      <header class="thread-header">
        <h2>Thread</h2>
        <a href="${close}" class="icon-btn">Close thread</a>
      </header>
      <p class="empty">This message is gone.</p>
    </aside>`;
  const replies = ch.messages.filter((m) => m.thread_ts === threadTs && m.ts !== threadTs && !m.deleted);
  const eph = ws.data.ephemerals.filter(
    (e) => e.channel === ch.id && e.user === s.viewer.id && e.thread_ts === threadTs,
  );
  return html`<aside class="thread" aria-label="Thread in ${channelLabel(ws, ch)}">
    <header class="thread-header">
      <h2>Thread <span class="muted">${channelLabel(ws, ch)}</span></h2>
      <a href="${close}" class="icon-btn">Close thread</a>
    </header>
    <div class="thread-messages">
      ${message(s, ch, parent, ctx, true)}
      <p class="thread-count">${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}</p>
      ${timeline(s, ch, replies, eph, ctx, true)}
    </div>
    ${parent.deleted ? '' : composer(s, ch, threadTs, ctx)}
  </aside>`;
}

/** The viewer's top modal, as Slack shows it: title, blocks, field errors under their inputs, Cancel and Submit. */
function modal(s: SlackViewState): Html {
  const { ws } = s.team;
  const v: StoredView | undefined = ws.topView(s.viewer.id);
  if (!v?.open || v.type !== 'modal') return html``;
  const ctx = contexts(s);
  const depth = ws.data.viewStacks[s.viewer.id]?.length ?? 1;
  const ref = { user: s.viewer.id, view_id: v.id };
  const id = `view-${v.id}-${v.hash.replace(/[^A-Za-z0-9]/g, '')}`;
  const bctx: BlockContext = {
    ...ctx.text,
    surface: 'modal',
    act: { url: ctx.admin('click'), body: ref },
    idPrefix: id,
    errors: v.errors,
    people: ctx.people,
    conversations: ctx.conversations,
  };
  const closeText = v.close ? plainText(v.close) : 'Cancel';
  return html`<dialog class="modal" data-modal id="${id}" aria-labelledby="${id}-title">
    <form
      data-form="view"
      data-post="${ctx.admin('views/submit')}"
      data-body="${json(ref)}"
      data-reset="false"
      novalidate
    >
      <header class="modal-header">
        <h2 id="${id}-title">
          ${depth > 1 ? html`<span class="muted" aria-hidden="true">‹ </span>` : ''}${plainText(v.title)}
        </h2>
        <button
          type="button"
          class="icon-btn modal-x"
          aria-label="Close"
          data-post="${ctx.admin('views/close')}"
          data-body="${json(ref)}"
          data-modal-close
        >
          ×
        </button>
      </header>
      <div class="modal-body">${renderBlocks(v.blocks, bctx)}</div>
      <footer class="modal-footer">
        <button type="button" class="bk-btn" data-post="${ctx.admin('views/close')}" data-body="${json(ref)}">
          ${closeText}
        </button>
        ${v.submit ? html`<button type="submit" class="bk-btn bk-primary">${plainText(v.submit)}</button>` : ''}
      </footer>
    </form>
  </dialog>`;
}

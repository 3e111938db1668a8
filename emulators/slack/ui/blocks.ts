import { attr, classes, html, json, type Html } from '../../shared/ui/html.js';
import { emojiChar } from './emoji.js';
import { formatSlackDate, mrkdwn, plainText, textObject, type TextContext } from './mrkdwn.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const textOf = (v: unknown): string => (isObj(v) ? str(v.text) : '');

/** Someone to pick in a users select, or a conversation in a conversations select. */
export interface Choice {
  id: string;
  label: string;
}

/** What rendering a surface needs besides the blocks. */
export interface BlockContext extends TextContext {
  /** `message` (a channel or thread) or `modal`. */
  surface: 'message' | 'modal';
  /**
   * Where an interaction goes: the admin API's click endpoint and the fields naming this message or
   * view and the person acting. Absent: rendered but not interactive (an ephemeral, a deleted message).
   */
  act?: { url: string; body: Obj } | undefined;
  /** Makes element ids unique on the page (a message ts, a view id). */
  idPrefix: string;
  /** Field errors the app answered with `response_action: errors`, by block id. */
  errors?: Record<string, string> | undefined;
  people: Choice[];
  conversations: Choice[];
}

/** A Block Kit surface as HTML, close enough to Slack's rendering to read and use. */
export function renderBlocks(blocks: unknown, ctx: BlockContext): Html {
  let n = 0;
  const id = (what: string) => `${ctx.idPrefix}-${what}-${(n += 1)}`;
  return html`<div class="bk">${list(blocks).map((b) => block(b, ctx, id))}</div>`;
}

type IdGen = (what: string) => string;

function block(b: Obj, ctx: BlockContext, id: IdGen): Html {
  switch (b.type) {
    case 'header':
      return html`<div class="bk-header" role="heading" aria-level="3">${plainText(b.text)}</div>`;
    case 'divider':
      return html`<hr class="bk-divider" />`;
    case 'section':
      return section(b, ctx, id);
    case 'context':
      return html`<div class="bk-context">
        ${list(b.elements).map((e) =>
          e.type === 'image' ? imageAlt(e, 'bk-context-image') : html`<span>${textObject(e, ctx)}</span>`,
        )}
      </div>`;
    case 'actions':
      return html`<div class="bk-actions" role="group" aria-label="Actions">
        ${list(b.elements).map((e) => element(e, b, ctx, id))}
      </div>`;
    case 'image':
      return html`<figure class="bk-image">
        ${b.title ? html`<figcaption>${plainText(b.title)}</figcaption>` : ''} ${imageAlt(b, 'bk-image-alt')}
      </figure>`;
    case 'input':
      return input(b, ctx, id);
    case 'rich_text':
      return html`<div class="bk-rich">${list(b.elements).map((e) => richBlock(e, ctx))}</div>`;
    case 'markdown':
      return html`<div class="bk-markdown">${str(b.text)}</div>`;
    case 'table':
      return table(b, ctx);
    default:
      return html`<div class="bk-unsupported">[${str(b.type) || 'unknown'} block: not shown in the sandbox view]</div>`;
  }
}

/** Images are never loaded (the sandbox is offline): their alt text stands in, as a screen reader reads them. */
function imageAlt(e: Obj, cls: string): Html {
  const alt = str(e.alt_text) || 'image';
  return html`<span class="${cls}" role="img" aria-label="${alt}"><span aria-hidden="true">🖼</span> ${alt}</span>`;
}

function section(b: Obj, ctx: BlockContext, id: IdGen): Html {
  const fields = list(b.fields);
  const accessory = isObj(b.accessory) ? b.accessory : undefined;
  return html`<div class="bk-section">
    <div class="bk-section-body">
      ${b.text ? html`<div class="bk-text">${textObject(b.text, ctx)}</div>` : ''}
      ${
        fields.length
          ? html`<div class="bk-fields">
              ${fields.map((f) => html`<div class="bk-field">${textObject(f, ctx)}</div>`)}
            </div>`
          : ''
      }
    </div>
    ${
      accessory
        ? html`<div class="bk-accessory">
            ${accessory.type === 'image' ? imageAlt(accessory, 'bk-image-alt') : element(accessory, b, ctx, id)}
          </div>`
        : ''
    }
  </div>`;
}

const options = (e: Obj): Obj[] => [...list(e.options), ...list(e.option_groups).flatMap((g) => list(g.options))];

/** The admin click call for this element (`data-post` + `data-body`), or nothing when not interactive. */
function clickAttrs(e: Obj, ctx: BlockContext, extra: Obj = {}) {
  if (!ctx.act || !str(e.action_id)) return undefined;
  return { url: ctx.act.url, body: json({ ...ctx.act.body, action_id: e.action_id, ...extra }) };
}

/** An interactive element inside `actions`, a section accessory or (for buttons) a modal. */
function element(e: Obj, b: Obj, ctx: BlockContext, id: IdGen): Html {
  switch (e.type) {
    case 'button':
      return button(e, ctx, id);
    case 'static_select':
    case 'external_select':
    case 'users_select':
    case 'conversations_select':
    case 'channels_select':
    case 'overflow':
      return messageSelect(e, ctx, id);
    case 'datepicker':
    case 'timepicker':
    case 'datetimepicker':
      return html`<span class="bk-unsupported" title="Pickers in messages are not clickable in the sandbox view"
        >${textOf(e.placeholder) || str(e.initial_date) || str(e.initial_time) || 'date'}</span
      >`;
    default:
      return html`<span class="bk-unsupported">[${str(e.type)} in ${str(b.type)}]</span>`;
  }
}

function button(e: Obj, ctx: BlockContext, id: IdGen): Html {
  const style = str(e.style);
  const cls = classes('bk-btn', style === 'primary' && 'bk-primary', style === 'danger' && 'bk-danger');
  const click = clickAttrs(e, ctx, e.value !== undefined ? { value: e.value } : {});
  const label = plainText(e.text);
  const aria = str(e.accessibility_label) || undefined;
  const url = str(e.url);
  if (!click) return html`<button type="button" class="${cls}" disabled${attr('aria-label', aria)}>${label}</button>`;
  if (isObj(e.confirm)) {
    const dialogId = id('confirm');
    return html`<button
        type="button"
        class="${cls}"
        aria-haspopup="dialog"
        data-confirm="${dialogId}"
        ${attr('aria-label', aria)}
      >
        ${label}</button
      >${confirmDialog(e.confirm, dialogId, click, ctx)}`;
  }
  // A link button still tells the app it was clicked (Slack sends block_actions for it too).
  if (/^https?:/i.test(url))
    return html`<a
      class="${cls}"
      href="${url}"
      target="_blank"
      rel="noopener noreferrer"
      data-post="${click.url}"
      data-body="${click.body}"
      ${attr('aria-label', aria)}
      >${label}</a
    >`;
  return html`<button
    type="button"
    class="${cls}"
    data-post="${click.url}"
    data-body="${click.body}"
    ${attr('aria-label', aria)}
  >
    ${label}
  </button>`;
}

/** Slack's confirm object: a dialog with title, text and the two buttons; only Confirm sends the click. */
function confirmDialog(c: Obj, dialogId: string, click: { url: string; body: string }, ctx: BlockContext): Html {
  const danger = c.style === 'danger';
  return html`<dialog class="confirm" id="${dialogId}" aria-labelledby="${dialogId}-title">
    <h3 id="${dialogId}-title">${plainText(c.title)}</h3>
    <div class="confirm-text">${textObject(c.text, ctx)}</div>
    <div class="confirm-buttons">
      <button type="button" class="bk-btn" data-close>${c.deny ? plainText(c.deny) : 'Cancel'}</button>
      <button
        type="button"
        class="${classes('bk-btn', danger ? 'bk-danger' : 'bk-primary')}"
        data-post="${click.url}"
        data-body="${click.body}"
      >
        ${c.confirm ? plainText(c.confirm) : 'Yes'}
      </button>
    </div>
  </dialog>`;
}

/** Selects in messages act on change: the admin click call with the chosen value. */
function messageSelect(e: Obj, ctx: BlockContext, id: IdGen): Html {
  const click = clickAttrs(e, ctx);
  const type = str(e.type);
  const choices: { value: string; label: Html | string }[] =
    type === 'users_select'
      ? ctx.people.map((p) => ({ value: p.id, label: p.label }))
      : type === 'conversations_select' || type === 'channels_select'
        ? ctx.conversations.map((c) => ({ value: c.id, label: c.label }))
        : options(e).map((o) => ({ value: str(o.value), label: plainText(o.text) }));
  const initial = isObj(e.initial_option) ? str(e.initial_option.value) : str(e.initial_user ?? e.initial_conversation);
  const placeholder = type === 'overflow' ? 'More actions' : textOf(e.placeholder) || 'Select an option';
  const sid = id('select');
  return html`<select
    id="${sid}"
    class="bk-select"
    aria-label="${placeholder}"
    ${click ? html`data-post="${click.url}" data-body="${click.body}" data-field="value"` : html`disabled`}
  >
    <option value="">${type === 'overflow' ? '⋯' : placeholder}</option>
    ${choices.map((c) => html`<option value="${c.value}" ${c.value === initial ? 'selected' : ''}>${c.label}</option>`)}
  </select>`;
}

/** An `input` block of a modal: label, element, hint, and the app's error for it where Slack shows it. */
function input(b: Obj, ctx: BlockContext, id: IdGen): Html {
  const e = isObj(b.element) ? b.element : {};
  const blockId = str(b.block_id);
  const actionId = str(e.action_id);
  const fid = id('field');
  const error = ctx.errors?.[blockId];
  const optional = b.optional === true;
  const described = [b.hint ? `${fid}-hint` : '', `${fid}-error`].filter(Boolean).join(' ');
  const common = {
    fid,
    described,
    invalid: error !== undefined,
    required: !optional,
    data: html`data-block="${blockId}" data-action="${actionId}"`,
  };
  const group = e.type === 'checkboxes' || e.type === 'radio_buttons';
  const label = html`${plainText(b.label)}${optional ? html` <span class="bk-optional">(optional)</span>` : ''}`;
  return html`<div
    class="${classes('bk-input', error !== undefined && 'bk-input-invalid')}"
    data-input-block="${blockId}"
  >
    ${
      group
        ? html`<fieldset aria-describedby="${described}">
            <legend class="bk-label">${label}</legend>
            ${field(e, ctx, common)}
          </fieldset>`
        : html`<label class="bk-label" for="${fid}">${label}</label> ${field(e, ctx, common)}`
    }
    ${b.hint ? html`<p class="bk-hint" id="${fid}-hint">${plainText(b.hint)}</p>` : ''}
    <p class="bk-error" id="${fid}-error" ${error === undefined ? 'hidden' : ''}>${error ?? ''}</p>
  </div>`;
}

interface FieldAttrs {
  fid: string;
  described: string;
  invalid: boolean;
  required: boolean;
  data: Html;
}

function field(e: Obj, ctx: BlockContext, a: FieldAttrs): Html {
  const aria = html`aria-describedby="${a.described}" ${a.invalid ? html`aria-invalid="true"` : ''}
  ${a.required ? html`aria-required="true"` : ''}`;
  const placeholder = textOf(e.placeholder);
  const select = (multiple: boolean, choices: { value: string; label: Html | string }[], initial: string[]) =>
    html`<select
      id="${a.fid}"
      class="bk-select"
      ${multiple ? html`multiple size="5"` : ''}
      ${a.data}
      data-kind="${multiple ? 'multi' : 'single'}"
      ${aria}
    >
      ${multiple ? '' : html`<option value="">${placeholder || 'Select an option'}</option>`}
      ${choices.map((c) => html`<option value="${c.value}" ${initial.includes(c.value) ? 'selected' : ''}>${c.label}</option>`)}
    </select>`;
  const people = ctx.people.map((p) => ({ value: p.id, label: p.label }));
  const convs = ctx.conversations.map((c) => ({ value: c.id, label: c.label }));
  const optionChoices = options(e).map((o) => ({ value: str(o.value), label: plainText(o.text) }));
  const strings = (v: unknown) => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);
  switch (e.type) {
    case 'plain_text_input':
    case 'email_text_input':
    case 'url_text_input':
    case 'number_input': {
      const type = { email_text_input: 'email', url_text_input: 'url', number_input: 'text' }[str(e.type)] ?? 'text';
      const limits = html`${typeof e.max_length === 'number' ? html`maxlength="${e.max_length}"` : ''}
      ${typeof e.min_length === 'number' ? html`minlength="${e.min_length}"` : ''}`;
      const value = str(e.initial_value);
      if (e.multiline === true)
        return html`<textarea
          id="${a.fid}"
          class="bk-textarea"
          rows="4"
          placeholder="${placeholder}"
          ${limits}
          ${a.data}
          data-kind="text"
          ${aria}
        >
${value}</textarea>`;
      return html`<input
        id="${a.fid}"
        class="bk-text-input"
        type="${type}"
        ${e.type === 'number_input' ? html`inputmode="decimal"` : ''}
        value="${value}"
        placeholder="${placeholder}"
        ${limits}
        ${a.data}
        data-kind="text"
        ${aria}
      />`;
    }
    case 'static_select':
    case 'external_select':
      return select(false, optionChoices, isObj(e.initial_option) ? [str(e.initial_option.value)] : []);
    case 'multi_static_select':
    case 'multi_external_select':
      return select(
        true,
        optionChoices,
        list(e.initial_options).map((o) => str(o.value)),
      );
    case 'users_select':
      return select(false, people, strings(e.initial_user));
    case 'multi_users_select':
      return select(true, people, strings(e.initial_users));
    case 'conversations_select':
    case 'channels_select':
      return select(false, convs, strings(e.initial_conversation ?? e.initial_channel));
    case 'multi_conversations_select':
    case 'multi_channels_select':
      return select(true, convs, strings(e.initial_conversations ?? e.initial_channels));
    case 'datepicker':
    case 'timepicker': {
      // The browser's own pickers give Slack's value formats: YYYY-MM-DD and HH:mm.
      const date = e.type === 'datepicker';
      return html`<input
        id="${a.fid}"
        class="bk-text-input"
        type="${date ? 'date' : 'time'}"
        value="${str(date ? e.initial_date : e.initial_time)}"
        ${a.data}
        data-kind="text"
        ${aria}
      />`;
    }
    case 'checkboxes':
    case 'radio_buttons': {
      const multi = e.type === 'checkboxes';
      const initial = multi
        ? list(e.initial_options).map((o) => str(o.value))
        : isObj(e.initial_option)
          ? [str(e.initial_option.value)]
          : [];
      return html`${options(e).map((o, i) => {
        const oid = `${a.fid}-${i}`;
        return html`<div class="bk-choice">
          <input
            id="${oid}"
            type="${multi ? 'checkbox' : 'radio'}"
            name="${a.fid}"
            value="${str(o.value)}"
            ${initial.includes(str(o.value)) ? 'checked' : ''}
            ${a.data}
            data-kind="${multi ? 'checks' : 'radio'}"
          />
          <label for="${oid}">${textObject(o.text, ctx)}</label>
        </div>`;
      })}`;
    }
    default:
      return html`<span class="bk-unsupported">[${str(e.type)} input: not supported by the sandbox view]</span>`;
  }
}

function richBlock(e: Obj, ctx: TextContext): Html {
  switch (e.type) {
    case 'rich_text_section':
      return html`<div class="rt-section">${list(e.elements).map((x) => richInline(x, ctx))}</div>`;
    case 'rich_text_quote':
      return html`<blockquote class="mk-quote">${list(e.elements).map((x) => richInline(x, ctx))}</blockquote>`;
    case 'rich_text_preformatted':
      return html`<pre class="mk-pre">${list(e.elements).map((x) => richInline(x, ctx))}</pre>`;
    case 'rich_text_list': {
      const items = list(e.elements).map((item) => html`<li>${richBlock(item, ctx)}</li>`);
      return e.style === 'ordered'
        ? html`<ol class="rt-list">
            ${items}
          </ol>`
        : html`<ul class="rt-list">
            ${items}
          </ul>`;
    }
    default:
      return html``;
  }
}

function richInline(x: Obj, ctx: TextContext): Html {
  const style = isObj(x.style) ? x.style : {};
  let out: Html;
  switch (x.type) {
    case 'text':
      out = html`${str(x.text)}`;
      break;
    case 'link': {
      const url = str(x.url);
      out = /^(https?:|mailto:)/i.test(url)
        ? html`<a href="${url}" target="_blank" rel="noopener noreferrer">${str(x.text) || url}</a>`
        : html`${str(x.text) || url}`;
      break;
    }
    case 'user':
      out = html`<span class="mention">@${ctx.userName(str(x.user_id)) ?? str(x.user_id)}</span>`;
      break;
    case 'usergroup':
      out = html`<span class="mention">@${str(x.usergroup_id)}</span>`;
      break;
    case 'channel':
      out = html`<a class="mention" href="${ctx.channelHref(str(x.channel_id))}"
        >#${ctx.channelName(str(x.channel_id)) ?? str(x.channel_id)}</a
      >`;
      break;
    case 'broadcast':
      out = html`<span class="mention mention-broadcast">@${str(x.range)}</span>`;
      break;
    case 'emoji': {
      const unicode = str(x.unicode);
      const char = unicode
        ? String.fromCodePoint(...unicode.split('-').map((h) => parseInt(h, 16)))
        : emojiChar(str(x.name));
      out = html`<span title=":${str(x.name)}:">${char ?? `:${str(x.name)}:`}</span>`;
      break;
    }
    case 'date':
      out = html`<time datetime="${new Date(Number(x.timestamp) * 1000).toISOString()}"
        >${formatSlackDate(Number(x.timestamp), str(x.format), ctx)}</time
      >`;
      break;
    default:
      out = html``;
  }
  if (style.code) out = html`<code class="mk-code">${out}</code>`;
  if (style.bold) out = html`<b>${out}</b>`;
  if (style.italic) out = html`<i>${out}</i>`;
  if (style.strike) out = html`<s>${out}</s>`;
  return out;
}

function table(b: Obj, ctx: TextContext): Html {
  const rows = Array.isArray(b.rows) ? (b.rows as unknown[]).filter(Array.isArray) : [];
  const cell = (c: unknown) =>
    isObj(c) && c.type === 'rich_text'
      ? list(c.elements).map((e) => richBlock(e, ctx))
      : html`${textOf(c) || str((c as Obj)?.text)}`;
  return html`<table class="bk-table">
    ${rows.map(
      (r) =>
        html`<tr>
          ${(r as unknown[]).map((c) => html`<td>${cell(c)}</td>`)}
        </tr>`,
    )}
  </table>`;
}

/** Legacy attachments: colour bar, pretext, title, text, fields, footer (and blocks inside). */
export function renderAttachments(attachments: unknown, ctx: BlockContext): Html {
  const named: Record<string, string> = { good: '#2eb67d', warning: '#ecb22e', danger: '#e01e5a' };
  return html`${list(attachments).map((a) => {
    const color = str(a.color);
    const bar = named[color] ?? (/^#?[0-9a-f]{3,6}$/i.test(color) ? `#${color.replace(/^#/, '')}` : '#ddd');
    const titleLink = str(a.title_link);
    return html`<div class="attachment" style="border-left-color: ${bar}">
      ${a.pretext ? html`<div>${mrkdwn(str(a.pretext), ctx)}</div>` : ''}
      ${a.author_name ? html`<div class="attachment-author">${str(a.author_name)}</div>` : ''}
      ${
        a.title
          ? html`<div class="attachment-title">
              ${
                /^https?:/i.test(titleLink)
                  ? html`<a href="${titleLink}" target="_blank" rel="noopener noreferrer">${str(a.title)}</a>`
                  : str(a.title)
              }
            </div>`
          : ''
      }
      ${a.text ? html`<div>${mrkdwn(str(a.text), ctx)}</div>` : ''}
      ${
        list(a.fields).length
          ? html`<div class="bk-fields">
              ${list(a.fields).map(
                (f) => html`<div class="bk-field"><b>${str(f.title)}</b><br />${mrkdwn(str(f.value), ctx)}</div>`,
              )}
            </div>`
          : ''
      }
      ${Array.isArray(a.blocks) ? renderBlocks(a.blocks, ctx) : ''}
      ${a.footer ? html`<div class="bk-context">${str(a.footer)}</div>` : ''}
    </div>`;
  })}`;
}

import { html, raw, type Html } from '../../shared/ui/html.js';
import escapeHtml from 'escape-html';
import { emojiChar } from './emoji.js';

/** What text rendering needs to know about the workspace and the person looking. */
export interface TextContext {
  userName(id: string): string | undefined;
  channelName(id: string): string | undefined;
  /** Where a `#channel` mention leads. */
  channelHref(id: string): string;
  /** The viewer's time zone: `<!date…>` renders in it, as in Slack's clients. */
  timeZone: string;
  /** "Now" in ms, for `{date_pretty}` and `{ago}`. */
  now: number;
}

/** Slack escapes exactly these three in message text; they are decoded before we escape for HTML. */
const decode = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

const SAFE_URL = /^(https?:|mailto:)/i;

/** `:name:` → the emoji, for names we know. */
const emojify = (escaped: string) =>
  escaped.replace(/:([a-z0-9_+'-]+(?:::skin-tone-\d)?):/g, (m: string, name: string) => emojiChar(name) ?? m);

/** Text in a `plain_text` object: escaped, emoji shortcodes replaced when `emoji` is not false. */
export function plainText(obj: unknown): Html {
  const o = (obj ?? {}) as { text?: unknown; emoji?: unknown };
  const text = typeof o.text === 'string' ? o.text : '';
  return o.emoji === false ? html`${text}` : raw(emojify(escapeHtml(text)));
}

/** A text object of either type. */
export function textObject(obj: unknown, ctx: TextContext): Html {
  const o = (obj ?? {}) as { type?: unknown; text?: unknown };
  if (o.type === 'mrkdwn') return mrkdwn(typeof o.text === 'string' ? o.text : '', ctx);
  return plainText(obj);
}

/**
 * Slack's mrkdwn: ```pre```, `code`, *bold*, _italic_, ~strike~, `>` quotes, line breaks,
 * `<@U…>`, `<#C…>`, `<!here>`, `<!subteam^…>`, `<!date^…>`, links `<url|label>` and emoji.
 */
export function mrkdwn(text: string, ctx: TextContext): Html {
  const parts: Html[] = [];
  let last = 0;
  for (const m of text.matchAll(/```([\s\S]*?)```/g)) {
    parts.push(lines(text.slice(last, m.index), ctx));
    parts.push(html`<pre class="mk-pre">${decode((m[1] ?? '').replace(/^\n/, ''))}</pre>`);
    last = m.index + m[0].length;
  }
  parts.push(lines(text.slice(last), ctx));
  return html`<span class="mk">${parts}</span>`;
}

function lines(text: string, ctx: TextContext): Html {
  if (!text) return html``;
  const out: Html[] = [];
  let quote: Html[] = [];
  const flushQuote = () => {
    if (quote.length) out.push(html`<blockquote class="mk-quote">${join(quote)}</blockquote>`);
    quote = [];
  };
  const plain: Html[] = [];
  const flushPlain = () => {
    if (plain.length) out.push(join(plain.splice(0)));
  };
  for (const line of text.split('\n')) {
    const q = /^(?:&gt;|>) ?(.*)$/.exec(line);
    if (q) {
      flushPlain();
      quote.push(inline(q[1] ?? '', ctx));
    } else {
      flushQuote();
      plain.push(inline(line, ctx));
    }
  }
  flushQuote();
  flushPlain();
  return html`${out}`;
}

const join = (items: Html[]) => raw(items.map((h) => h.value).join('<br />'));

/** One line: special `<…>` sequences and code spans are set aside first so no formatting reaches into them. */
function inline(line: string, ctx: TextContext): Html {
  const held: Html[] = [];
  // Private-use characters mark the set-aside pieces: they never occur in text and survive escaping.
  const hold = (h: Html) => `\ue000${held.push(h) - 1}\ue001`;
  let t = line.replace(/<([^<>\n]*)>/g, (_m, inner: string) => hold(angle(inner, ctx)));
  t = t.replace(/`([^`\n]+)`/g, (_m, code: string) => hold(html`<code class="mk-code">${decode(code)}</code>`));
  let out = escapeHtml(decode(t));
  out = out.replace(/(^|[^\p{L}\p{N}*])\*(?!\s)([^*\n]+?)\*(?![\p{L}\p{N}*])/gu, '$1<b>$2</b>');
  out = out.replace(/(^|[^\p{L}\p{N}_])_(?!\s)([^_\n]+?)_(?![\p{L}\p{N}_])/gu, '$1<i>$2</i>');
  out = out.replace(/(^|[^\p{L}\p{N}~])~(?!\s)([^~\n]+?)~(?![\p{L}\p{N}~])/gu, '$1<s>$2</s>');
  out = emojify(out);
  out = out.replace(/\ue000(\d+)\ue001/g, (_m, i: string) => held[Number(i)]?.value ?? '');
  return raw(out);
}

function angle(inner: string, ctx: TextContext): Html {
  const bar = inner.indexOf('|');
  const head = bar < 0 ? inner : inner.slice(0, bar);
  const label = bar < 0 ? undefined : decode(inner.slice(bar + 1));
  if (head.startsWith('@')) {
    const id = head.slice(1);
    return html`<span class="mention" data-user="${id}">@${ctx.userName(id) ?? label ?? id}</span>`;
  }
  if (head.startsWith('#')) {
    const id = head.slice(1);
    return html`<a class="mention" href="${ctx.channelHref(id)}">#${ctx.channelName(id) ?? label ?? id}</a>`;
  }
  if (head.startsWith('!')) {
    const [command = '', ...args] = head.slice(1).split('^');
    if (command === 'date') return dateToken(args, label, ctx);
    if (command === 'subteam') return html`<span class="mention">${label ?? `@${args[0] ?? 'group'}`}</span>`;
    if (['here', 'channel', 'everyone'].includes(command))
      return html`<span class="mention mention-broadcast">@${command}</span>`;
    return html`${label ?? ''}`;
  }
  const url = decode(head);
  const text = label ?? url.replace(/^mailto:/i, '');
  if (!SAFE_URL.test(url)) return html`${text}`;
  return html`<a href="${url}" target="_blank" rel="noopener noreferrer">${text}</a>`;
}

function dateToken(args: string[], fallback: string | undefined, ctx: TextContext): Html {
  const [ts, format = '', link] = args;
  const sec = Number(ts);
  if (!ts || !Number.isFinite(sec)) return html`${fallback ?? ''}`;
  const when = new Date(sec * 1000);
  const shown = html`<time datetime="${when.toISOString()}" title="${fallback ?? when.toISOString()}"
    >${formatSlackDate(sec, format, ctx)}</time
  >`;
  if (link && SAFE_URL.test(link))
    return html`<a href="${link}" target="_blank" rel="noopener noreferrer">${shown}</a>`;
  return shown;
}

const ordinal = (n: number) => {
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10];
  return `${n}${s ?? 'th'}`;
};

/**
 * A `<!date>` / rich-text date format string with its tokens filled in, in the viewer's time zone
 * (Slack's documented tokens: date_num, date_slash, date, date_short, date_long, date_long_full,
 * the _pretty variants, day_divider_pretty, time, time_secs, ago).
 */
export function formatSlackDate(sec: number, format: string, ctx: Pick<TextContext, 'timeZone' | 'now'>): string {
  const d = new Date(sec * 1000);
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: ctx.timeZone,
      year: 'numeric',
      month: 'long',
      day: 'numeric',
      weekday: 'long',
      hour: 'numeric',
      minute: '2-digit',
      second: '2-digit',
      hour12: true,
    })
      .formatToParts(d)
      .map((p) => [p.type, p.value]),
  ) as Record<string, string>;
  const year = Number(parts.year);
  const monthName = parts.month ?? '';
  const day = Number(parts.day);
  const monthNum = new Intl.DateTimeFormat('en-US', { timeZone: ctx.timeZone, month: '2-digit' }).format(d);
  const dayNo = (t: Date) => {
    const p = new Intl.DateTimeFormat('en-CA', { timeZone: ctx.timeZone }).format(t); // YYYY-MM-DD
    return Date.parse(`${p}T00:00:00Z`) / 86_400_000;
  };
  const diff = dayNo(d) - dayNo(new Date(ctx.now));
  const relative = diff === 0 ? 'today' : diff === -1 ? 'yesterday' : diff === 1 ? 'tomorrow' : undefined;
  const dateLong = `${parts.weekday}, ${monthName} ${ordinal(day)}, ${year}`;
  const date = `${monthName} ${ordinal(day)}, ${year}`;
  const dateShort = `${monthName.slice(0, 3)} ${day}, ${year}`;
  const time = `${parts.hour}:${parts.minute} ${parts.dayPeriod}`;
  const thisYear = new Intl.DateTimeFormat('en-US', { timeZone: ctx.timeZone, year: 'numeric' }).format(ctx.now);
  const tokens: Record<string, string> = {
    date_num: `${year}-${monthNum}-${String(day).padStart(2, '0')}`,
    date_slash: `${String(day).padStart(2, '0')}/${monthNum}/${year}`,
    date,
    date_short: dateShort,
    date_long: dateLong,
    date_long_full: `${monthName} ${day}, ${year}`,
    date_pretty: relative ?? date,
    date_short_pretty: relative ?? dateShort,
    date_long_pretty: relative ?? dateLong,
    day_divider_pretty:
      relative ?? (String(year) === thisYear ? `${parts.weekday}, ${monthName} ${ordinal(day)}` : dateLong),
    time,
    time_secs: `${parts.hour}:${parts.minute}:${parts.second} ${parts.dayPeriod}`,
    ago: ago(sec * 1000 - ctx.now),
  };
  const filled = format.replace(/\{([a-z_]+)\}/g, (m, name: string) => tokens[name] ?? m);
  // The relative words start a sentence with a capital, as Slack's clients show them.
  return filled.replace(/^(today|yesterday|tomorrow)/, (w) => w[0]!.toUpperCase() + w.slice(1));
}

function ago(deltaMs: number): string {
  const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ['year', 31_536_000_000],
    ['month', 2_592_000_000],
    ['day', 86_400_000],
    ['hour', 3_600_000],
    ['minute', 60_000],
  ];
  for (const [unit, ms] of units) if (Math.abs(deltaMs) >= ms) return rtf.format(Math.trunc(deltaMs / ms), unit);
  return 'just now';
}

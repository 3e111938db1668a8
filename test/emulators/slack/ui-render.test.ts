import { describe, expect, it } from 'vitest';
import { renderAttachments, renderBlocks, type BlockContext } from '../../../emulators/slack/ui/blocks.js';
import { formatSlackDate, mrkdwn, plainText, type TextContext } from '../../../emulators/slack/ui/mrkdwn.js';

// 2024-02-18T06:39:42Z: Slack's own example timestamp (1392734382 is 2014; this one is a Sunday in 2024).
const TS = 1708238382;
const text: TextContext = {
  userName: (id) => ({ U0BOB: 'Bob', U0TLBOT: 'threadline' })[id],
  channelName: (id) => ({ C0PAYMENTS: 'payments' })[id],
  channelHref: (id) => `/client/T0THREADLN/${id}`,
  timeZone: 'UTC',
  now: TS * 1000 + 3_600_000,
};
const ctx = (over: Partial<BlockContext> = {}): BlockContext => ({
  ...text,
  surface: 'message',
  act: { url: '/_teams/T0THREADLN/_admin/click', body: { user: 'U0BOB', channel: 'C0APPROVAL', ts: '1.000001' } },
  idPrefix: 'm1',
  people: [
    { id: 'U0BOB', label: 'Bob Banker' },
    { id: 'U0CAROL', label: 'Carol Controller' },
  ],
  conversations: [{ id: 'C0PAYMENTS', label: '#payments' }],
  ...over,
});
const md = (s: string) => mrkdwn(s, text).value;
/** The JSON in a rendered data-body attribute. */
const bodies = (h: string) =>
  [...h.matchAll(/data-body="([^"]*)"/g)].map(
    (m) => JSON.parse(m[1]!.replace(/&quot;/g, '"')) as Record<string, unknown>,
  );

describe('sandbox Slack view: mrkdwn', () => {
  it('formats bold, italic, strike and code, but not inside words or code', () => {
    expect(md('*Approved* by _Bob_ ~maybe~ `a*b*c` snake_case_name')).toBe(
      '<span class="mk"><b>Approved</b> by <i>Bob</i> <s>maybe</s> <code class="mk-code">a*b*c</code> snake_case_name</span>',
    );
  });

  it("decodes Slack's three entities once and escapes for HTML: text never becomes markup", () => {
    const out = md('&lt;script&gt;alert(1)&lt;/script&gt; &amp; "quotes" <img src=x onerror=alert(1)>');
    expect(out).not.toContain('<script');
    expect(out).not.toContain('<img');
    expect(out).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;');
  });

  it('renders people, channels, broadcasts, user groups and links; unsafe link schemes stay text', () => {
    const out = md(
      '<@U0BOB> <@U0NOBODY|ghost> <#C0PAYMENTS> <#C0GONE|old> <!here> <!subteam^S01|@oncall> <https://x.example/a?b=1&amp;c=2|the docs> <javascript:alert(1)|click>',
    );
    expect(out).toContain('<span class="mention" data-user="U0BOB">@Bob</span>');
    expect(out).toContain('@ghost');
    expect(out).toContain('<a class="mention" href="/client/T0THREADLN/C0PAYMENTS">#payments</a>');
    expect(out).toContain('#old');
    expect(out).toContain('<span class="mention mention-broadcast">@here</span>');
    expect(out).toContain('@oncall');
    expect(out).toContain(
      '<a href="https://x.example/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">the docs</a>',
    );
    expect(out).not.toContain('javascript:');
    expect(out).toContain('click');
  });

  it('keeps ```pre``` blocks verbatim, turns > lines into quotes and newlines into breaks, and knows common emoji', () => {
    expect(md('before\n```*not bold*\n  kept```\nafter')).toContain('<pre class="mk-pre">*not bold*\n  kept</pre>');
    expect(md('&gt; quoted\n&gt; twice\nplain\nline')).toBe(
      '<span class="mk"><blockquote class="mk-quote">quoted<br />twice</blockquote>plain<br />line</span>',
    );
    expect(md(':white_check_mark: done :custom_thing: at 10:30:45')).toBe(
      '<span class="mk">✅ done :custom_thing: at 10:30:45</span>',
    );
    expect(plainText({ type: 'plain_text', text: 'Go :rocket:', emoji: false }).value).toBe('Go :rocket:');
    expect(plainText({ type: 'plain_text', text: 'Go :rocket: <b>' }).value).toBe('Go 🚀 &lt;b&gt;');
  });

  it("renders <!date> in the viewer's time zone with its fallback as the title", () => {
    const out = md(`Expires <!date^${TS}^{date_short_pretty} at {time}|2024-02-18T06:39:42Z>`);
    expect(out).toContain('title="2024-02-18T06:39:42Z"');
    expect(out).toContain('>Today at 6:39 AM</time');
    expect(md('<!date^nope^{date}|Feb 18>')).toBe('<span class="mk">Feb 18</span>');
  });
});

describe('sandbox Slack view: <!date> tokens', () => {
  const f = (format: string, over: Partial<TextContext> = {}) => formatSlackDate(TS, format, { ...text, ...over });
  it("fills Slack's documented tokens", () => {
    expect(f('{date_num}|{date_slash}|{date}|{date_short}|{date_long}|{date_long_full}')).toBe(
      '2024-02-18|18/02/2024|February 18th, 2024|Feb 18, 2024|Sunday, February 18th, 2024|February 18, 2024',
    );
    expect(f('{time} / {time_secs}')).toBe('6:39 AM / 6:39:42 AM');
    expect(f('{time}', { timeZone: 'Asia/Kolkata' })).toBe('12:09 PM');
    expect(f('{ago}')).toBe('1 hour ago');
    expect(f('{unknown_token}')).toBe('{unknown_token}');
  });
  it('says today, yesterday and tomorrow where Slack does, capitalised at the start', () => {
    expect(f('{date_pretty}')).toBe('Today');
    expect(f('due {date_pretty}', { now: (TS + 86_400) * 1000 })).toBe('due yesterday');
    expect(f('{date_long_pretty}', { now: (TS - 86_400) * 1000 })).toBe('Tomorrow');
    expect(f('{date_pretty}', { now: (TS + 3 * 86_400) * 1000 })).toBe('February 18th, 2024');
    expect(f('{day_divider_pretty}', { now: Date.UTC(2024, 5, 1) })).toBe('Sunday, February 18th');
    expect(f('{day_divider_pretty}', { now: Date.UTC(2025, 5, 1) })).toBe('Sunday, February 18th, 2024');
  });
});

describe('sandbox Slack view: Block Kit', () => {
  const approval = [
    { type: 'header', text: { type: 'plain_text', text: 'Deploy <b>checkout</b>' } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: '*Service*\ncheckout' },
        { type: 'mrkdwn', text: '*Risk*\nlow' },
      ],
      accessory: { type: 'image', image_url: 'https://cdn.example/logo.png', alt_text: 'Checkout logo' },
    },
    { type: 'context', elements: [{ type: 'mrkdwn', text: 'needs <@U0BOB>' }] },
    { type: 'divider' },
    {
      type: 'actions',
      block_id: 'approval_actions',
      elements: [
        {
          type: 'button',
          action_id: 'tl:approval.approve',
          style: 'primary',
          value: 'approval:1',
          text: { type: 'plain_text', text: 'Approve' },
          confirm: {
            title: { type: 'plain_text', text: 'Approve this request?' },
            text: { type: 'mrkdwn', text: 'You are approving *x*.' },
            confirm: { type: 'plain_text', text: 'Approve' },
            deny: { type: 'plain_text', text: 'Cancel' },
          },
        },
        {
          type: 'button',
          action_id: 'tl:approval.reject',
          style: 'danger',
          value: 'approval:1',
          text: { type: 'plain_text', text: 'Reject' },
        },
        {
          type: 'static_select',
          action_id: 'pick',
          placeholder: { type: 'plain_text', text: 'Severity' },
          option_groups: [
            {
              label: { type: 'plain_text', text: 'All' },
              options: [{ text: { type: 'plain_text', text: 'High' }, value: 'high' }],
            },
          ],
          initial_option: { text: { type: 'plain_text', text: 'High' }, value: 'high' },
        },
      ],
    },
    {
      type: 'image',
      image_url: 'https://cdn.example/chart.png',
      alt_text: 'Refunds per day',
      title: { type: 'plain_text', text: 'Refunds' },
    },
    { type: 'video', title: { type: 'plain_text', text: 'x' } },
  ];

  it('renders header, fields, context, divider and actions with their styles; images by alt text, never loaded', () => {
    const out = renderBlocks(approval, ctx()).value;
    expect(out).toContain(
      '<div class="bk-header" role="heading" aria-level="3">Deploy &lt;b&gt;checkout&lt;/b&gt;</div>',
    );
    expect(out.match(/class="bk-field"/g)).toHaveLength(2);
    expect(out).toContain('role="img" aria-label="Checkout logo"');
    expect(out).toContain('role="img" aria-label="Refunds per day"');
    expect(out).not.toMatch(/<img|cdn\.example/);
    expect(out).toContain('<hr class="bk-divider" />');
    expect(out).toContain('class="bk-btn bk-primary"');
    expect(out).toContain('class="bk-btn bk-danger"');
    expect(out).toContain('[video block: not shown in the sandbox view]');
  });

  it('makes every element send the admin click the emulator matches on (action_id, button value, option value)', () => {
    const out = renderBlocks(approval, ctx()).value;
    const base = { user: 'U0BOB', channel: 'C0APPROVAL', ts: '1.000001' };
    expect(bodies(out)).toEqual([
      // Approve has a confirm: its click sits on the dialog's confirm button, not on the button itself.
      { ...base, action_id: 'tl:approval.approve', value: 'approval:1' },
      { ...base, action_id: 'tl:approval.reject', value: 'approval:1' },
      { ...base, action_id: 'pick' },
    ]);
    expect(out).toMatch(/<button[^>]*data-confirm="m1-confirm-\d+"/);
    expect(out).toMatch(/<dialog class="confirm" id="m1-confirm-\d+"/);
    expect(out).toContain('data-field="value"');
    expect(out).toMatch(/<option value="high" selected>High<\/option>/);
  });

  it('is not interactive without a place to send clicks (an ephemeral, an archived channel)', () => {
    const out = renderBlocks(approval, ctx({ act: undefined })).value;
    expect(out).not.toContain('data-post');
    expect(out).toMatch(/<button type="button" class="bk-btn bk-primary" disabled>/);
  });

  it("renders modal inputs with labels, hints, optional markers, and the app's error under its field", () => {
    const blocks = [
      {
        type: 'input',
        block_id: 'title',
        label: { type: 'plain_text', text: 'Title' },
        element: { type: 'plain_text_input', action_id: 'title', max_length: 150 },
      },
      {
        type: 'input',
        block_id: 'approvers',
        label: { type: 'plain_text', text: 'Approvers' },
        element: { type: 'multi_users_select', action_id: 'approvers', initial_users: ['U0CAROL'] },
      },
      {
        type: 'input',
        block_id: 'expire_after',
        optional: true,
        label: { type: 'plain_text', text: 'Expires after' },
        hint: { type: 'plain_text', text: 'e.g. 30m, 2h, 1d' },
        element: { type: 'plain_text_input', action_id: 'expire_after' },
      },
      {
        type: 'input',
        block_id: 'kind',
        label: { type: 'plain_text', text: 'Kind' },
        element: {
          type: 'radio_buttons',
          action_id: 'kind',
          options: [{ text: { type: 'plain_text', text: 'Refund' }, value: 'refund' }],
        },
      },
    ];
    const out = renderBlocks(
      blocks,
      ctx({ surface: 'modal', errors: { expire_after: 'A duration like 30m, 2h or 1d.' } }),
    ).value;
    // Required fields say so; the optional one is marked like Slack does.
    expect(out).toMatch(/<label class="bk-label" for="m1-field-1">Title<\/label>/);
    expect(out).toMatch(
      /id="m1-field-1"[^>]*maxlength="150"[^>]*data-block="title" data-action="title"[^>]*aria-required="true"/s,
    );
    expect(out).toContain('Expires after <span class="bk-optional">(optional)</span>');
    // The error is under its own field, tied to it for screen readers; the others have none.
    const expires = /<input\s+id="(m1-field-\d+)"[^>]*data-block="expire_after"[^>]*>/s.exec(out)![0];
    expect(expires).toContain('aria-invalid="true"');
    expect(expires).toMatch(/aria-describedby="m1-field-\d+-hint m1-field-\d+-error"/);
    expect(out).toMatch(/<p class="bk-error" id="m1-field-\d+-error" >A duration like 30m, 2h or 1d\.<\/p>/);
    expect(out.match(/<p class="bk-error"[^>]*hidden>/g)).toHaveLength(3);
    // People to pick, with the initial one selected; radio buttons in a labelled group.
    expect(out).toMatch(/<select[^>]*multiple[^>]*data-block="approvers"/s);
    expect(out).toMatch(/<option value="U0CAROL" selected>Carol Controller<\/option>/);
    expect(out).toMatch(/<fieldset[^>]*>\s*<legend class="bk-label">Kind<\/legend>/);
  });

  it("renders people's rich_text (styles, links, mentions, lists, quotes, code) and legacy attachments", () => {
    const rich = [
      {
        type: 'rich_text',
        elements: [
          {
            type: 'rich_text_section',
            elements: [
              { type: 'text', text: 'hey ' },
              { type: 'user', user_id: 'U0BOB' },
              { type: 'text', text: ' bold', style: { bold: true } },
              { type: 'link', url: 'https://x.example', text: 'docs' },
              { type: 'emoji', name: 'tada', unicode: '1f389' },
            ],
          },
          {
            type: 'rich_text_list',
            style: 'ordered',
            elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text: 'one' }] }],
          },
          { type: 'rich_text_quote', elements: [{ type: 'text', text: 'quoted' }] },
          { type: 'rich_text_preformatted', elements: [{ type: 'text', text: 'x = 1' }] },
        ],
      },
    ];
    const out = renderBlocks(rich, ctx()).value;
    expect(out).toContain('<span class="mention">@Bob</span>');
    expect(out).toContain('<b> bold</b>');
    expect(out).toContain('<a href="https://x.example" target="_blank" rel="noopener noreferrer">docs</a>');
    expect(out).toContain('🎉');
    expect(out).toMatch(/<ol class="rt-list">\s*<li><div class="rt-section">one<\/div><\/li>\s*<\/ol>/);
    expect(out).toContain('<blockquote class="mk-quote">quoted</blockquote>');
    expect(out).toContain('<pre class="mk-pre">x = 1</pre>');

    const att = renderAttachments(
      [{ color: 'danger', title: 'Failed', text: '*pay_1* declined', fields: [{ title: 'Amount', value: '₹500' }] }],
      ctx(),
    ).value;
    expect(att).toContain('border-left-color: #e01e5a');
    expect(att).toContain('<b>pay_1</b> declined');
    expect(att).toContain('<b>Amount</b>');
    expect(renderAttachments([{ color: 'red;background:url(x)' }], ctx()).value).toContain('border-left-color: #ddd');
  });
});

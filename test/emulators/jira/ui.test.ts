import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventStream } from '../sse.js';
import { adf, start, type Started } from './helpers.js';

describe('sandbox Jira view: pages and the live stream', () => {
  let s: Started;
  beforeAll(async () => {
    s = await start({ rateLimits: false });
  });
  afterAll(async () => {
    await s?.emu.stop();
  });
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${s.emu.url}${path}`, { headers });

  it('lists issues at / and shows one at /browse/<KEY> (Jira’s own URL), with what people wrote as text', async () => {
    const created = await s.client.issues.createIssue({
      fields: {
        project: { key: 'OPS' },
        issuetype: { name: 'Bug' },
        summary: 'Refund <img src=x onerror=alert(1)> stuck',
        description: adf('Charged *twice* <script>x</script>'),
      },
    });
    await s.admin.addComment(created.key, 'bob@example.com', 'On it');
    const list = await get('/?project=OPS');
    expect(list.status).toBe(200);
    expect(list.headers.get('content-security-policy')).toContain("script-src 'self'");
    const listed = await list.text();
    expect(listed).toContain(`<a href="/browse/${created.key}">Refund &lt;img src=x onerror=alert(1)&gt; stuck</a>`);
    expect(listed).toMatch(/lozenge-new">To Do</);

    const page = await (await get(`/browse/${created.key}`)).text();
    expect(page).toContain('Charged *twice* &lt;script&gt;x&lt;/script&gt;');
    expect(page).not.toContain('<script>x');
    expect(page).toContain('<b>Bob Banker</b>');
    // The transitions Jira offers from To Do, each as the admin call that performs it.
    expect(page).toMatch(/data-post="\/_admin\/issues\/OPS-\d+\/transition"[^>]*>\s*Start progress/);
    expect(page).not.toMatch(/>\s*Reopen\s*</);
  });

  it('acts as the person asked for, remembered in a cookie; bad addresses get a page saying why', async () => {
    const res = await get('/?as=carol@example.com');
    expect(res.headers.get('set-cookie')).toBe('tl_jira_as=712020%3Acarol; Path=/; SameSite=Strict');
    expect(await res.text()).toContain('Create issue as Carol Controller');
    expect(await (await get('/', { cookie: 'tl_jira_as=712020%3Acarol' })).text()).toContain(
      '&quot;as&quot;:&quot;712020:carol&quot;',
    );
    const cases: [string, number, string][] = [
      ['/?as=mallory@example.com', 400, 'mallory@example.com is not an active person of this Jira site.'],
      ['/?project=NOPE', 404, 'There is no project NOPE.'],
      ['/browse/OPS-999', 404, 'Issue OPS-999 does not exist.'],
    ];
    for (const [path, status, text] of cases) {
      const r = await get(path);
      expect(r.status, path).toBe(status);
      expect(await r.text(), path).toContain(text);
    }
  });

  it('tells open pages when anything changed (REST or people), and stops with a page still listening', async () => {
    expect((await get('/_ui/events?site=other')).status).toBe(404);
    const stream = await openEventStream(`${s.emu.url}/_ui/events?site=jira`);
    try {
      const issue = await s.client.issues.createIssue({
        fields: { project: { key: 'SUP' }, issuetype: { name: 'Task' }, summary: 'From REST' },
      });
      await stream.next('change');
      await s.admin.transitionIssue(issue.key, 'dave@example.com', 'In Progress');
      await stream.next('change');
    } finally {
      stream.close();
    }
    const other = await start();
    const open = await openEventStream(`${other.emu.url}/_ui/events?site=jira`);
    try {
      await other.emu.stop();
    } finally {
      open.close();
    }
  });
});

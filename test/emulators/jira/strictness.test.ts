import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EMAIL, TOKEN, adf, start, type Started } from './helpers.js';

/**
 * The Jira emulator refuses what Jira Cloud refuses, with Jira's error bodies
 * (`{errorMessages: [...], errors: {field: message}}`), where the REST v3 reference
 * (https://developer.atlassian.com/cloud/jira/platform/rest/v3/) or Atlassian's own answers say so.
 */
describe('Jira emulator strictness (issue 15)', () => {
  let s: Started;
  const basic = `Basic ${Buffer.from(`${EMAIL}:${TOKEN}`).toString('base64')}`;
  const rest = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${s.emu.url}/rest/api/3${path}`, {
      method,
      headers: { authorization: basic, 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      // Jira answers some statuses (401) with plain text; the test compares the text then.
    }
    return { status: res.status, body: json };
  };
  const createIssue = (fields: Record<string, unknown>) =>
    rest('POST', '/issue', { fields: { project: { key: 'OPS' }, issuetype: { name: 'Task' }, ...fields } });

  beforeAll(async () => {
    s = await start({ rateLimits: false });
  });
  afterAll(() => s.emu.stop());
  beforeEach(async () => {
    await s.admin.reset();
  });

  it('summary: 255 characters at most, on create and on edit, answered as a field error', async () => {
    // Jira's summary field is limited to 255 characters; a longer one is a 400 naming the field
    // (errors.summary), never a truncation.
    const tooLong = await createIssue({ summary: 's'.repeat(256) });
    expect(tooLong).toEqual({
      status: 400,
      body: { errorMessages: [], errors: { summary: 'Summary must be less than 255 characters.' } },
    });
    expect(await s.admin.issues()).toEqual([]);
    const ok = await createIssue({ summary: 's'.repeat(255) });
    expect(ok.status).toBe(201);
    const key = (ok.body as { key: string }).key;
    expect(await rest('PUT', `/issue/${key}`, { fields: { summary: 'e'.repeat(256) } })).toEqual({
      status: 400,
      body: { errorMessages: [], errors: { summary: 'Summary must be less than 255 characters.' } },
    });
    expect((await s.admin.issue(key)).fields.summary).toBe('s'.repeat(255));
  });

  it('descriptions and comments: 32,767 characters at most (jira.text.field.character.limit)', async () => {
    // What Jira Cloud answers (quoted from its 400s): {"errorMessages":[],"errors":{"comment":"The entered text is
    // too long. It exceeds the allowed limit of 32,767 characters."}} and the same under "description".
    const message = 'The entered text is too long. It exceeds the allowed limit of 32,767 characters.';
    expect(await createIssue({ summary: 'x', description: adf('d'.repeat(32_800)) })).toEqual({
      status: 400,
      body: { errorMessages: [], errors: { description: message } },
    });
    const created = await createIssue({ summary: 'x', description: adf('short') });
    const key = (created.body as { key: string }).key;
    expect(await rest('POST', `/issue/${key}/comment`, { body: adf('c'.repeat(32_800)) })).toEqual({
      status: 400,
      body: { errorMessages: [], errors: { comment: message } },
    });
    const fits = await rest('POST', `/issue/${key}/comment`, { body: adf('c'.repeat(32_000)) });
    expect(fits.status).toBe(201);
    const id = (fits.body as { id: string }).id;
    expect(await rest('PUT', `/issue/${key}/comment/${id}`, { body: adf('c'.repeat(32_800)) })).toEqual({
      status: 400,
      body: { errorMessages: [], errors: { comment: message } },
    });
    expect((await s.admin.issue(key)).comments).toHaveLength(1);
  });

  it('/search/jql refuses unbounded JQL (no search restriction), GET and POST; /search is gone (410)', async () => {
    // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/ (jql): "For performance
    // reasons, this parameter requires a bounded query. A bounded query is a query with a search restriction."
    await createIssue({ summary: 'one' });
    const unbounded = {
      status: 400,
      body: {
        errorMessages: ['Unbounded JQL queries are not allowed here. Please add a search restriction to your query.'],
        errors: {},
      },
    };
    expect(await rest('GET', `/search/jql?jql=${encodeURIComponent('ORDER BY created DESC')}`)).toEqual(unbounded);
    expect(await rest('POST', '/search/jql', { jql: 'order by key' })).toEqual(unbounded);
    expect(await rest('POST', '/search/jql', { jql: '' })).toEqual(unbounded);
    const bounded = await rest('POST', '/search/jql', {
      jql: 'project = OPS ORDER BY created DESC',
      fields: ['summary'],
    });
    expect(bounded.status).toBe(200);
    expect((bounded.body as { issues: unknown[] }).issues).toHaveLength(1);
    // The legacy endpoint was removed (CHANGE-2046): 410 with the migration message.
    const legacy = await rest('GET', `/search?jql=${encodeURIComponent('project = OPS')}`);
    expect(legacy.status).toBe(410);
    expect((legacy.body as { errorMessages: string[] }).errorMessages[0]).toMatch(
      /migrate to the \/rest\/api\/3\/search\/jql API/,
    );
  });

  it('credentials only in the Authorization header: query-string or body credentials are 401', async () => {
    // https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/: build "useremail:api_token",
    // base64-encode it and "Supply an Authorization header with content Basic followed by the encoded string."
    const noHeader = { authorization: '' };
    const query = `?os_username=${encodeURIComponent(EMAIL)}&os_password=${encodeURIComponent(TOKEN)}`;
    const refused = { status: 401, body: 'Client must be authenticated to access this resource.' };
    expect(await rest('GET', `/myself${query}`, undefined, noHeader)).toEqual(refused);
    expect(await rest('POST', '/issue', { email: EMAIL, apiToken: TOKEN, fields: {} }, noHeader)).toEqual(refused);
    expect((await rest('GET', '/myself')).status).toBe(200);
    expect(await s.admin.issues()).toEqual([]);
  });
});

import { expect } from 'vitest';

/**
 * The console over plain HTTP, as a browser would use it: logs in with the API key (form post),
 * keeps the session cookie, reads the form token from the pages, and posts forms with the
 * console's own Origin. Used by tests that drive console routes without a browser.
 */
export async function consoleClient(api: string, apiKey: string) {
  const origin = new URL(api).origin;
  const login = await fetch(`${api}/console/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
    body: new URLSearchParams({ apiKey }).toString(),
    redirect: 'manual',
  });
  expect(login.status).toBe(303);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  expect(cookie).toMatch(/^tl_console=v1\./);

  const get = async (path: string) => {
    const res = await fetch(`${api}${path}`, { headers: { cookie }, redirect: 'manual' });
    return { status: res.status, html: await res.text() };
  };
  const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  return {
    cookie,
    get,
    csrfOf,
    /** Posts a console form (with this session's token unless `csrf` says otherwise). */
    async post(path: string, opts: { csrf?: string | null; origin?: string } = {}) {
      const token = opts.csrf === undefined ? csrfOf((await get('/console/failures')).html) : opts.csrf;
      const res = await fetch(`${api}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, origin: opts.origin ?? origin },
        body: new URLSearchParams(token ? { _csrf: token } : {}).toString(),
        redirect: 'manual',
      });
      return { status: res.status, html: await res.text() };
    },
  };
}

/** The failures page's row of one failure id (its Retry form posts to `/console/failures/<id>/retry`). */
export function retryFormOf(html: string, failureId: string): boolean {
  return html.includes(`action="/console/failures/${failureId}/retry"`);
}

import type { DemoContext } from '../../demo.js';

/** The demo's API client: JSON in and out with the sandbox key; anything but 2xx throws with the answer. */
export function demoApi(ctx: DemoContext) {
  const headers = { authorization: `Bearer ${ctx.apiKey}`, 'content-type': 'application/json' };
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${ctx.apiUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
}

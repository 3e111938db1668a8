/** An open server-sent-event stream of a sandbox view, read frame by frame. */
export interface EventStream {
  /** Resolves with the next `event: <name>` frame's data; rejects after timeoutMs. */
  next(name: string, timeoutMs?: number): Promise<string>;
  close(): void;
}

/** Connects to `url`; resolves once the server answered with an event stream. */
export async function openEventStream(url: string): Promise<EventStream> {
  const abort = new AbortController();
  const res = await fetch(url, { signal: abort.signal, headers: { accept: 'text/event-stream' } });
  if (res.status !== 200 || !res.headers.get('content-type')?.startsWith('text/event-stream'))
    throw new Error(`${url}: ${res.status} ${res.headers.get('content-type') ?? ''}`);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const frames: { event: string; data: string }[] = [];
  const waiters: (() => void)[] = [];
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let i: number;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const raw = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const event = /^event: (.*)$/m.exec(raw)?.[1];
          if (event) frames.push({ event, data: /^data: (.*)$/m.exec(raw)?.[1] ?? '' });
          waiters.splice(0).forEach((w) => w());
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return {
    async next(name, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const i = frames.findIndex((f) => f.event === name);
        if (i >= 0) return frames.splice(i, 1)[0]!.data;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no '${name}' event within ${timeoutMs} ms`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
    },
    close: () => abort.abort(),
  };
}

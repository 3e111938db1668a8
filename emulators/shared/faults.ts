import { z } from 'zod';

/**
 * A fault armed through an emulator's admin API. It applies to the next `count` calls of `method`
 * (a Slack method like `chat.postMessage`, or a Jira route key like `POST /rest/api/3/issue/{key}/comment`,
 * or `*` for every call):
 * - `error`: platform error (Slack: HTTP 200 `{ok:false,error}`; Jira: `status` + errorMessages)
 * - `status`: bare HTTP status (e.g. 500, 503)
 * - `ratelimit`: HTTP 429 with `Retry-After: retryAfter`
 * - `commit_then_timeout`: apply the call, then destroy the socket without answering
 * - `latency`: delay the answer by `latencyMs`, then answer normally
 *
 * `channel` (Slack) narrows a fault to calls addressed to one conversation (an id; a user id
 * matches that person's DM), so a test can break one channel while alerts elsewhere still land.
 */
export const faultSchema = z.object({
  method: z.string().min(1),
  kind: z.enum(['error', 'status', 'ratelimit', 'commit_then_timeout', 'latency']),
  count: z.number().int().positive().default(1),
  error: z.string().optional(),
  status: z.number().int().min(100).max(599).optional(),
  retryAfter: z.number().int().nonnegative().optional(),
  latencyMs: z.number().int().nonnegative().optional(),
  channel: z.string().min(1).optional(),
});
export type Fault = z.infer<typeof faultSchema>;

export class FaultRegistry {
  private faults: Fault[] = [];

  add(input: unknown): Fault {
    const fault = faultSchema.parse(input);
    this.faults.push({ ...fault });
    return fault;
  }

  /**
   * Consumes one use of the first fault matching `method` (exact name first, then `*`) and, for
   * faults that name a `channel`, the call's conversation.
   */
  take(method: string, call: { channel?: string } = {}): Fault | undefined {
    const applies = (f: Fault) => f.channel === undefined || f.channel === call.channel;
    const idx = this.faults.findIndex((f) => f.method === method && applies(f));
    const i = idx >= 0 ? idx : this.faults.findIndex((f) => f.method === '*' && applies(f));
    if (i < 0) return undefined;
    const f = this.faults[i]!;
    f.count -= 1;
    if (f.count <= 0) this.faults.splice(i, 1);
    return f;
  }

  list(): Fault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  clear(): void {
    this.faults = [];
  }
}

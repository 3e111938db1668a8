import { createHmac, randomUUID } from 'node:crypto';
import { deliverWithRetries, type DeliveryRecord } from '../shared/delivery.js';
import type { JiraEvent } from './store.js';

export interface JiraDelivery extends DeliveryRecord {
  /** `X-Atlassian-Webhook-Identifier`: one per (event, URL), constant across retries and redeliveries. */
  identifier: string;
  webhookEvent: string;
  issueEventTypeName?: string;
  createdAt: string;
  /** Still being attempted (first delivery or retries pending). */
  pending: boolean;
}

/** Jira retries 408, 409, 425, 429 and 5xx (plus timeouts/connection errors); other 4xx are final. */
export const jiraRetryOn = (s: number) => s === 408 || s === 409 || s === 425 || s === 429 || s >= 500;

export interface WebhookConfig {
  urls: string[];
  secret?: string | undefined;
  retryDelaysMs: number[];
  timeoutMs: number;
}

export class WebhookDispatcher {
  readonly deliveries: JiraDelivery[] = [];
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(
    readonly config: WebhookConfig,
    private readonly logger?: { warn(...a: unknown[]): void },
  ) {}

  dispatch(event: JiraEvent): void {
    const body = JSON.stringify(event.payload);
    for (const url of this.config.urls) {
      const identifier = randomUUID();
      const rec: JiraDelivery = {
        id: identifier,
        identifier,
        url,
        kind: event.webhookEvent,
        webhookEvent: event.webhookEvent,
        body,
        attempts: [],
        delivered: false,
        pending: true,
        createdAt: new Date().toISOString(),
      };
      const typeName = event.payload.issue_event_type_name;
      if (typeof typeName === 'string') rec.issueEventTypeName = typeName;
      this.deliveries.push(rec);
      this.send(rec);
    }
  }

  redeliver(id: string): JiraDelivery | undefined {
    const rec = this.deliveries.find((d) => d.id === id);
    if (!rec) return undefined;
    rec.pending = true;
    this.send(rec);
    return rec;
  }

  private send(rec: JiraDelivery) {
    // Retry numbering continues across redeliveries: a redelivery is another retry of the same event.
    const base = rec.attempts.length;
    const p = deliverWithRetries(
      {
        id: rec.id,
        url: rec.url,
        kind: rec.kind,
        body: rec.body,
        timeoutMs: this.config.timeoutMs,
        retryDelaysMs: [...this.config.retryDelaysMs],
        retryOn: jiraRetryOn,
        headers: (attempt) => this.headers(rec, base + attempt),
      },
      rec,
    )
      .then((r) => {
        rec.pending = false;
        if (!r.delivered) this.logger?.warn(`jira emulator: webhook ${rec.id} to ${rec.url} not delivered`);
      })
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  private headers(rec: JiraDelivery, retry: number): Record<string, string> {
    const h: Record<string, string> = {
      'Content-Type': 'application/json; charset=utf-8',
      'User-Agent': 'Atlassian Webhook HTTP Client',
      'X-Atlassian-Webhook-Identifier': rec.identifier,
    };
    if (retry > 0) h['X-Atlassian-Webhook-Retry'] = String(retry);
    if (this.config.secret) {
      h['X-Hub-Signature'] = `sha256=${createHmac('sha256', this.config.secret).update(rec.body).digest('hex')}`;
    }
    return h;
  }

  /** Waits for in-flight deliveries (used on stop so a final retry is not cut mid-request). */
  async drain(timeoutMs: number): Promise<void> {
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => setTimeout(r, timeoutMs))]);
  }

  clear() {
    this.deliveries.length = 0;
  }
}

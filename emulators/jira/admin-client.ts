import type { Fault } from '../shared/faults.js';
import type { JiraDelivery } from './webhooks.js';
import type { CallLogEntry } from './server.js';

/** Person reference for the admin API: email or accountId. */
export type Person = string;

export interface AdminIssueView {
  id: string;
  key: string;
  self: string;
  fields: Record<string, unknown> & { summary: string; status: { id: string; name: string } };
  comments: {
    id: string;
    body: unknown;
    author: { accountId: string } | null;
    properties: { key: string; value: unknown }[];
  }[];
  changelog: { id: string; author: { accountId: string } | null; created: string; items: Record<string, unknown>[] }[];
  properties: Record<string, unknown>;
}
export interface AdminDelivery extends JiraDelivery {
  payload: Record<string, unknown>;
}
export type FaultInput = Partial<Fault> & Pick<Fault, 'method' | 'kind'>;

/** Typed wrapper over the emulator's `/_admin` API (acting as people, faults, inspection). */
export class JiraEmulatorAdmin {
  constructor(private readonly baseUrl: string) {}

  private async req<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}/_admin${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`jira emulator admin ${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  // ---- acting as people (these emit the same webhooks as REST changes) ----
  createIssue(input: {
    as: Person;
    project: string;
    summary: string;
    description?: string;
    issuetype?: string;
    assignee?: Person | null;
    priority?: string;
    labels?: string[];
    components?: string[];
    /** Key of the parent issue; required when `issuetype` is `Sub-task`. */
    parent?: string;
  }): Promise<AdminIssueView> {
    return this.req('POST', '/issues', input);
  }
  /** Deletes an issue as a person (sends `jira:issue_deleted` per removed issue, sub-tasks first). */
  deleteIssue(
    key: string,
    as: Person,
    opts: { deleteSubtasks?: boolean } = {},
  ): Promise<{ ok: true; deleted: string[] }> {
    return this.req('DELETE', `/issues/${key}`, { as, deleteSubtasks: opts.deleteSubtasks === true });
  }
  editIssue(key: string, as: Person, fields: Record<string, unknown>): Promise<AdminIssueView> {
    return this.req('POST', `/issues/${key}/edit`, { as, fields });
  }
  /** `to`: target status name, transition name or transition id. */
  transitionIssue(key: string, as: Person, to: string): Promise<AdminIssueView> {
    return this.req('POST', `/issues/${key}/transition`, { as, to });
  }
  assignIssue(key: string, as: Person, assignee: Person | null): Promise<AdminIssueView> {
    return this.req('POST', `/issues/${key}/assign`, { as, assignee });
  }
  addComment(
    key: string,
    as: Person,
    body: string,
    properties?: Record<string, unknown>,
  ): Promise<{ id: string; body: unknown; properties: { key: string; value: unknown }[] }> {
    return this.req('POST', `/issues/${key}/comments`, { as, body, properties });
  }
  editComment(key: string, id: string, as: Person, body: string): Promise<{ id: string; body: unknown }> {
    return this.req('POST', `/issues/${key}/comments/${id}/edit`, { as, body });
  }
  deleteComment(key: string, id: string, as: Person): Promise<{ ok: true }> {
    return this.req('DELETE', `/issues/${key}/comments/${id}`, { as });
  }

  /** Grants or revokes a project permission (e.g. `DELETE_ISSUES`) of the integration account. */
  setPermission(input: { project: string; permission: string; granted: boolean }): Promise<{ revoked: string[] }> {
    return this.req('POST', '/permissions', input);
  }

  // ---- faults and limits ----
  injectFault(fault: FaultInput | FaultInput[]): Promise<{ faults: Fault[] }> {
    return this.req('POST', '/faults', Array.isArray(fault) ? { faults: fault } : fault);
  }
  clearFaults(): Promise<{ faults: Fault[] }> {
    return this.req('DELETE', '/faults');
  }
  faults(): Promise<{ faults: Fault[]; routeKeys: string[] }> {
    return this.req('GET', '/faults');
  }
  setRateLimits(input: {
    enabled?: boolean;
    globalPerSec?: number;
    globalBurst?: number;
    issueWritePerSec?: number;
    issueWriteBurst?: number;
  }): Promise<Record<string, unknown>> {
    return this.req('POST', '/rate-limits', input);
  }
  config(input: {
    webhookUrls?: string[];
    webhookRetryDelaysMs?: number[];
    deliveryTimeoutMs?: number;
    legacySearch?: boolean;
  }): Promise<Record<string, unknown>> {
    return this.req('POST', '/config', input);
  }

  // ---- inspection ----
  issue(key: string): Promise<AdminIssueView> {
    return this.req('GET', `/issues/${key}`);
  }
  async issues(): Promise<{ id: string; key: string; summary: string; status: string; assignee: string | null }[]> {
    return (await this.req<{ issues: never[] }>('GET', '/issues')).issues;
  }
  async deliveries(): Promise<AdminDelivery[]> {
    return (await this.req<{ deliveries: AdminDelivery[] }>('GET', '/deliveries')).deliveries;
  }
  async calls(): Promise<CallLogEntry[]> {
    return (await this.req<{ calls: CallLogEntry[] }>('GET', '/calls')).calls;
  }
  redeliver(id: string): Promise<{ id: string; identifier: string }> {
    return this.req('POST', `/deliveries/${id}/redeliver`);
  }
  reset(): Promise<{ ok: true }> {
    return this.req('POST', '/reset');
  }

  /** Polls `predicate` (sync or async) until it returns a truthy value, or throws after `timeoutMs`. */
  async waitFor<T>(predicate: () => T | Promise<T>, timeoutMs = 5000, intervalMs = 25): Promise<NonNullable<T>> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      try {
        const v = await predicate();
        if (v) return v;
      } catch (err) {
        last = err;
      }
      if (Date.now() > deadline)
        throw new Error(`waitFor timed out after ${timeoutMs}ms${last instanceof Error ? `: ${last.message}` : ''}`);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

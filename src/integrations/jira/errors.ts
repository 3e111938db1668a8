import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../platform/temporal/failure-types.js';

/**
 * Jira Cloud's error table. REST errors come back from jira.js as an `HttpException` with the
 * HTTP `status` and the axios error as `cause` (headers, body); network failures as the bare
 * axios error.
 * - 429 → retry after exactly `Retry-After` (Jira's burst and per-issue write limits).
 * - 401 / 403 → the integration account cannot do this (token revoked, permission removed):
 *   permanent and loud.
 * - 404 → the issue or comment is gone (or hidden from us): permanent; the caller records it.
 * - other 4xx → the call can never succeed as made.
 * - 5xx, 408/409/425, timeouts, resets → transient; a write may have taken effect (`ambiguous`).
 */
export type JiraErrorClass =
  | { kind: 'rate_limited'; status: 429; retryAfterSec: number; error: string }
  | { kind: 'auth'; status: 401 | 403; error: string }
  | { kind: 'not_found'; status: 404; error: string }
  | { kind: 'permanent'; status: number; error: string }
  | { kind: 'transient'; status?: number; error: string; ambiguous: boolean };

/** Structured details on every classified failure (`ApplicationFailure.details[0]`): codes only, no text from people. */
export interface JiraFailureDetails {
  system: 'jira';
  method: string;
  kind: JiraErrorClass['kind'];
  error: string;
  status?: number;
}

/** Jira gives seconds; a missing or unreadable header still waits a little rather than hammering. */
const DEFAULT_RETRY_AFTER_SEC = 5;

interface AxiosLike {
  isAxiosError?: boolean;
  code?: string;
  message?: string;
  response?: { status?: number; headers?: Record<string, unknown>; data?: unknown };
}

/** Retry-After in seconds (a number or an HTTP date), or the default when absent or unreadable. */
export function retryAfterSeconds(headers: Record<string, unknown> | undefined, nowMs: number): number {
  const raw = headers?.['retry-after'];
  const v: unknown = Array.isArray(raw) ? (raw as unknown[])[0] : raw;
  if (typeof v === 'number' && Number.isFinite(v)) return Math.max(0, Math.ceil(v));
  if (typeof v === 'string' && v.trim()) {
    if (/^\d+$/.test(v.trim())) return Number(v.trim());
    const at = Date.parse(v);
    if (Number.isFinite(at)) return Math.max(0, Math.ceil((at - nowMs) / 1000));
  }
  return DEFAULT_RETRY_AFTER_SEC;
}

/** The first Jira error message or field name, short (never the request's own text). */
function jiraReason(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const d = data as { errorMessages?: unknown; errors?: unknown };
  const first = Array.isArray(d.errorMessages) ? d.errorMessages.find((m) => typeof m === 'string') : undefined;
  if (typeof first === 'string') return first.slice(0, 120);
  if (d.errors && typeof d.errors === 'object') {
    const fields = Object.keys(d.errors);
    if (fields.length) return `invalid field(s): ${fields.join(', ').slice(0, 120)}`;
  }
  return undefined;
}

/** Classifies anything jira.js throws. */
export function classifyJiraError(err: unknown, nowMs = Date.now()): JiraErrorClass {
  const e = err as { cause?: unknown } & AxiosLike;
  const cause = e.cause as AxiosLike | undefined;
  // jira.js wraps an HTTP answer in HttpException with the axios error as `cause`; network
  // failures come back as the bare axios error.
  const axios = e.isAxiosError ? e : cause?.isAxiosError ? cause : undefined;
  const status = axios?.response?.status;
  if (status === undefined) {
    // No HTTP answer: reset, timeout, refused. A write may have been applied before the socket died.
    const code = axios?.code ?? (err instanceof Error ? err.name : 'unknown');
    return { kind: 'transient', error: code, ambiguous: code !== 'ECONNREFUSED' };
  }
  const reason = jiraReason(axios?.response?.data);
  const error = reason ? `http_${status}: ${reason}` : `http_${status}`;
  if (status === 429)
    return { kind: 'rate_limited', status, retryAfterSec: retryAfterSeconds(axios?.response?.headers, nowMs), error };
  if (status === 401 || status === 403) return { kind: 'auth', status, error };
  if (status === 404) return { kind: 'not_found', status, error };
  if (status === 408 || status === 409 || status === 425 || status >= 500)
    return { kind: 'transient', status, error, ambiguous: true };
  return { kind: 'permanent', status, error };
}

/**
 * The ApplicationFailure a classified Jira error becomes: auth, not-found and other 4xx are
 * non-retryable; rate limits retry after exactly Retry-After (`nextRetryDelay`), never earlier.
 */
export function toJiraActivityFailure(method: string, c: JiraErrorClass): ApplicationFailure {
  const details: JiraFailureDetails = { system: 'jira', method, kind: c.kind, error: c.error, status: c.status };
  switch (c.kind) {
    case 'rate_limited':
      return ApplicationFailure.create({
        type: FailureType.RateLimited,
        message: `Jira ${method} rate limited; retry after ${c.retryAfterSec}s`,
        nextRetryDelay: `${Math.max(1, c.retryAfterSec)}s`,
        details: [details],
      });
    case 'auth':
      return ApplicationFailure.create({
        type: FailureType.AuthRevoked,
        message: `Jira ${method}: the integration account is not allowed (${c.error}); check its API token and project permissions`,
        nonRetryable: true,
        details: [details],
      });
    case 'not_found':
    case 'permanent':
      return ApplicationFailure.create({
        type: FailureType.Permanent,
        message: `Jira ${method} failed permanently: ${c.error}`,
        nonRetryable: true,
        details: [details],
      });
    case 'transient':
      return ApplicationFailure.create({
        type: FailureType.Transient,
        message: `Jira ${method} failed: ${c.error}`,
        details: [details],
      });
  }
}

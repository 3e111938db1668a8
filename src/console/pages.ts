import { html, type Html, type Part } from './html.js';
import type { AuditRow } from '../platform/db/repositories.js';
import type { AuditFilter, FailureRow } from './audit.js';
import type { LifecycleFilter, LifecycleRow } from './lifecycles.js';
import type { RetryAnswer, Retryability } from './retry.js';
import type { FlagRow, InstallationRow, ScheduleRow } from './settings.js';

/** Kinds the filter offers (the values workflows put in ThreadlineKind). */
const KINDS = ['payment', 'approval', 'ticket', 'ping'] as const;

function shell(title: string, body: Part): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title}</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/console/style.css" />
      </head>
      <body>
        <a class="skip-link" href="#main">Skip to content</a>
        ${body}
      </body>
    </html>`;
}

/** The login page: one API key field; `error` says why the last attempt failed. */
export function loginPage(input: { error?: string | undefined; next?: string | undefined }): Html {
  return shell(
    'Log in · Threadline console',
    html`<main id="main" class="login">
      <h1>Threadline console</h1>
      <p class="note">Log in with one of the API keys in <code>THREADLINE_API_KEYS</code>.</p>
      <form method="post" action="/console/login">
        ${input.next ? html`<input type="hidden" name="next" value="${input.next}" />` : ''}
        <label
          >API key
          <input
            type="password"
            name="apiKey"
            autocomplete="current-password"
            required
            ${input.error ? html`aria-invalid="true" aria-describedby="login-error"` : ''}
        /></label>
        ${input.error ? html`<p id="login-error" class="error" role="alert">${input.error}</p>` : ''}
        <button class="primary" type="submit">Log in</button>
      </form>
    </main>`,
  );
}

/** RUNNING → Running, TIMED_OUT → Timed out: as the Temporal UI says it. */
const executionLabel = (name: string) => name.charAt(0) + name.slice(1).toLowerCase().replace(/_/g, ' ');

/** The bar on every page behind the login: where you are, the other pages, and Log out. */
type PageName = 'lifecycles' | 'failures' | 'installations' | 'flags' | 'schedules';

function top(csrf: string, current: PageName): Html {
  const link = (page: typeof current, href: string, label: string) =>
    html`<a href="${href}" ${current === page ? html`aria-current="page"` : ''}>${label}</a>`;
  return html`<header class="top">
    <h1>Threadline console</h1>
    <nav aria-label="Console">
      ${link('lifecycles', '/console', 'Lifecycles')} ${link('failures', '/console/failures', 'Failed deliveries')}
      ${link('installations', '/console/installations', 'Installations')}
      ${link('flags', '/console/flags', 'Feature flags')} ${link('schedules', '/console/schedules', 'Schedules')}
    </nav>
    <span class="spacer"></span>
    <form method="post" action="/console/logout">
      <input type="hidden" name="_csrf" value="${csrf}" />
      <button type="submit">Log out</button>
    </form>
  </header>`;
}

/**
 * A page's results: the error when there is one, else a sentence when nothing matched, else a
 * table with column headers (named by `label`, an element id, or described by `caption`).
 */
function results(input: {
  error: string | undefined;
  empty: string;
  headers: string[];
  rows: Html[];
  caption?: string;
  labelledBy?: string;
}): Html {
  if (input.error) return html`<p class="error" role="alert">${input.error}</p>`;
  if (input.rows.length === 0) return html`<p class="empty">${input.empty}</p>`;
  return html`<table ${input.labelledBy ? html`aria-labelledby="${input.labelledBy}"` : ''}>
    ${
      input.caption
        ? html`<caption class="note">
            ${input.caption}
          </caption>`
        : ''
    }
    <thead>
      <tr>
        ${input.headers.map((h) => html`<th scope="col">${h}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${input.rows}
    </tbody>
  </table>`;
}

/** Where one lifecycle's page is. */
export const lifecycleHref = (subject: string) => `/console/lifecycles/${encodeURIComponent(subject)}`;

const when = (d: Date | undefined) => (d ? d.toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '');

/** The lifecycle list: filters, then one row per lifecycle with its Slack thread and Temporal links. */
export function listPage(input: {
  csrf: string;
  filter: Partial<LifecycleFilter>;
  rows: LifecycleRow[];
  /** Shown instead of rows when the filter was refused or Temporal could not answer. */
  error?: string | undefined;
}): Html {
  const f = input.filter;
  const rows = input.rows.map(
    (r) =>
      html`<tr>
        <td class="subject"><a href="${lifecycleHref(r.subject)}">${r.subject}</a></td>
        <td>${r.kind}</td>
        <td><span class="status">${r.status || '—'}</span></td>
        <td class="${`execution-${r.execution.toLowerCase()}`}">${executionLabel(r.execution)}</td>
        <td>${when(r.startedAt)}</td>
        <td>
          ${
            r.slackThread
              ? html`<a href="${r.slackThread}" aria-label="${`Slack thread of ${r.subject}`}">Slack thread</a>`
              : html`<span class="note">no thread yet</span>`
          }
        </td>
        <td>
          ${
            r.temporalUi
              ? html`<a href="${r.temporalUi}" aria-label="${`Workflow of ${r.subject} in the Temporal UI`}"
                  >Temporal UI</a
                >`
              : ''
          }
        </td>
      </tr>`,
  );
  return shell(
    'Lifecycles · Threadline console',
    html`${top(input.csrf, 'lifecycles')}
      <main id="main">
        <h2>Lifecycles</h2>
        <form class="filters" method="get" action="/console" role="search" aria-label="Filter lifecycles">
          <label
            >Kind
            <select name="kind">
              <option value="">All kinds</option>
              ${KINDS.map((k) => html`<option value="${k}" ${f.kind === k ? 'selected' : ''}>${k}</option>`)}
            </select></label
          >
          <label>Status <input name="status" value="${f.status ?? ''}" placeholder="e.g. pending" /></label>
          <label
            >Subject starts with <input name="q" value="${f.q ?? ''}" placeholder="e.g. payment:order_123"
          /></label>
          <button class="primary" type="submit">Search</button>
        </form>
        ${results({
          error: input.error,
          empty: 'No lifecycles match.',
          caption: 'Newest first, from Temporal visibility (up to 50).',
          headers: ['Subject', 'Kind', 'Status', 'Workflow', 'Started', 'Slack', 'Temporal'],
          rows,
        })}
      </main>`,
  );
}

const json = (v: unknown) => (v === undefined || v === null ? '' : JSON.stringify(v));

function links(r: LifecycleRow): Html {
  return html`${r.slackThread ? html`<a href="${r.slackThread}">Slack thread</a>` : html`<span class="note">no Slack thread yet</span>`}
  ${r.temporalUi ? html` · <a href="${r.temporalUi}">Workflow in the Temporal UI</a>` : ''}`;
}

/** One lifecycle: its state, its Slack thread and workflow, its audit trail (filtered, as CSV). */
export function lifecyclePage(input: {
  csrf: string;
  lifecycle: LifecycleRow;
  filter: Partial<AuditFilter>;
  trail: AuditRow[];
  error?: string | undefined;
}): Html {
  const l = input.lifecycle;
  const f = input.filter;
  const query = new URLSearchParams(
    Object.entries({ action: f.action ?? '', outcome: f.outcome ?? '' }).filter(([, v]) => v),
  ).toString();
  return shell(
    `${l.subject} · Threadline console`,
    html`${top(input.csrf, 'lifecycles')}
      <main id="main">
        <p><a href="/console">← Lifecycles</a></p>
        <h2 class="subject">${l.subject}</h2>
        <dl class="facts">
          <dt>Kind</dt>
          <dd>${l.kind || '—'}</dd>
          <dt>Status</dt>
          <dd><span class="status">${l.status || '—'}</span></dd>
          <dt>Workflow</dt>
          <dd class="${`execution-${l.execution.toLowerCase()}`}">${executionLabel(l.execution)}</dd>
          <dt>Started</dt>
          <dd>${when(l.startedAt)}</dd>
          ${
            l.closedAt
              ? html`<dt>Closed</dt>
                  <dd>${when(l.closedAt)}</dd>`
              : ''
          }
          <dt>Links</dt>
          <dd>${links(l)}</dd>
        </dl>
        <h3 id="audit-title">Audit trail</h3>
        <form class="filters" method="get" role="search" aria-label="Filter the audit trail">
          <label
            >Action contains <input name="action" value="${f.action ?? ''}" placeholder="e.g. slack_failed"
          /></label>
          <label
            >Outcome
            <select name="outcome">
              <option value="">Any outcome</option>
              ${(['ok', 'failed', 'skipped'] as const).map(
                (o) => html`<option value="${o}" ${f.outcome === o ? 'selected' : ''}>${o}</option>`,
              )}
            </select></label
          >
          <button class="primary" type="submit">Filter</button>
          <a href="${`${lifecycleHref(l.subject)}/audit.csv${query ? `?${query}` : ''}`}" download>Export CSV</a>
        </form>
        ${results({
          error: input.error,
          empty: 'No audit entries match.',
          labelledBy: 'audit-title',
          headers: ['When', 'Action', 'Actor', 'Outcome', 'Details'],
          rows: input.trail.map(
            (r) =>
              html`<tr>
                <td>${when(new Date(r.occurredAt))}</td>
                <td class="subject">${r.action}</td>
                <td>${r.actor.kind}${r.actor.id ? html` <code>${r.actor.id}</code>` : ''}</td>
                <td class="${`outcome-${r.outcome ?? 'ok'}`}">${r.outcome ?? 'ok'}</td>
                <td class="details"><code>${json(r.details ?? r.after)}</code></td>
              </tr>`,
          ),
        })}
      </main>`,
  );
}

/** Where the Retry form of one failed delivery posts. */
export const retryHref = (failureId: string) => `/console/failures/${encodeURIComponent(failureId)}/retry`;

/** The Retry cell: the button (a CSRF-protected form), "Retried", or why it cannot be retried. */
function retryCell(csrf: string, r: FailureRow, can: Retryability | undefined): Html {
  if (!can) return html``;
  if (can.kind === 'retried')
    return html`<span class="ok">Retried</span> <span class="note">${when(new Date(can.at))}</span>`;
  if (can.kind === 'not_retryable') return html`<span class="note">${can.why}</span>`;
  return html`<form method="post" action="${retryHref(r.id)}">
      <input type="hidden" name="_csrf" value="${csrf}" />
      <button type="submit" class="secondary" aria-label="${`Retry step ${r.step ?? ''} of ${r.subject}`}">
        Retry
      </button>
    </form>
    ${r.retry?.outcome === 'failed' ? html`<div class="note">The last retry failed too.</div>` : ''}`;
}

/** What a Retry click did, said once above the list. */
function retryNotice(a: RetryAnswer | undefined): Html {
  if (!a) return html``;
  switch (a.kind) {
    case 'delivered':
      return html`<p class="notice ok" role="status">Retried step <code>${a.step}</code>: delivered.</p>`;
    case 'running':
      return html`<p class="notice" role="status">
        Retry of step <code>${a.step}</code> is still running; reload this page in a moment to see its outcome.
      </p>`;
    case 'failed':
      return html`<p class="notice error" role="alert">
        Retried step <code>${a.step}</code>: it failed again (${a.error}, ${a.reason}). Fix the cause and retry again.
      </p>`;
    case 'refused':
      return html`<p class="notice error" role="alert">Not retried: ${a.why}</p>`;
  }
}

/** Failed deliveries of every lifecycle, newest first, with the error, why it is final, and Retry. */
export function failuresPage(input: {
  csrf: string;
  q?: string | undefined;
  rows: FailureRow[];
  /** Per failure id: whether it can be retried (absent: not known, e.g. Temporal did not answer). */
  retry?: Map<string, Retryability>;
  /** The outcome of the Retry click this page answers. */
  notice?: RetryAnswer | undefined;
  error?: string | undefined;
}): Html {
  return shell(
    'Failed deliveries · Threadline console',
    html`${top(input.csrf, 'failures')}
      <main id="main">
        <h2>Failed deliveries</h2>
        <p class="note">
          Steps that will not happen (a permanent error, or retries that ran out), and alerts that could not be sent.
          Each was also announced in the ops channel, when that was possible. Once the cause is fixed, Retry runs the
          step again in its lifecycle (same idempotency key: a message is never posted twice).
        </p>
        ${retryNotice(input.notice)}
        <form
          class="filters"
          method="get"
          action="/console/failures"
          role="search"
          aria-label="Filter failed deliveries"
        >
          <label>Subject starts with <input name="q" value="${input.q ?? ''}" placeholder="e.g. payment:" /></label>
          <button class="primary" type="submit">Search</button>
        </form>
        ${results({
          error: input.error,
          empty: 'No failed deliveries.',
          headers: ['When', 'Lifecycle', 'What', 'Error', 'Step', 'Retry'],
          rows: input.rows.map(
            (r) =>
              html`<tr>
                <td>${when(new Date(r.occurredAt))}</td>
                <td class="subject"><a href="${lifecycleHref(r.subject)}">${r.subject}</a></td>
                <td>${r.action}${r.targetSystem ? html` <span class="note">(${r.targetSystem})</span>` : ''}</td>
                <td>
                  <span class="error">${r.error ?? 'unknown'}</span
                  >${r.reason ? html` <span class="note">${r.reason}</span>` : ''}
                  ${r.message ? html`<div class="note">${r.message}</div>` : ''}
                </td>
                <td class="subject">${r.step ?? ''}</td>
                <td>${retryCell(input.csrf, r, input.retry?.get(r.id))}</td>
              </tr>`,
          ),
        })}
      </main>`,
  );
}

/** A read-only page behind the login: its heading, a sentence on where the data comes from, and the table. */
function settingsPage(input: { csrf: string; page: PageName; title: string; note: Part; table: Html }): Html {
  return shell(
    `${input.title} · Threadline console`,
    html`${top(input.csrf, input.page)}
      <main id="main">
        <h2>${input.title}</h2>
        <p class="note">${input.note}</p>
        ${input.table}
      </main>`,
  );
}

/** Slack installations: team, status, scopes, installed and revoked at. Never a token. */
export function installationsPage(input: { csrf: string; rows: InstallationRow[]; error?: string | undefined }): Html {
  return settingsPage({
    csrf: input.csrf,
    page: 'installations',
    title: 'Installations',
    note: 'Workspaces (and Grid organizations) that installed the app through OAuth, newest first. Tokens are sealed in Postgres and never shown.',
    table: results({
      error: input.error,
      empty: 'No installations yet: the app runs with one bot token (single-workspace mode), or nobody installed it.',
      headers: ['Team', 'Status', 'Scopes', 'Installed', 'Revoked'],
      rows: input.rows.map(
        (r) =>
          html`<tr>
            <td>
              ${r.teamName ?? ''} <code>${r.teamId ?? r.enterpriseId ?? r.installationId}</code>
              ${r.enterpriseId && r.teamId ? html`<div class="note">org <code>${r.enterpriseId}</code></div>` : ''}
            </td>
            <td><span class="${r.status === 'revoked' ? 'error' : 'ok'}">${r.status}</span></td>
            <td class="details">
              ${r.scopes.length ? html`<code>${r.scopes.join(', ')}</code>` : html`<span class="note">none</span>`}
            </td>
            <td>${when(r.installedAt)}</td>
            <td>${r.revokedAt ? html`${when(r.revokedAt)} <span class="note">${r.revokedReason ?? ''}</span>` : ''}</td>
          </tr>`,
      ),
    }),
  });
}

const onOff = (on: boolean) => html`<span class="${on ? 'ok' : 'error'}">${on ? 'on' : 'off'}</span>`;

/** Feature flags: each declared flag, its default, its settings per scope, and what it decides for the workspace. */
export function flagsPage(input: { csrf: string; rows: FlagRow[]; error?: string | undefined }): Html {
  return settingsPage({
    csrf: input.csrf,
    page: 'flags',
    title: 'Feature flags',
    note: html`Flags the flows declare, switched per scope in <code>THREADLINE_FLAGS</code> or through
      <code>PUT /v1/flags/:flag</code> (which wins for the same scope). A scope switched off turns the flag off for
      everything in it.`,
    table: results({
      error: input.error,
      empty: 'No flow declares a feature flag.',
      headers: ['Flag', 'Default', 'Settings', 'For the workspace'],
      rows: input.rows.map(
        (r) =>
          html`<tr>
            <td>
              <code>${r.spec.name}</code>
              <div class="note">${r.spec.describe}</div>
            </td>
            <td>${onOff(r.spec.default)}</td>
            <td>
              ${
                r.settings.length
                  ? html`<ul class="plain">
                      ${r.settings.map(
                        (st) =>
                          html`<li>
                            <code>${st.scope.kind === 'global' ? 'global' : `${st.scope.kind}:${st.scope.id}`}</code>
                            ${onOff(st.enabled)}
                            <span class="note"
                              >(${st.source}${st.reason ? `: ${st.reason}` : ''}${
                                st.updatedAt ? `, ${when(new Date(st.updatedAt))}` : ''
                              })</span
                            >
                          </li>`,
                      )}
                    </ul>`
                  : html`<span class="note">none: the default applies</span>`
              }
            </td>
            <td>
              ${onOff(r.decision.enabled)}
              ${r.workspace ? html`<span class="note">in <code>${r.workspace}</code></span>` : ''}
            </td>
          </tr>`,
      ),
    }),
  });
}

/** Temporal Schedules of this app: what each starts, paused or not, the next and last runs. */
export function schedulesPage(input: { csrf: string; rows: ScheduleRow[]; error?: string | undefined }): Html {
  return settingsPage({
    csrf: input.csrf,
    page: 'schedules',
    title: 'Schedules',
    note: "Temporal Schedules that start this app's workflows (reports, membership syncs…). Edit them through the flows' APIs.",
    table: results({
      error: input.error,
      empty: 'No schedules.',
      headers: ['Schedule', 'Starts', 'State', 'Next runs', 'Last run'],
      rows: input.rows.map(
        (r) =>
          html`<tr>
            <td class="subject">${r.scheduleId}</td>
            <td><code>${r.workflowType}</code></td>
            <td>
              ${r.paused ? html`<span class="error">paused</span>` : html`<span class="ok">active</span>`}
              ${r.note ? html`<div class="note">${r.note}</div>` : ''}
            </td>
            <td>
              ${r.nextRuns.length ? r.nextRuns.map((d) => html`<div>${when(d)}</div>`) : html`<span class="note">none</span>`}
              ${r.timezone ? html`<div class="note">time zone ${r.timezone}</div>` : ''}
            </td>
            <td>${r.lastRun ? when(r.lastRun) : html`<span class="note">never</span>`}</td>
          </tr>`,
      ),
    }),
  });
}

import { html, type Html, type Part } from './html.js';
import type { LifecycleFilter, LifecycleRow } from './lifecycles.js';

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
        <td class="subject">${r.subject}</td>
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
    html`<header class="top">
        <h1>Threadline console</h1>
        <span class="spacer"></span>
        <form method="post" action="/console/logout">
          <input type="hidden" name="_csrf" value="${input.csrf}" />
          <button type="submit">Log out</button>
        </form>
      </header>
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
        ${
          input.error
            ? html`<p class="error" role="alert">${input.error}</p>`
            : input.rows.length === 0
              ? html`<p class="empty">No lifecycles match.</p>`
              : html`<table>
                  <caption class="note">
                    Newest first, from Temporal visibility (up to 50).
                  </caption>
                  <thead>
                    <tr>
                      <th scope="col">Subject</th>
                      <th scope="col">Kind</th>
                      <th scope="col">Status</th>
                      <th scope="col">Workflow</th>
                      <th scope="col">Started</th>
                      <th scope="col">Slack</th>
                      <th scope="col">Temporal</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${rows}
                  </tbody>
                </table>`
        }
      </main>`,
  );
}

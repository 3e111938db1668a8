import { classes, confirmDialog, html, json, type Html } from '../../shared/ui/html.js';
import { page } from '../../shared/ui/server.js';
import type { SeedProject, SeedUser } from '../seed.js';
import type { JiraStore, StoredComment, StoredIssue } from '../store.js';
import { adfToHtml } from './adf-html.js';

/** Who looks, and at what: the issue list (optionally one project) or one issue. */
export type JiraViewState = { store: JiraStore; viewer: SeedUser } & (
  { kind: 'list'; project?: SeedProject | undefined } | { kind: 'issue'; issue: StoredIssue }
);

/** People who can act in the view: active, ordinary accounts. */
export const jiraPeople = (store: JiraStore): SeedUser[] =>
  store.seed.users.filter((u) => u.active && u.accountType === 'atlassian');

const when = (ms: number) =>
  new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }).format(ms) + ' UTC';

const href = (path: string, q: Record<string, string | undefined> = {}) => {
  const qs = new URLSearchParams(Object.entries(q).filter((e): e is [string, string] => e[1] !== undefined)).toString();
  return qs ? `${path}?${qs}` : path;
};

/** The whole page (live updates refetch it and patch `#app`). */
export function renderJiraPage(s: JiraViewState): Html {
  const title = s.kind === 'issue' ? `[${s.issue.key}] ${s.issue.summary}` : s.project ? s.project.name : 'All issues';
  return page({
    title: `${title} (sandbox Jira)`,
    css: '/_ui/assets/jira.css',
    script: '/_ui/assets/live.js',
    events: '/_ui/events?site=jira',
    body: html`<div id="app" class="jira">
      ${topBar(s)}
      <main id="main" class="jira-main">${s.kind === 'issue' ? issuePage(s, s.issue) : listPage(s, s.project)}</main>
    </div>`,
  });
}

function topBar(s: JiraViewState): Html {
  const path = s.kind === 'issue' ? `/browse/${s.issue.key}` : '/';
  const project = s.kind === 'list' ? s.project?.key : undefined;
  return html`<header class="jira-top">
    <a class="jira-brand" href="/">Sandbox Jira</a>
    <nav aria-label="Projects">
      <ul class="jira-projects">
        ${s.store.seed.projects.map(
          (p) =>
            html`<li>
              <a href="${href('/', { project: p.key })}" ${project === p.key ? html`aria-current="page"` : ''}
                >${p.name} (${p.key})</a
              >
            </li>`,
        )}
      </ul>
    </nav>
    <p class="jira-note">Changes made here are sent to the app as Jira Cloud webhooks.</p>
    <div class="acting-as">
      <label for="acting-as">You are</label>
      <select id="acting-as" data-navigate>
        ${jiraPeople(s.store).map(
          (u) =>
            html`<option
              value="${href(path, { project, as: u.accountId })}"
              ${u.accountId === s.viewer.accountId ? 'selected' : ''}
            >
              ${u.displayName}
            </option>`,
        )}
      </select>
    </div>
  </header>`;
}

function statusOf(store: JiraStore, i: StoredIssue) {
  const p = store.project(i.projectKey)!;
  return p.statuses.find((x) => x.id === i.statusId) ?? p.statuses[0]!;
}

function lozenge(store: JiraStore, i: StoredIssue): Html {
  const st = statusOf(store, i);
  return html`<span class="${classes('lozenge', `lozenge-${st.category}`)}">${st.name}</span>`;
}

const nameOf = (store: JiraStore, id: string | null) => (id ? (store.user(id)?.displayName ?? id) : undefined);

function listPage(s: JiraViewState, project: SeedProject | undefined): Html {
  const { store } = s;
  const issues = store.state.issues
    .filter((i) => !project || i.projectKey === project.key)
    .sort((a, b) => b.updated - a.updated);
  return html`<h1>${project ? `${project.name} (${project.key})` : 'All issues'}</h1>
    <table class="issues">
      <caption class="visually-hidden">
        Issues, most recently updated first
      </caption>
      <thead>
        <tr>
          <th scope="col">Key</th>
          <th scope="col">Type</th>
          <th scope="col">Summary</th>
          <th scope="col">Status</th>
          <th scope="col">Assignee</th>
          <th scope="col">Priority</th>
          <th scope="col">Updated</th>
        </tr>
      </thead>
      <tbody>
        ${
          issues.length
            ? issues.map((i) => {
                const p = store.project(i.projectKey)!;
                return html`<tr>
                  <td><a href="/browse/${i.key}">${i.key}</a></td>
                  <td>${p.issueTypes.find((t) => t.id === i.issueTypeId)?.name ?? ''}</td>
                  <td><a href="/browse/${i.key}">${i.summary}</a></td>
                  <td>${lozenge(store, i)}</td>
                  <td>${nameOf(store, i.assigneeId) ?? html`<span class="muted">Unassigned</span>`}</td>
                  <td>${store.seed.priorities.find((x) => x.id === i.priorityId)?.name ?? ''}</td>
                  <td>${when(i.updated)}</td>
                </tr>`;
              })
            : html`<tr>
                <td colspan="7" class="muted">No issues yet. Create one below, or let the app file them.</td>
              </tr>`
        }
      </tbody>
    </table>
    ${createForm(s, project)}`;
}

function createForm(s: JiraViewState, project: SeedProject | undefined): Html {
  const { store } = s;
  const types = [
    ...new Set(store.seed.projects.flatMap((p) => p.issueTypes.filter((t) => !t.subtask).map((t) => t.name))),
  ];
  return html`<section class="card" aria-labelledby="create-title">
    <h2 id="create-title">Create issue as ${s.viewer.displayName}</h2>
    <form class="create-form" data-post="/_admin/issues" data-body="${json({ as: s.viewer.accountId })}">
      <div class="field">
        <label for="create-project">Project</label>
        <select id="create-project" name="project">
          ${store.seed.projects.map(
            (p) =>
              html`<option value="${p.key}" ${p.key === project?.key ? 'selected' : ''}>${p.name} (${p.key})</option>`,
          )}
        </select>
      </div>
      <div class="field">
        <label for="create-type">Issue type</label>
        <select id="create-type" name="issuetype">
          ${types.map((t) => html`<option>${t}</option>`)}
        </select>
      </div>
      <div class="field wide">
        <label for="create-summary">Summary</label>
        <input id="create-summary" name="summary" required maxlength="255" />
      </div>
      <div class="field wide">
        <label for="create-description">Description <span class="muted">(optional)</span></label>
        <textarea id="create-description" name="description" rows="3" data-omit-empty></textarea>
      </div>
      <div class="field">
        <label for="create-assignee">Assignee</label>
        <select id="create-assignee" name="assignee" data-omit-empty>
          <option value="">Unassigned</option>
          ${jiraPeople(store).map((u) => html`<option value="${u.accountId}">${u.displayName}</option>`)}
        </select>
      </div>
      <div class="field">
        <label for="create-priority">Priority</label>
        <select id="create-priority" name="priority">
          ${store.seed.priorities.map(
            (p) => html`<option ${p.name === store.seed.defaultPriority ? 'selected' : ''}>${p.name}</option>`,
          )}
        </select>
      </div>
      <div class="field wide"><button type="submit" class="bk-btn bk-primary">Create</button></div>
    </form>
  </section>`;
}

function issuePage(s: JiraViewState, i: StoredIssue): Html {
  const { store } = s;
  const p = store.project(i.projectKey)!;
  const as = { as: s.viewer.accountId };
  const parent = i.parentId ? store.findIssue(i.parentId) : undefined;
  const subtasks = store.subtasksOf(i);
  const type = p.issueTypes.find((t) => t.id === i.issueTypeId)?.name ?? '';
  const userName = (id: string) => store.user(id)?.displayName;
  return html`<nav class="crumbs" aria-label="Breadcrumbs">
      <a href="${href('/', { project: p.key })}">${p.name}</a> /
      ${parent ? html`<a href="/browse/${parent.key}">${parent.key}</a> /` : ''}
      <span>${i.key}</span>
    </nav>
    <div class="issue">
      <article class="issue-main" aria-labelledby="issue-title">
        <h1 id="issue-title"><span class="muted">${type} ${i.key}</span> ${i.summary}</h1>
        <section aria-labelledby="desc-title">
          <h2 id="desc-title">Description</h2>
          ${adfToHtml(i.description, userName)}
        </section>
        ${
          subtasks.length
            ? html`<section aria-labelledby="sub-title">
                <h2 id="sub-title">Sub-tasks</h2>
                <ul class="subtasks">
                  ${subtasks.map((t) => html`<li><a href="/browse/${t.key}">${t.key}</a> ${t.summary} ${lozenge(store, t)}</li>`)}
                </ul>
              </section>`
            : ''
        }
        <section aria-labelledby="comments-title">
          <h2 id="comments-title">Comments (${i.comments.length})</h2>
          <ol class="comments">
            ${i.comments.map((c) => comment(s, i, c))}
          </ol>
          <form class="comment-form" data-post="/_admin/issues/${i.key}/comments" data-body="${json(as)}">
            <label for="new-comment">Add a comment as ${s.viewer.displayName}</label>
            <textarea id="new-comment" name="body" rows="3" required></textarea>
            <button type="submit" class="bk-btn bk-primary">Save comment</button>
          </form>
        </section>
        <section aria-labelledby="history-title">
          <h2 id="history-title">History</h2>
          ${i.histories.length === 0 ? html`<p class="muted">No changes yet.</p>` : ''}
          <ol class="history">
            ${i.histories
              .slice()
              .reverse()
              .map(
                (h) =>
                  html`<li>
                    <b>${nameOf(store, h.authorId) ?? 'Someone'}</b> changed
                    ${h.items.map(
                      (it) =>
                        html`<span class="change"
                          >${it.field}: <s>${it.fromString ?? 'None'}</s> → ${it.toString ?? 'None'}</span
                        >`,
                    )}
                    <span class="muted">${when(h.created)}</span>
                  </li>`,
              )}
          </ol>
        </section>
      </article>
      <aside class="issue-side" aria-label="Details">
        <div class="status-row">
          ${lozenge(store, i)}
          <div class="transitions" role="group" aria-label="Transitions">
            ${store
              .transitionsFor(i)
              .map(
                (t) =>
                  html`<button
                    type="button"
                    class="bk-btn"
                    data-post="/_admin/issues/${i.key}/transition"
                    data-body="${json({ ...as, to: t.id })}"
                  >
                    ${t.name}
                  </button>`,
              )}
          </div>
        </div>
        <dl class="details">
          <dt id="assignee-label">Assignee</dt>
          <dd>
            <select
              aria-labelledby="assignee-label"
              data-post="/_admin/issues/${i.key}/assign"
              data-body="${json(as)}"
              data-field="assignee"
            >
              <option value="" ${i.assigneeId ? '' : 'selected'} disabled>Unassigned</option>
              ${jiraPeople(store).map(
                (u) =>
                  html`<option value="${u.accountId}" ${u.accountId === i.assigneeId ? 'selected' : ''}>
                    ${u.displayName}
                  </option>`,
              )}
            </select>
            <div class="assign-buttons">
              ${
                i.assigneeId !== s.viewer.accountId
                  ? html`<button
                      type="button"
                      class="link-btn"
                      data-post="/_admin/issues/${i.key}/assign"
                      data-body="${json({ ...as, assignee: s.viewer.accountId })}"
                    >
                      Assign to me
                    </button>`
                  : ''
              }
              ${
                i.assigneeId
                  ? html`<button
                      type="button"
                      class="link-btn"
                      data-post="/_admin/issues/${i.key}/assign"
                      data-body="${json({ ...as, assignee: null })}"
                    >
                      Unassign
                    </button>`
                  : ''
              }
            </div>
          </dd>
          <dt>Reporter</dt>
          <dd>${nameOf(store, i.reporterId) ?? ''}</dd>
          <dt>Priority</dt>
          <dd>${store.seed.priorities.find((x) => x.id === i.priorityId)?.name ?? 'None'}</dd>
          <dt>Labels</dt>
          <dd>
            ${i.labels.length ? i.labels.map((l) => html`<span class="label">${l}</span> `) : html`<span class="muted">None</span>`}
          </dd>
          <dt>Components</dt>
          <dd>
            ${
              i.componentIds.length
                ? i.componentIds.map((c) => p.components.find((x) => x.id === c)?.name ?? c).join(', ')
                : html`<span class="muted">None</span>`
            }
          </dd>
          <dt>Resolution</dt>
          <dd>${i.resolution?.name ?? 'Unresolved'}</dd>
          <dt>Created</dt>
          <dd>${when(i.created)}</dd>
          <dt>Updated</dt>
          <dd>${when(i.updated)}</dd>
        </dl>
      </aside>
    </div>`;
}

function comment(s: JiraViewState, i: StoredIssue, c: StoredComment): Html {
  const { store } = s;
  const mine = c.authorId === s.viewer.accountId;
  const id = `comment-${c.id}`;
  const as = { as: s.viewer.accountId };
  return html`<li class="comment" id="${id}">
    <header>
      <b>${nameOf(store, c.authorId) ?? 'Someone'}</b>
      <span class="muted">${when(c.created)}${c.updated !== c.created ? ' (edited)' : ''}</span>
    </header>
    ${adfToHtml(c.body, (a) => store.user(a)?.displayName)}
    ${
      mine
        ? html`<div class="comment-actions">
              <button
                type="button"
                class="link-btn"
                data-toggle="${id}-edit"
                aria-expanded="false"
                aria-controls="${id}-edit"
              >
                Edit
              </button>
              <button type="button" class="link-btn" data-confirm="${id}-delete" aria-haspopup="dialog">Delete</button>
            </div>
            <form
              id="${id}-edit"
              class="comment-form"
              data-panel
              hidden
              data-post="/_admin/issues/${i.key}/comments/${c.id}/edit"
              data-body="${json(as)}"
              data-reset="false"
              data-close-on-success
            >
              <label for="${id}-text">Edit comment</label>
              <textarea id="${id}-text" name="body" rows="3" required>${bodyText(c)}</textarea>
              <button type="submit" class="bk-btn bk-primary">Save</button>
            </form>
            ${confirmDialog({
              id: `${id}-delete`,
              title: 'Delete this comment?',
              text: "Once you delete, it's gone for good.",
              post: `/_admin/issues/${i.key}/comments/${c.id}`,
              method: 'DELETE',
              body: as,
            })}`
        : ''
    }
  </li>`;
}

/** The comment as editable text: paragraphs separated by blank lines (what `textToAdf` reads back). */
function bodyText(c: StoredComment): string {
  const para = (n: { type: string; text?: string; content?: unknown[] }): string =>
    n.type === 'text' ? (n.text ?? '') : ((n.content ?? []) as (typeof n)[]).map(para).join('');
  return (c.body.content ?? []).map((n) => para(n)).join('\n\n');
}

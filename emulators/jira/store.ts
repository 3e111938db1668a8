import { adfToText, isAdfDoc, str, textToAdf, type AdfNode } from './adf.js';
import { compileJql, type JqlIssue } from './jql.js';
import type { ParsedJiraSeed, SeedProject, SeedStatus, SeedUser } from './seed.js';

/** An error answered in Jira's shape: `{errorMessages, errors}` with the given HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorMessages: string[],
    readonly errors: Record<string, string> = {},
  ) {
    super(errorMessages[0] ?? Object.values(errors)[0] ?? `HTTP ${status}`);
  }
  get body() {
    return { errorMessages: this.errorMessages, errors: this.errors };
  }
}

export const ISSUE_NOT_FOUND = 'Issue does not exist or you do not have permission to see it.';
const notFound = () => new ApiError(404, [ISSUE_NOT_FOUND]);

export interface ChangeItem {
  field: string;
  fieldtype: string;
  fieldId: string;
  from: string | null;
  fromString: string | null;
  to: string | null;
  toString: string | null;
  tmpFromAccountId?: string | null;
  tmpToAccountId?: string | null;
}
export interface History {
  id: string;
  authorId: string;
  created: number;
  items: ChangeItem[];
  historyMetadata?: unknown;
}
export interface StoredComment {
  id: string;
  authorId: string;
  updateAuthorId: string;
  body: AdfNode;
  created: number;
  updated: number;
  properties: Record<string, unknown>;
  visibility?: unknown;
}
export interface StoredIssue {
  id: string;
  key: string;
  projectKey: string;
  /** Set on sub-tasks: the id of the parent issue. */
  parentId?: string | null;
  summary: string;
  description: AdfNode | null;
  issueTypeId: string;
  statusId: string;
  resolution: { id: string; name: string } | null;
  resolutionDate: number | null;
  assigneeId: string | null;
  reporterId: string;
  creatorId: string;
  priorityId: string | null;
  labels: string[];
  componentIds: string[];
  created: number;
  updated: number;
  comments: StoredComment[];
  deletedCommentCount: number;
  histories: History[];
  properties: Record<string, unknown>;
}
export interface StoreState {
  issues: StoredIssue[];
  nextIssueId: number;
  nextCommentId: number;
  nextHistoryId: number;
  nextKey: Record<string, number>;
}

/** A webhook-worthy change: event name plus the v2 payload, built at the moment of the change. */
export interface JiraEvent {
  webhookEvent: string;
  payload: Record<string, unknown>;
}

export const PROPERTY_MAX_CHARS = 32768;
export const UNBOUNDED_JQL =
  'Unbounded JQL queries are not allowed here. Please add a search restriction to your query.';
/** Jira's text-field limit (jira.text.field.character.limit, 32,767 on Cloud) and its 400 message. */
export const TEXT_FIELD_MAX_CHARS = 32_767;
const TEXT_TOO_LONG = 'The entered text is too long. It exceeds the allowed limit of 32,767 characters.';
/**
 * Whether an ADF body exceeds the limit. Counted on the ADF JSON, not the visible text: whichever
 * Jira counts, a body accepted here is accepted there (the emulator errs on the strict side).
 */
const tooLong = (adf: unknown) => JSON.stringify(adf).length > TEXT_FIELD_MAX_CHARS;
const RESOLUTION_DONE = { id: '10000', name: 'Done' };

const CATEGORY = {
  new: { id: 2, key: 'new', colorName: 'blue-gray', name: 'To Do' },
  indeterminate: { id: 4, key: 'indeterminate', colorName: 'yellow', name: 'In Progress' },
  done: { id: 3, key: 'done', colorName: 'green', name: 'Done' },
} as const;

/** Jira renders timestamps as `2017-01-30T18:32:14.694+0000`. */
export const jiraTime = (ms: number) => new Date(ms).toISOString().replace('Z', '+0000');

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function freshState(): StoreState {
  return { issues: [], nextIssueId: 10001, nextCommentId: 10000, nextHistoryId: 10000, nextKey: {} };
}

export interface FieldInput {
  fields?: Record<string, unknown>;
  update?: Record<string, unknown>;
  historyMetadata?: unknown;
}

export class JiraStore {
  state: StoreState = freshState();
  private lastTime = 0;

  constructor(
    readonly seed: ParsedJiraSeed,
    private readonly baseUrl: () => string,
    private readonly emit: (e: JiraEvent) => void,
    private readonly changed: () => void,
  ) {}

  /** Strictly increasing clock so created/updated order is unambiguous even within one millisecond. */
  private now(): number {
    this.lastTime = Math.max(Date.now(), this.lastTime + 1);
    return this.lastTime;
  }

  // ---------- lookups ----------
  user(idOrEmail: string | null | undefined): SeedUser | undefined {
    if (!idOrEmail) return undefined;
    const v = idOrEmail.toLowerCase();
    return this.seed.users.find((u) => u.accountId.toLowerCase() === v || u.emailAddress.toLowerCase() === v);
  }
  requireUser(idOrEmail: string): SeedUser {
    const u = this.user(idOrEmail);
    if (!u) throw new ApiError(400, [`Unknown user '${idOrEmail}'.`]);
    return u;
  }
  project(idOrKey: string): SeedProject | undefined {
    const v = idOrKey.toUpperCase();
    return this.seed.projects.find((p) => p.key === v || p.id === idOrKey);
  }
  private projectOf(issue: StoredIssue): SeedProject {
    return this.project(issue.projectKey)!;
  }
  private status(project: SeedProject, id: string): SeedStatus {
    return project.statuses.find((s) => s.id === id)!;
  }
  findIssue(idOrKey: string): StoredIssue | undefined {
    const v = idOrKey.toUpperCase();
    return this.state.issues.find((i) => i.key === v || i.id === idOrKey);
  }
  issue(idOrKey: string): StoredIssue {
    const i = this.findIssue(idOrKey);
    if (!i) throw notFound();
    return i;
  }
  comment(issue: StoredIssue, id: string): StoredComment {
    const c = issue.comments.find((x) => x.id === id);
    if (!c) throw new ApiError(404, [`Can not find a comment for the id: ${id}.`]);
    return c;
  }
  commentById(id: string): { issue: StoredIssue; comment: StoredComment } {
    for (const issue of this.state.issues) {
      const comment = issue.comments.find((c) => c.id === id);
      if (comment) return { issue, comment };
    }
    throw new ApiError(404, [`Can not find a comment for the id: ${id}.`]);
  }

  // ---------- JSON views ----------
  private get base() {
    return this.baseUrl();
  }
  userJson(u: SeedUser, v: 2 | 3 = 3) {
    const hash = Buffer.from(u.accountId).toString('hex').slice(0, 32);
    const avatar = (s: number) => `https://secure.gravatar.com/avatar/${hash}?d=mm&s=${s}`;
    return {
      self: `${this.base}/rest/api/${v}/user?accountId=${encodeURIComponent(u.accountId)}`,
      accountId: u.accountId,
      emailAddress: u.emailAddress,
      avatarUrls: { '48x48': avatar(48), '24x24': avatar(24), '16x16': avatar(16), '32x32': avatar(32) },
      displayName: u.displayName,
      active: u.active,
      timeZone: u.timeZone,
      accountType: u.accountType,
    };
  }
  private userRef(id: string | null, v: 2 | 3) {
    const u = this.user(id);
    return u ? this.userJson(u, v) : null;
  }
  statusJson(s: SeedStatus, v: 2 | 3 = 3) {
    const c = CATEGORY[s.category];
    return {
      self: `${this.base}/rest/api/${v}/status/${s.id}`,
      description: s.description,
      iconUrl: `${this.base}/images/icons/statuses/generic.png`,
      name: s.name,
      id: s.id,
      statusCategory: { self: `${this.base}/rest/api/${v}/statuscategory/${c.id}`, ...c },
    };
  }
  private projectJson(p: SeedProject, v: 2 | 3) {
    return {
      self: `${this.base}/rest/api/${v}/project/${p.id}`,
      id: p.id,
      key: p.key,
      name: p.name,
      projectTypeKey: 'software',
      simplified: false,
      avatarUrls: { '48x48': `${this.base}/rest/api/${v}/universal_avatar/view/type/project/avatar/10400` },
    };
  }
  private issueTypeJson(p: SeedProject, id: string, v: 2 | 3) {
    const t = p.issueTypes.find((x) => x.id === id)!;
    return {
      self: `${this.base}/rest/api/${v}/issuetype/${t.id}`,
      id: t.id,
      description: t.description,
      iconUrl: `${this.base}/rest/api/2/universal_avatar/view/type/issuetype/avatar/10318?size=medium`,
      name: t.name,
      subtask: t.subtask,
      hierarchyLevel: t.subtask ? -1 : 0,
    };
  }
  private priorityJson(id: string | null, v: 2 | 3) {
    const pr = this.seed.priorities.find((x) => x.id === id);
    if (!pr) return null;
    return {
      self: `${this.base}/rest/api/${v}/priority/${pr.id}`,
      iconUrl: `${this.base}/images/icons/priorities/${pr.name.toLowerCase()}.svg`,
      name: pr.name,
      id: pr.id,
    };
  }
  commentJson(issue: StoredIssue, c: StoredComment, v: 2 | 3 = 3, expandProps = false) {
    return {
      self: `${this.base}/rest/api/${v}/issue/${issue.id}/comment/${c.id}`,
      id: c.id,
      author: this.userRef(c.authorId, v),
      body: v === 3 ? c.body : adfToText(c.body),
      updateAuthor: this.userRef(c.updateAuthorId, v),
      created: jiraTime(c.created),
      updated: jiraTime(c.updated),
      ...(c.visibility !== undefined ? { visibility: c.visibility } : {}),
      jsdPublic: true,
      ...(expandProps ? { properties: Object.entries(c.properties).map(([key, value]) => ({ key, value })) } : {}),
    };
  }
  /** The short issue form Jira nests in `parent` and `subtasks`. */
  private issueRef(issue: StoredIssue, v: 2 | 3) {
    const p = this.projectOf(issue);
    return {
      id: issue.id,
      key: issue.key,
      self: `${this.base}/rest/api/${v}/issue/${issue.id}`,
      fields: {
        summary: issue.summary,
        status: this.statusJson(this.status(p, issue.statusId), v),
        priority: this.priorityJson(issue.priorityId, v),
        issuetype: this.issueTypeJson(p, issue.issueTypeId, v),
      },
    };
  }
  subtasksOf(issue: StoredIssue): StoredIssue[] {
    return this.state.issues.filter((i) => i.parentId === issue.id);
  }
  private allFields(issue: StoredIssue, v: 2 | 3): Record<string, unknown> {
    const p = this.projectOf(issue);
    const comments = issue.comments.map((c) => this.commentJson(issue, c, v));
    const parent = issue.parentId ? this.state.issues.find((i) => i.id === issue.parentId) : undefined;
    return {
      ...(parent ? { parent: this.issueRef(parent, v) } : {}),
      statuscategorychangedate: jiraTime(issue.updated),
      issuetype: this.issueTypeJson(p, issue.issueTypeId, v),
      timespent: null,
      project: this.projectJson(p, v),
      fixVersions: [],
      aggregatetimespent: null,
      resolution: issue.resolution
        ? { self: `${this.base}/rest/api/${v}/resolution/${issue.resolution.id}`, ...issue.resolution, description: '' }
        : null,
      resolutiondate: issue.resolutionDate ? jiraTime(issue.resolutionDate) : null,
      workratio: -1,
      watches: { self: `${this.base}/rest/api/${v}/issue/${issue.key}/watchers`, watchCount: 1, isWatching: true },
      lastViewed: null,
      created: jiraTime(issue.created),
      priority: this.priorityJson(issue.priorityId, v),
      labels: [...issue.labels],
      timeestimate: null,
      aggregatetimeoriginalestimate: null,
      versions: [],
      issuelinks: [],
      assignee: this.userRef(issue.assigneeId, v),
      updated: jiraTime(issue.updated),
      status: this.statusJson(this.status(p, issue.statusId), v),
      components: issue.componentIds.map((id) => {
        const c = p.components.find((x) => x.id === id)!;
        return { self: `${this.base}/rest/api/${v}/component/${c.id}`, id: c.id, name: c.name };
      }),
      timeoriginalestimate: null,
      description: v === 3 ? issue.description : issue.description ? adfToText(issue.description) : null,
      timetracking: {},
      attachment: [],
      aggregatetimeestimate: null,
      summary: issue.summary,
      creator: this.userRef(issue.creatorId, v),
      subtasks: this.subtasksOf(issue).map((st) => this.issueRef(st, v)),
      reporter: this.userRef(issue.reporterId, v),
      aggregateprogress: { progress: 0, total: 0 },
      environment: null,
      duedate: null,
      progress: { progress: 0, total: 0 },
      votes: { self: `${this.base}/rest/api/${v}/issue/${issue.key}/votes`, votes: 0, hasVoted: false },
      comment: {
        comments,
        self: `${this.base}/rest/api/${v}/issue/${issue.id}/comment`,
        maxResults: comments.length,
        total: comments.length,
        startAt: 0,
      },
      worklog: { startAt: 0, maxResults: 20, total: 0, worklogs: [] },
    };
  }

  /** REST v3 issue. `fields` follows Jira: `*all`/`*navigable` (default), names, `-name` exclusions. */
  issueJson(
    issue: StoredIssue,
    opts: { fields?: string[] | undefined; expand?: string[]; properties?: string[]; defaultFields?: string[] } = {},
  ) {
    const all = this.allFields(issue, 3);
    // GET issue defaults to `*all`; search defaults to `*navigable`, which leaves out comment and worklog.
    const req = opts.fields?.length ? opts.fields : (opts.defaultFields ?? ['*all']);
    const include = new Set<string>();
    const exclude = new Set<string>();
    for (const f of req.flatMap((x) => x.split(',')).map((x) => x.trim())) {
      if (f === '*all') Object.keys(all).forEach((k) => include.add(k));
      else if (f === '*navigable')
        Object.keys(all)
          .filter((k) => k !== 'comment' && k !== 'worklog')
          .forEach((k) => include.add(k));
      else if (f.startsWith('-')) exclude.add(f.slice(1));
      else if (f) include.add(f);
    }
    const fields: Record<string, unknown> = {};
    for (const k of include) if (!exclude.has(k) && k in all) fields[k] = all[k];
    const out: Record<string, unknown> = {
      expand: 'renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations',
      id: issue.id,
      self: `${this.base}/rest/api/3/issue/${issue.id}`,
      key: issue.key,
    };
    if (opts.properties?.length) {
      const props: Record<string, unknown> = {};
      const wantAll = opts.properties.includes('*all');
      for (const [k, val] of Object.entries(issue.properties))
        if (wantAll || opts.properties.includes(k)) props[k] = val;
      out.properties = props;
    }
    out.fields = fields;
    if (opts.expand?.includes('changelog')) {
      out.changelog = {
        startAt: 0,
        maxResults: issue.histories.length,
        total: issue.histories.length,
        histories: issue.histories.map((h) => this.historyJson(h)),
      };
    }
    return out;
  }
  historyJson(h: History) {
    return {
      id: h.id,
      author: this.userRef(h.authorId, 3),
      created: jiraTime(h.created),
      items: h.items,
      ...(h.historyMetadata !== undefined ? { historyMetadata: h.historyMetadata } : {}),
    };
  }
  /** The v2 issue as webhooks carry it (description as a string). */
  webhookIssue(issue: StoredIssue) {
    const fields = this.allFields(issue, 2);
    // Webhook issue payloads leave out the comment list; comment events carry the comment itself.
    delete fields.comment;
    return { id: issue.id, self: `${this.base}/rest/api/2/issue/${issue.id}`, key: issue.key, fields };
  }
  /** Comment events carry a trimmed issue (Jira sends only a few fields there). */
  private webhookIssueSummary(issue: StoredIssue) {
    const f = this.allFields(issue, 2);
    return {
      id: issue.id,
      self: `${this.base}/rest/api/2/issue/${issue.id}`,
      key: issue.key,
      fields: {
        summary: f.summary,
        issuetype: f.issuetype,
        project: f.project,
        assignee: f.assignee,
        priority: f.priority,
        status: f.status,
      },
    };
  }

  transitionsFor(issue: StoredIssue) {
    const p = this.projectOf(issue);
    const current = this.status(p, issue.statusId);
    return p.transitions
      .filter((t) => t.to !== current.name && (t.from.length === 0 || t.from.includes(current.name)))
      .map((t) => {
        const to = p.statuses.find((s) => s.name === t.to)!;
        return {
          id: t.id,
          name: t.name,
          to: this.statusJson(to),
          hasScreen: false,
          isGlobal: t.from.length === 0,
          isInitial: false,
          isAvailable: true,
          isConditional: false,
          isLooped: false,
        };
      });
  }

  jqlIssue(i: StoredIssue): JqlIssue {
    const p = this.projectOf(i);
    const s = this.status(p, i.statusId);
    return {
      id: i.id,
      key: i.key,
      projectKey: p.key,
      projectId: p.id,
      statusId: s.id,
      statusName: s.name,
      statusCategory: s.category,
      assigneeId: i.assigneeId,
      reporterId: i.reporterId,
      labels: i.labels,
      priorityName: this.seed.priorities.find((x) => x.id === i.priorityId)?.name ?? null,
      priorityId: i.priorityId,
      issueTypeName: p.issueTypes.find((t) => t.id === i.issueTypeId)?.name ?? '',
      issueTypeId: i.issueTypeId,
      parentId: i.parentId ?? null,
      parentKey: this.state.issues.find((x) => x.id === i.parentId)?.key ?? null,
      summary: i.summary,
      text: [i.summary, adfToText(i.description), ...i.comments.map((c) => adfToText(c.body))].join('\n'),
      created: i.created,
      updated: i.updated,
    };
  }

  /** `bounded`: refuse a query without a search restriction, as the enhanced search does. */
  search(jql: string, actorId: string, opts: { bounded?: boolean } = {}): StoredIssue[] {
    const q = compileJql(jql, {
      currentAccountId: actorId,
      resolveUser: (v) => this.user(v)?.accountId ?? this.seed.users.find((u) => u.displayName === v)?.accountId,
      projectExists: (v) => !!this.project(v),
      statusExists: (v) =>
        this.seed.projects.some((p) => p.statuses.some((s) => s.id === v || s.name.toLowerCase() === v.toLowerCase())),
      issueKeyExists: (k) => !!this.findIssue(k),
    });
    if (opts.bounded && !q.bounded) throw new ApiError(400, [UNBOUNDED_JQL]);
    const views = this.state.issues.map((i) => ({ i, v: this.jqlIssue(i) }));
    return views
      .filter((x) => q.filter(x.v))
      .sort((a, b) => q.compare(a.v, b.v))
      .map((x) => x.i);
  }

  // ---------- field handling shared by create / edit / transition ----------
  private cannotSet(field: string) {
    return `Field '${field}' cannot be set. It is not on the appropriate screen, or unknown.`;
  }

  /** Normalises `fields` + `update` ops into target values, collecting Jira-style field errors. */
  private resolveFieldChanges(issue: StoredIssue, input: FieldInput, allowed: Set<string>) {
    const p = this.projectOf(issue);
    const errors: Record<string, string> = {};
    const next: Partial<StoredIssue> = {};
    const fields = isObj(input.fields) ? input.fields : {};
    const update = isObj(input.update) ? input.update : {};

    // Translate `update` ops ({set|add|remove}) into final values.
    const ops: Record<string, unknown> = {};
    for (const [field, list] of Object.entries(update)) {
      if (!Array.isArray(list)) {
        errors[field] = 'Operation value must be an array.';
        continue;
      }
      if (field === 'labels' || field === 'components') {
        const ref = (v: unknown) => (isObj(v) ? str(v.name ?? v.id) : String(v));
        let cur =
          field === 'labels'
            ? [...(next.labels ?? issue.labels)]
            : issue.componentIds.map((id) => p.components.find((c) => c.id === id)!.name);
        for (const op of list) {
          if (!isObj(op)) continue;
          if ('set' in op) cur = Array.isArray(op.set) ? op.set.map(ref) : [];
          if ('add' in op && !cur.includes(ref(op.add))) cur.push(ref(op.add));
          if ('remove' in op) cur = cur.filter((x) => x !== ref(op.remove));
        }
        ops[field] = field === 'labels' ? cur : cur.map((name) => ({ name }));
      } else {
        const last = list.filter(isObj).at(-1);
        if (last && 'set' in last) ops[field] = last.set;
        else errors[field] = `Field '${field}' does not support the requested operation.`;
      }
    }
    const all = { ...fields, ...ops };

    for (const [field, value] of Object.entries(all)) {
      if (!allowed.has(field)) {
        errors[field] = this.cannotSet(field);
        continue;
      }
      switch (field) {
        case 'summary':
          if (typeof value !== 'string' || !value.trim()) errors.summary = 'You must specify a summary of the issue.';
          else if (value.length > 255) errors.summary = 'Summary must be less than 255 characters.';
          else next.summary = value;
          break;
        case 'description':
          if (value === null) next.description = null;
          else if (!isAdfDoc(value))
            errors.description = 'Operation value must be an Atlassian Document (see the Atlassian Document Format)';
          else if (tooLong(value)) errors.description = TEXT_TOO_LONG;
          else next.description = value;
          break;
        case 'assignee': {
          if (value === null || (isObj(value) && (value.accountId === null || value.accountId === '-1'))) {
            next.assigneeId = null;
          } else {
            const id = isObj(value) ? value.accountId : undefined;
            const u = typeof id === 'string' ? this.user(id) : undefined;
            if (!u || u.accountId !== id) errors.assignee = `User '${String(id)}' does not exist.`;
            else next.assigneeId = u.accountId;
          }
          break;
        }
        case 'priority': {
          const pr = isObj(value)
            ? this.seed.priorities.find((x) => x.id === value.id || x.name === value.name)
            : undefined;
          if (!pr) errors.priority = 'Specify the Priority (id or name) in the string format';
          else next.priorityId = pr.id;
          break;
        }
        case 'labels':
          if (!Array.isArray(value) || value.some((l) => typeof l !== 'string' || /\s/.test(l) || !l))
            errors.labels = 'The label must not contain spaces.';
          else next.labels = [...new Set(value as string[])];
          break;
        case 'components': {
          if (!Array.isArray(value)) {
            errors.components = 'Component name or id expected.';
            break;
          }
          const ids: string[] = [];
          for (const c of value) {
            const found = isObj(c) ? p.components.find((x) => x.id === c.id || x.name === c.name) : undefined;
            if (!found) errors.components = `Component name '${isObj(c) ? String(c.name ?? c.id) : ''}' is not valid`;
            else if (!ids.includes(found.id)) ids.push(found.id);
          }
          next.componentIds = ids;
          break;
        }
        case 'issuetype': {
          const t = isObj(value) ? p.issueTypes.find((x) => x.id === value.id || x.name === value.name) : undefined;
          if (!t) errors.issuetype = 'The issue type selected is invalid.';
          else next.issueTypeId = t.id;
          break;
        }
        case 'resolution': {
          if (value === null) next.resolution = null;
          else if (isObj(value) && (value.name === 'Done' || value.id === RESOLUTION_DONE.id))
            next.resolution = { ...RESOLUTION_DONE };
          else errors.resolution = 'Resolution name or id expected.';
          break;
        }
      }
    }
    return { next, errors };
  }

  /** Applies target values, returning the changelog items in Jira's format. */
  private applyChanges(issue: StoredIssue, next: Partial<StoredIssue>): ChangeItem[] {
    const p = this.projectOf(issue);
    const items: ChangeItem[] = [];
    const item = (
      field: string,
      fieldId: string,
      from: string | null,
      fromString: string | null,
      to: string | null,
      toString: string | null,
    ): ChangeItem => ({ field, fieldtype: 'jira', fieldId, from, fromString, to, toString });
    if (next.summary !== undefined && next.summary !== issue.summary) {
      items.push(item('summary', 'summary', null, issue.summary, null, next.summary));
      issue.summary = next.summary;
    }
    if (next.description !== undefined && JSON.stringify(next.description) !== JSON.stringify(issue.description)) {
      items.push(
        item(
          'description',
          'description',
          null,
          issue.description ? adfToText(issue.description) : null,
          null,
          next.description ? adfToText(next.description) : null,
        ),
      );
      issue.description = next.description;
    }
    if (next.issueTypeId !== undefined && next.issueTypeId !== issue.issueTypeId) {
      const name = (id: string) => p.issueTypes.find((t) => t.id === id)?.name ?? null;
      items.push(
        item(
          'issuetype',
          'issuetype',
          issue.issueTypeId,
          name(issue.issueTypeId),
          next.issueTypeId,
          name(next.issueTypeId),
        ),
      );
      issue.issueTypeId = next.issueTypeId;
    }
    if (next.priorityId !== undefined && next.priorityId !== issue.priorityId) {
      const name = (id: string | null) => this.seed.priorities.find((x) => x.id === id)?.name ?? null;
      items.push(
        item('priority', 'priority', issue.priorityId, name(issue.priorityId), next.priorityId, name(next.priorityId)),
      );
      issue.priorityId = next.priorityId;
    }
    if (next.labels !== undefined && next.labels.join(' ') !== issue.labels.join(' ')) {
      items.push(item('labels', 'labels', null, issue.labels.join(' '), null, next.labels.join(' ')));
      issue.labels = next.labels;
    }
    if (next.componentIds !== undefined) {
      const name = (id: string) => p.components.find((c) => c.id === id)?.name ?? null;
      for (const id of issue.componentIds)
        if (!next.componentIds.includes(id)) items.push(item('Component', 'components', id, name(id), null, null));
      for (const id of next.componentIds)
        if (!issue.componentIds.includes(id)) items.push(item('Component', 'components', null, null, id, name(id)));
      issue.componentIds = next.componentIds;
    }
    if (next.assigneeId !== undefined && next.assigneeId !== issue.assigneeId) {
      const name = (id: string | null) => this.user(id)?.displayName ?? null;
      items.push({
        ...item(
          'assignee',
          'assignee',
          issue.assigneeId,
          name(issue.assigneeId),
          next.assigneeId,
          name(next.assigneeId),
        ),
        tmpFromAccountId: issue.assigneeId,
        tmpToAccountId: next.assigneeId,
      });
      issue.assigneeId = next.assigneeId;
    }
    if (next.resolution !== undefined && next.resolution?.id !== issue.resolution?.id) {
      items.push(
        item(
          'resolution',
          'resolution',
          issue.resolution?.id ?? null,
          issue.resolution?.name ?? null,
          next.resolution?.id ?? null,
          next.resolution?.name ?? null,
        ),
      );
      issue.resolution = next.resolution;
      issue.resolutionDate = next.resolution ? this.lastTime : null;
    }
    if (next.statusId !== undefined && next.statusId !== issue.statusId) {
      const from = this.status(p, issue.statusId);
      const to = this.status(p, next.statusId);
      items.push(item('status', 'status', from.id, from.name, to.id, to.name));
      issue.statusId = next.statusId;
    }
    return items;
  }

  private record(issue: StoredIssue, actorId: string, items: ChangeItem[], historyMetadata: unknown, at: number) {
    const h: History = { id: String(this.state.nextHistoryId++), authorId: actorId, created: at, items };
    if (historyMetadata !== undefined) h.historyMetadata = historyMetadata;
    issue.histories.push(h);
    issue.updated = at;
    return h;
  }

  private emitIssueUpdated(issue: StoredIssue, actorId: string, typeName: string, extra: Record<string, unknown>) {
    this.emit({
      webhookEvent: 'jira:issue_updated',
      payload: {
        timestamp: Date.now(),
        webhookEvent: 'jira:issue_updated',
        issue_event_type_name: typeName,
        user: this.userRef(actorId, 2),
        issue: this.webhookIssue(issue),
        ...extra,
      },
    });
  }

  // ---------- operations (REST and admin both land here) ----------
  createIssue(actorId: string, fields: Record<string, unknown>): StoredIssue {
    const errors: Record<string, string> = {};
    const pref = fields.project;
    const project = isObj(pref) ? this.project(str(pref.key ?? pref.id)) : undefined;
    if (!project) errors.project = 'Specify a valid project ID or key';
    if (typeof fields.summary !== 'string' || !fields.summary.trim())
      errors.summary = 'You must specify a summary of the issue.';
    const tref = fields.issuetype;
    if (!isObj(tref)) errors.issuetype = 'Specify an issue type';
    if (!project || Object.keys(errors).length) throw new ApiError(400, [], errors);
    const type = project.issueTypes.find((t) => isObj(tref) && (t.id === tref.id || t.name === tref.name));
    if (!type) throw new ApiError(400, [], { issuetype: 'The issue type selected is invalid.' });
    let parentId: string | null = null;
    const parentRef = fields.parent;
    if (type.subtask) {
      if (!isObj(parentRef) || (parentRef.key === undefined && parentRef.id === undefined))
        throw new ApiError(400, [], { parent: 'Issue type is a sub-task but parent issue key or id not specified.' });
      const parent = this.findIssue(str(parentRef.key ?? parentRef.id));
      if (!parent) throw new ApiError(400, [], { parent: `Could not find issue by id or key.` });
      const parentType = this.project(parent.projectKey)?.issueTypes.find((t) => t.id === parent.issueTypeId);
      if (parent.projectKey !== project.key || parentType?.subtask)
        throw new ApiError(400, [], { parent: 'Given parent work item does not belong to appropriate hierarchy.' });
      parentId = parent.id;
    } else if (parentRef !== undefined) {
      throw new ApiError(400, [], { parent: 'Given parent work item does not belong to appropriate hierarchy.' });
    }
    const reporterRef = fields.reporter;
    const initial =
      project.statuses.find((s) => s.name === project.initialStatus) ??
      project.statuses.find((s) => s.category === 'new') ??
      project.statuses[0]!;
    const at = this.now();
    const draft: StoredIssue = {
      id: String(this.state.nextIssueId),
      key: `${project.key}-${(this.state.nextKey[project.key] ?? 0) + 1}`,
      projectKey: project.key,
      parentId,
      summary: '',
      description: null,
      issueTypeId: type.id,
      statusId: initial.id,
      resolution: null,
      resolutionDate: null,
      assigneeId: null,
      reporterId: actorId,
      creatorId: actorId,
      priorityId: this.seed.priorities.find((x) => x.name === this.seed.defaultPriority)?.id ?? null,
      labels: [],
      componentIds: [],
      created: at,
      updated: at,
      comments: [],
      deletedCommentCount: 0,
      histories: [],
      properties: {},
    };
    const rest = { ...fields };
    delete rest.project;
    delete rest.issuetype;
    delete rest.reporter;
    delete rest.parent;
    const { next, errors: fe } = this.resolveFieldChanges(
      draft,
      { fields: rest },
      new Set(['summary', 'description', 'assignee', 'priority', 'labels', 'components']),
    );
    if (isObj(reporterRef)) {
      const u = this.user(str(reporterRef.accountId));
      if (!u) fe.reporter = `User '${String(reporterRef.accountId)}' does not exist.`;
      else draft.reporterId = u.accountId;
    }
    if (Object.keys(fe).length) throw new ApiError(400, [], fe);
    this.applyChanges(draft, next);
    // Consume ids only after validation, as Jira does not burn keys on failed creates.
    this.state.nextIssueId++;
    this.state.nextKey[project.key] = (this.state.nextKey[project.key] ?? 0) + 1;
    this.state.issues.push(draft);
    this.emit({
      webhookEvent: 'jira:issue_created',
      payload: {
        timestamp: Date.now(),
        webhookEvent: 'jira:issue_created',
        issue_event_type_name: 'issue_created',
        user: this.userRef(actorId, 2),
        issue: this.webhookIssue(draft),
      },
    });
    this.changed();
    return draft;
  }

  editIssue(actorId: string, issue: StoredIssue, input: FieldInput): void {
    const { next, errors } = this.resolveFieldChanges(
      issue,
      input,
      new Set(['summary', 'description', 'assignee', 'priority', 'labels', 'components', 'issuetype']),
    );
    if (Object.keys(errors).length) throw new ApiError(400, [], errors);
    const at = this.now();
    const items = this.applyChanges(issue, next);
    if (!items.length) return;
    const h = this.record(issue, actorId, items, input.historyMetadata, at);
    // Jira raises "Issue Assigned" when the assignee is the only change, "Issue Updated" otherwise.
    const type = items.every((i) => i.field === 'assignee') ? 'issue_assigned' : 'issue_updated';
    this.emitIssueUpdated(issue, actorId, type, { changelog: { id: h.id, items } });
    this.changed();
  }

  assign(actorId: string, issue: StoredIssue, accountId: string | null): void {
    if (accountId !== null && accountId !== '-1') {
      const u = this.user(accountId);
      if (!u || u.accountId !== accountId)
        throw new ApiError(404, [`User with accountId '${accountId}' does not exist`]);
    }
    const at = this.now();
    const items = this.applyChanges(issue, { assigneeId: accountId === '-1' ? null : accountId });
    if (!items.length) return;
    const h = this.record(issue, actorId, items, undefined, at);
    this.emitIssueUpdated(issue, actorId, 'issue_assigned', { changelog: { id: h.id, items } });
    this.changed();
  }

  transition(actorId: string, issue: StoredIssue, transitionId: string, input: FieldInput = {}): void {
    const p = this.projectOf(issue);
    const available = this.transitionsFor(issue);
    if (!available.some((t) => t.id === transitionId))
      throw new ApiError(400, [`Transition id '${transitionId}' is not valid for this issue.`]);
    const t = p.transitions.find((x) => x.id === transitionId)!;
    const to = p.statuses.find((s) => s.name === t.to)!;
    const { next, errors } = this.resolveFieldChanges(
      issue,
      input,
      new Set(['summary', 'description', 'assignee', 'priority', 'labels', 'components', 'resolution']),
    );
    if (Object.keys(errors).length) throw new ApiError(400, [], errors);
    // Mirrors the usual post-functions: entering Done sets a resolution, leaving it clears it.
    if (next.resolution === undefined)
      next.resolution = to.category === 'done' ? (issue.resolution ?? { ...RESOLUTION_DONE }) : null;
    next.statusId = to.id;
    const at = this.now();
    const items = this.applyChanges(issue, next);
    const h = this.record(issue, actorId, items, input.historyMetadata, at);
    this.emitIssueUpdated(issue, actorId, 'issue_generic', { changelog: { id: h.id, items } });
    this.changed();
  }

  addComment(
    actorId: string,
    issue: StoredIssue,
    body: unknown,
    properties: unknown = undefined,
    visibility: unknown = undefined,
  ): StoredComment {
    if (!isAdfDoc(body))
      throw new ApiError(400, [], {
        comment: 'Comment body is not valid!',
      });
    if (tooLong(body)) throw new ApiError(400, [], { comment: TEXT_TOO_LONG });
    const props: Record<string, unknown> = {};
    if (properties !== undefined) {
      if (!Array.isArray(properties)) throw new ApiError(400, ['Comment properties must be an array.']);
      for (const pr of properties) {
        if (!isObj(pr) || typeof pr.key !== 'string') throw new ApiError(400, ['Property key must be a string.']);
        checkPropertyValue(pr.value);
        props[pr.key] = pr.value;
      }
    }
    const at = this.now();
    const c: StoredComment = {
      id: String(this.state.nextCommentId++),
      authorId: actorId,
      updateAuthorId: actorId,
      body,
      created: at,
      updated: at,
      properties: props,
    };
    if (visibility !== undefined && visibility !== null) c.visibility = visibility;
    issue.comments.push(c);
    issue.updated = at;
    this.emitCommentEvents(issue, c, actorId, 'comment_created', 'issue_commented');
    this.changed();
    return c;
  }

  editComment(actorId: string, issue: StoredIssue, commentId: string, body: unknown, visibility?: unknown) {
    const c = this.comment(issue, commentId);
    if (!isAdfDoc(body)) throw new ApiError(400, [], { comment: 'Comment body is not valid!' });
    if (tooLong(body)) throw new ApiError(400, [], { comment: TEXT_TOO_LONG });
    const at = this.now();
    c.body = body;
    c.updateAuthorId = actorId;
    c.updated = at;
    if (visibility !== undefined) {
      if (visibility === null) delete c.visibility;
      else c.visibility = visibility;
    }
    issue.updated = at;
    this.emitCommentEvents(issue, c, actorId, 'comment_updated', 'issue_comment_edited');
    this.changed();
    return c;
  }

  deleteComment(actorId: string, issue: StoredIssue, commentId: string) {
    const c = this.comment(issue, commentId);
    issue.comments = issue.comments.filter((x) => x.id !== commentId);
    issue.updated = this.now();
    this.emitCommentEvents(issue, c, actorId, 'comment_deleted', 'issue_comment_deleted');
    this.changed();
  }

  /**
   * Deletes an issue (and, with `deleteSubtasks`, its sub-tasks first). Jira refuses to delete an issue
   * that has sub-tasks unless asked to, so nothing is half-deleted. Each removed issue sends one
   * `jira:issue_deleted` carrying its last state. Keys are never reused.
   */
  deleteIssue(actorId: string, issue: StoredIssue, deleteSubtasks: boolean): StoredIssue[] {
    const subtasks = this.subtasksOf(issue);
    if (subtasks.length && !deleteSubtasks)
      throw new ApiError(400, [
        `The issue '${issue.key}' has subtasks. Set deleteSubtasks=true to delete the issue and its subtasks.`,
      ]);
    const removed = [...subtasks, issue];
    for (const i of removed) {
      // The payload is built before removal so it still shows the issue (and a sub-task's parent).
      const payload = {
        timestamp: Date.now(),
        webhookEvent: 'jira:issue_deleted',
        issue_event_type_name: 'issue_deleted',
        user: this.userRef(actorId, 2),
        issue: this.webhookIssue(i),
      };
      this.state.issues = this.state.issues.filter((x) => x.id !== i.id);
      this.emit({ webhookEvent: 'jira:issue_deleted', payload });
    }
    this.changed();
    return removed;
  }

  /**
   * Jira Cloud sends every comment change twice: a `comment_*` event (no top-level `user`; the actor is
   * `comment.author`/`updateAuthor`) and a `jira:issue_updated` with the comment and the matching
   * `issue_event_type_name`. Consumers must pick one or dedup.
   */
  private emitCommentEvents(issue: StoredIssue, c: StoredComment, actorId: string, event: string, typeName: string) {
    const comment = this.commentJson(issue, c, 2);
    this.emit({
      webhookEvent: event,
      payload: { timestamp: Date.now(), webhookEvent: event, comment, issue: this.webhookIssueSummary(issue) },
    });
    this.emitIssueUpdated(issue, actorId, typeName, { comment });
  }

  setIssueProperty(issue: StoredIssue, key: string, value: unknown): 'created' | 'updated' {
    checkPropertyKey(key);
    checkPropertyValue(value);
    const existed = key in issue.properties;
    issue.properties[key] = value;
    this.changed();
    return existed ? 'updated' : 'created';
  }
}

export function checkPropertyKey(key: string) {
  if (!key || key.length > 255)
    throw new ApiError(400, ['The property key cannot be longer than 255 characters and cannot be empty.']);
}
export function checkPropertyValue(value: unknown) {
  const s = JSON.stringify(value);
  if (s === undefined) throw new ApiError(400, ['The property value must be a valid JSON.']);
  if (s.length > PROPERTY_MAX_CHARS)
    throw new ApiError(400, [`The value of the property cannot be longer than ${PROPERTY_MAX_CHARS} characters.`]);
}

export { textToAdf };

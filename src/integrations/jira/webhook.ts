import { z } from 'zod';
import type {
  TicketComment,
  TicketEventKind,
  TicketField,
  TicketFieldChange,
  TicketPerson,
  TicketSnapshot,
  TicketStatusCategory,
} from '../../flows/tickets/contract.js';
import type { ParsedTrackerWebhook } from '../../flows/tickets/tracker.js';
import { describeZodIssues } from '../../platform/http/errors.js';

/**
 * Jira Cloud webhook bodies (the v2 representation: descriptions and comment bodies are strings)
 * and their mapping onto the tracker-neutral `TicketEvent`. Strict only where we depend on a
 * field; Jira adds fields over time and unknown ones pass. Emails are never copied out.
 */

/** Comment bodies are trimmed to this many characters (a thread reply quotes them). */
export const COMMENT_TEXT_LIMIT = 3000;

const user = z.object({ accountId: z.string().min(1), displayName: z.string().optional() }).loose();

const issueFields = z
  .object({
    summary: z.string().optional(),
    issuetype: z.object({ name: z.string() }).loose().nullish(),
    priority: z.object({ name: z.string() }).loose().nullish(),
    status: z
      .object({
        id: z.string().optional(),
        name: z.string(),
        statusCategory: z.object({ key: z.string() }).loose().optional(),
      })
      .loose()
      .nullish(),
    assignee: user.nullish(),
    project: z.object({ key: z.string().min(1) }).loose(),
    labels: z.array(z.string()).optional(),
    components: z.array(z.object({ name: z.string() }).loose()).optional(),
  })
  .loose();

/** An issue as webhooks (v2) and REST v3 both carry it, for the fields we read. */
export const jiraIssueSchema = z
  .object({
    id: z.union([z.string().min(1), z.number().int()]).transform(String),
    key: z.string().regex(/^[A-Z][A-Z0-9_]{0,49}-[1-9]\d{0,9}$/, 'an issue key like OPS-12'),
    self: z.string().optional(),
    fields: issueFields,
  })
  .loose();

const changelogItem = z
  .object({
    field: z.string(),
    fieldId: z.string().optional(),
    from: z.string().nullish(),
    fromString: z.string().nullish(),
    to: z.string().nullish(),
    toString: z.string().nullish(),
  })
  .loose();

const comment = z
  .object({
    id: z.union([z.string().min(1), z.number().int()]).transform(String),
    body: z.string(),
    author: user.optional(),
    updateAuthor: user.optional(),
    created: z.string().optional(),
    updated: z.string().optional(),
  })
  .loose();

/** The envelope every Jira webhook shares. */
export const jiraWebhookEnvelopeSchema = z
  .object({
    timestamp: z.number().int().nonnegative(),
    webhookEvent: z.string().min(1),
    issue_event_type_name: z.string().optional(),
    user: user.optional(),
  })
  .loose();

const issueEventSchema = jiraWebhookEnvelopeSchema.extend({
  issue: jiraIssueSchema,
  changelog: z
    .object({ id: z.union([z.string(), z.number()]).transform(String), items: z.array(changelogItem) })
    .loose()
    .optional(),
  comment: comment.optional(),
});
const commentEventSchema = jiraWebhookEnvelopeSchema.extend({ issue: jiraIssueSchema, comment });

const ISSUE_EVENTS: Record<string, TicketEventKind> = {
  'jira:issue_created': 'issue_created',
  'jira:issue_updated': 'issue_updated',
  'jira:issue_deleted': 'issue_deleted',
};
const COMMENT_EVENTS: Record<string, TicketEventKind> = {
  comment_created: 'comment_created',
  comment_updated: 'comment_updated',
  comment_deleted: 'comment_deleted',
};
/** `jira:issue_updated` twins of the comment events (Jira sends every comment change both ways). */
const COMMENT_TWINS: Record<string, TicketEventKind> = {
  issue_commented: 'comment_created',
  issue_comment_edited: 'comment_updated',
  issue_comment_deleted: 'comment_deleted',
};

/** Changelog `field` / `fieldId` values we mirror; everything else (resolution, Rank, Sprint…) is not shown. */
const FIELD_OF: Record<string, TicketField> = {
  status: 'status',
  assignee: 'assignee',
  priority: 'priority',
  summary: 'summary',
  issuetype: 'issuetype',
  labels: 'labels',
  components: 'components',
  Component: 'components',
  description: 'description',
};

const CATEGORIES = new Set<TicketStatusCategory>(['new', 'indeterminate', 'done']);

const person = (u: z.infer<typeof user> | null | undefined): TicketPerson | undefined =>
  u ? { id: u.accountId, name: u.displayName ?? u.accountId } : undefined;

/** Jira's `self` is `https://site/rest/api/2/issue/10001`; people browse `https://site/browse/KEY`. */
function browseUrl(self: string | undefined, key: string): string | undefined {
  if (!self) return undefined;
  try {
    return `${new URL(self).origin}/browse/${key}`;
  } catch {
    return undefined;
  }
}

/** What the thread root shows of an issue (REST v3 and webhook v2 agree on these fields). */
export function issueSnapshot(i: z.infer<typeof jiraIssueSchema>): TicketSnapshot {
  const f = i.fields;
  const category = f.status?.statusCategory?.key as TicketStatusCategory | undefined;
  return {
    key: i.key,
    id: i.id,
    project: f.project.key,
    url: browseUrl(i.self, i.key),
    ...(f.summary !== undefined ? { summary: f.summary } : {}),
    ...(f.issuetype ? { type: f.issuetype.name } : {}),
    ...(f.priority !== undefined ? { priority: f.priority?.name ?? null } : {}),
    ...(f.status
      ? {
          status: {
            id: f.status.id,
            name: f.status.name,
            category: category && CATEGORIES.has(category) ? category : 'unknown',
          },
        }
      : {}),
    ...(f.assignee !== undefined ? { assignee: person(f.assignee) ?? null } : {}),
    ...(f.labels ? { labels: [...f.labels] } : {}),
    ...(f.components ? { components: f.components.map((c) => c.name) } : {}),
  };
}

function changes(items: z.infer<typeof changelogItem>[]): TicketFieldChange[] {
  const out: TicketFieldChange[] = [];
  for (const it of items) {
    const field = FIELD_OF[it.fieldId ?? it.field] ?? FIELD_OF[it.field];
    if (!field) continue;
    out.push({
      field,
      from: it.fromString ?? null,
      to: it.toString ?? null,
      fromId: it.from ?? null,
      toId: it.to ?? null,
    });
  }
  return out;
}

function commentOf(c: z.infer<typeof comment>): TicketComment {
  return {
    id: c.id,
    author: person(c.author),
    body: c.body.length > COMMENT_TEXT_LIMIT ? `${c.body.slice(0, COMMENT_TEXT_LIMIT)}…` : c.body,
    created: c.created,
    updated: c.updated,
  };
}

/** Both deliveries of one comment change share this identity (and so dedup to one reply). */
function commentIdentity(kind: TicketEventKind, c: TicketComment, timestamp: number): string {
  if (kind === 'comment_created') return `jira:comment:${c.id}:created`;
  if (kind === 'comment_deleted') return `jira:comment:${c.id}:deleted`;
  return `jira:comment:${c.id}:updated:${c.updated ?? timestamp}`;
}

/**
 * Maps a Jira webhook body to a `TicketEvent` (pure). Comment changes arrive twice (as
 * `comment_*` and as `jira:issue_updated` with `issue_commented|issue_comment_edited|
 * issue_comment_deleted`); both map to the same `eventId`. Unknown events are `ignored`.
 */
export function parseJiraWebhook(body: unknown): ParsedTrackerWebhook {
  const env = jiraWebhookEnvelopeSchema.safeParse(body);
  if (!env.success) return { kind: 'invalid', message: describeZodIssues(env.error.issues) };
  const { webhookEvent, issue_event_type_name: typeName, timestamp } = env.data;
  const sourceType = typeName ? `${webhookEvent}/${typeName}` : webhookEvent;

  const commentKind = COMMENT_EVENTS[webhookEvent];
  if (commentKind) {
    const p = commentEventSchema.safeParse(body);
    if (!p.success) return { kind: 'invalid', message: describeZodIssues(p.error.issues) };
    const c = commentOf(p.data.comment);
    // Comment events have no top-level `user`: the actor is the comment's author or last editor.
    const actor =
      person(p.data.user) ??
      (commentKind === 'comment_created'
        ? c.author
        : commentKind === 'comment_updated'
          ? person(p.data.comment.updateAuthor)
          : undefined);
    return {
      kind: 'event',
      event: {
        eventId: commentIdentity(commentKind, c, timestamp),
        tracker: 'jira',
        kind: commentKind,
        occurredAtMs: timestamp,
        actor,
        issue: issueSnapshot(p.data.issue),
        // Comment events carry a trimmed issue: no labels or components to filter on.
        complete: false,
        changes: [],
        comment: c,
        sourceType,
      },
    };
  }

  const issueKind = ISSUE_EVENTS[webhookEvent];
  if (!issueKind) return { kind: 'ignored', sourceType };
  const p = issueEventSchema.safeParse(body);
  if (!p.success) return { kind: 'invalid', message: describeZodIssues(p.error.issues) };
  const d = p.data;
  const base = {
    tracker: 'jira',
    occurredAtMs: timestamp,
    actor: person(d.user),
    issue: issueSnapshot(d.issue),
    complete: true,
    sourceType,
  };
  if (issueKind === 'issue_created') {
    return {
      kind: 'event',
      event: { ...base, eventId: `jira:issue:${d.issue.id}:created`, kind: issueKind, changes: [] },
    };
  }
  if (issueKind === 'issue_deleted') {
    return {
      kind: 'event',
      event: { ...base, eventId: `jira:issue:${d.issue.id}:deleted`, kind: issueKind, changes: [] },
    };
  }
  const twin = typeName ? COMMENT_TWINS[typeName] : undefined;
  if (d.changelog) {
    return {
      kind: 'event',
      event: {
        ...base,
        eventId: `jira:changelog:${d.changelog.id}`,
        kind: 'issue_updated',
        changes: changes(d.changelog.items),
        changeId: d.changelog.id,
      },
    };
  }
  if (twin && d.comment) {
    const c = commentOf(d.comment);
    return {
      kind: 'event',
      event: { ...base, eventId: commentIdentity(twin, c, timestamp), kind: twin, changes: [], comment: c },
    };
  }
  if (twin) return { kind: 'invalid', message: `comment: required for ${typeName}` };
  // An update with neither a changelog nor a comment (e.g. a property change): only the root may change.
  return {
    kind: 'event',
    event: { ...base, eventId: `jira:issue:${d.issue.id}:updated:${timestamp}`, kind: 'issue_updated', changes: [] },
  };
}

import type { MirroredField, TicketScope, TicketSnapshot } from '../contract.js';
import type { TicketSyncConfig, TicketSyncRule } from '../config.js';

/**
 * Which tracker issues sync to which Slack channel, by the validated sync configuration
 * (config.ts, docs/tickets.md). Pure; the webhook route asks it about every event, so a
 * configuration change applies to the next event without touching running threads.
 *
 * A rule: `project` → `channel`, `enabled`, narrowing filters `issueTypes`, `priorities`,
 * `labels`, `components` (empty = any; labels and components match when the issue has any of
 * them), the `fields` its threads mirror, and what `/ticket` files by default (`create`).
 */
export type { TicketSyncConfig, TicketSyncRule };

/** What a thread mirrors unless its rule says otherwise. */
export const DEFAULT_MIRRORED_FIELDS: MirroredField[] = [
  'status',
  'assignee',
  'priority',
  'summary',
  'issuetype',
  'comments',
];

const anyOf = (filter: string[], values: readonly string[]) =>
  filter.length === 0 || values.some((v) => filter.some((f) => f.toLowerCase() === v.toLowerCase()));
const oneOf = (filter: string[], value: string | null | undefined) =>
  filter.length === 0 || (value != null && filter.some((f) => f.toLowerCase() === value.toLowerCase()));

/** `yes`, `no`, or `unknown` when the snapshot lacks a field this rule filters on. */
function ruleMatches(rule: TicketSyncRule, issue: TicketSnapshot, complete: boolean): 'yes' | 'no' | 'unknown' {
  if (rule.issueTypes.length && issue.type === undefined) return 'unknown';
  if (!oneOf(rule.issueTypes, issue.type)) return 'no';
  if (rule.priorities.length && issue.priority === undefined) return 'unknown';
  if (!oneOf(rule.priorities, issue.priority)) return 'no';
  const needsLists = rule.labels.length > 0 || rule.components.length > 0;
  if (needsLists && (!complete || issue.labels === undefined || issue.components === undefined)) return 'unknown';
  if (!anyOf(rule.labels, issue.labels ?? [])) return 'no';
  if (!anyOf(rule.components, issue.components ?? [])) return 'no';
  return 'yes';
}

/** The first enabled rule of the issue's project that matches it decides where (and whether) it syncs. */
export function scopeOf(config: TicketSyncConfig, issue: TicketSnapshot, complete: boolean): TicketScope {
  const candidates = config.rules.filter((r) => r.project.toUpperCase() === issue.project.toUpperCase());
  if (candidates.length === 0) return { state: 'out', reason: `project ${issue.project} is not synced` };
  const enabled = candidates.filter((r) => r.enabled);
  if (enabled.length === 0) return { state: 'out', reason: `sync for project ${issue.project} is switched off` };
  let unknown = false;
  for (const rule of enabled) {
    const m = ruleMatches(rule, issue, complete);
    if (m === 'yes') return { state: 'in', ruleId: rule.id, channel: rule.channel, fields: [...rule.fields] };
    if (m === 'unknown') unknown = true;
  }
  return unknown
    ? { state: 'unknown' }
    : { state: 'out', reason: `it no longer matches the sync rules for ${issue.project}` };
}

/** Enabled rules whose threads go to this channel (what `/ticket` may file there), in config order. */
export function rulesForChannel(config: TicketSyncConfig, channel: string): TicketSyncRule[] {
  return config.rules.filter((r) => r.enabled && r.channel === channel);
}

import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes the workflows upsert. SQLite-backed dev servers allow few of them
 * (10 Keyword), so keep this list short. Values are ids and states, never PII: search
 * attributes are not encrypted by a payload codec.
 */
export const SEARCH_ATTRIBUTES = {
  /** Business subject, `<kind>:<id>` (the lifecycle's workflow id). */
  ThreadlineSubject: 'Keyword',
  /** A kind a flow declares (`flow.ts` `kinds`), or `ping`. */
  ThreadlineKind: 'Keyword',
  /** The lifecycle's current status (e.g. `captured`, `pending`). */
  ThreadlineStatus: 'Keyword',
} as const;

/** Typed keys for `upsertSearchAttributes`, shared by every workflow. */
export const SA_SUBJECT = defineSearchAttributeKey('ThreadlineSubject', SearchAttributeType.KEYWORD);
export const SA_KIND = defineSearchAttributeKey('ThreadlineKind', SearchAttributeType.KEYWORD);
export const SA_STATUS = defineSearchAttributeKey('ThreadlineStatus', SearchAttributeType.KEYWORD);

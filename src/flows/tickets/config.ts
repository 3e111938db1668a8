import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { channelId, duration, optionalString } from '../../platform/config/index.js';
import { defineFlowConfig } from '../../platform/flow.js';
import { describeZodIssues } from '../../platform/http/errors.js';
import { TICKET_FIELDS } from './contract.js';
import { DEFAULT_MIRRORED_FIELDS } from './domain/sync-rules.js';

/** The emulator's ticket channel: in sandbox mode its `OPS` and `SUP` projects sync there. */
export const SANDBOX_TICKET_CHANNEL = 'C0TICKETS';

const names = z.array(z.string().trim().min(1)).default([]);

/** One sync rule as written in the configuration (docs/tickets.md). */
export const syncRuleSchema = z
  .object({
    id: z.string().regex(/^[\w.-]{1,64}$/, 'a rule name of letters, digits, _ . -'),
    project: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]{0,49}$/, 'a Jira project key like OPS')
      .transform((k) => k.toUpperCase()),
    channel: channelId,
    enabled: z.boolean().default(true),
    issueTypes: names,
    priorities: names,
    labels: names,
    components: names,
    fields: z.array(z.enum([...TICKET_FIELDS, 'comments'])).default([...DEFAULT_MIRRORED_FIELDS]),
    create: z
      .object({ issueType: z.string().trim().min(1).default('Task') })
      .strict()
      .default({ issueType: 'Task' }),
  })
  .strict();

/** The sync configuration: `{"rules": [...]}`. Rule ids are unique. */
export const syncConfigSchema = z
  .object({ rules: z.array(syncRuleSchema) })
  .strict()
  .refine((c) => new Set(c.rules.map((r) => r.id)).size === c.rules.length, {
    message: 'rule ids must be unique',
    path: ['rules'],
  });

/** A validated rule (domain/sync-rules.ts decides scope with it). */
export type TicketSyncRule = z.output<typeof syncRuleSchema>;
export type TicketSyncConfig = z.output<typeof syncConfigSchema>;

/** Sandbox default: the emulator's OPS and SUP projects both sync to #tickets, every issue, every field. */
export const SANDBOX_SYNC_CONFIG: TicketSyncConfig = syncConfigSchema.parse({
  rules: [
    { id: 'ops', project: 'OPS', channel: SANDBOX_TICKET_CHANNEL },
    { id: 'sup', project: 'SUP', channel: SANDBOX_TICKET_CHANNEL },
  ],
});

export interface TicketsConfig {
  sync: TicketSyncConfig;
  /** Where the sync configuration came from (shown at start-up and in docs). */
  syncSource: 'file' | 'env' | 'sandbox' | 'none';
  /** Tracker events within this window are ordered by their own time and bursts merged into one reply. */
  mergeWindowMs: number;
  /** What deleting a Slack reply does to its Jira comment. */
  slackDeleteMode: 'delete' | 'mark';
  /** Test hook: continue ticket workflows as new after this many history events. */
  continueAsNewAfterEvents: number | undefined;
}

export const ticketsConfig = defineFlowConfig(
  {
    TICKET_SYNC_FILE: optionalString,
    TICKET_SYNC: optionalString,
    TICKET_MERGE_WINDOW: duration('1s'),
    TICKET_SLACK_DELETE: z.enum(['delete', 'mark']).default('mark'),
    TICKET_CONTINUE_AS_NEW_AFTER_EVENTS: z.coerce.number().int().min(20).optional(),
  },
  (e, ctx): TicketsConfig => {
    if (e.TICKET_SYNC_FILE && e.TICKET_SYNC) ctx.problem('TICKET_SYNC_FILE / TICKET_SYNC: set one, not both');
    const parse = (name: string, text: string): TicketSyncConfig | undefined => {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (err) {
        ctx.problem(`${name}: not valid JSON (${(err as Error).message})`);
        return undefined;
      }
      const r = syncConfigSchema.safeParse(json);
      if (!r.success) ctx.problem(`${name}: ${describeZodIssues(r.error.issues)}`);
      return r.success ? r.data : undefined;
    };
    let sync: TicketSyncConfig | undefined;
    let syncSource: TicketsConfig['syncSource'] = 'none';
    if (e.TICKET_SYNC_FILE) {
      let text: string | undefined;
      try {
        text = readFileSync(e.TICKET_SYNC_FILE, 'utf8');
      } catch (err) {
        ctx.problem(
          `TICKET_SYNC_FILE: cannot read ${e.TICKET_SYNC_FILE} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        );
      }
      if (text !== undefined) sync = parse('TICKET_SYNC_FILE', text);
      syncSource = 'file';
    } else if (e.TICKET_SYNC) {
      sync = parse('TICKET_SYNC', e.TICKET_SYNC);
      syncSource = 'env';
    } else if (ctx.sandbox) {
      sync = SANDBOX_SYNC_CONFIG;
      syncSource = 'sandbox';
    }
    return {
      sync: sync ?? { rules: [] },
      syncSource,
      mergeWindowMs: e.TICKET_MERGE_WINDOW,
      slackDeleteMode: e.TICKET_SLACK_DELETE,
      continueAsNewAfterEvents: e.TICKET_CONTINUE_AS_NEW_AFTER_EVENTS,
    };
  },
);

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { duration, optionalString } from '../../platform/config/index.js';
import { defineFlowConfig } from '../../platform/flow.js';
import type { AssignmentRules } from './domain/rules.js';
import { parseAssignmentRules, SANDBOX_RULES_YAML, type RulesSource } from './rules.js';

export interface AssignmentConfig {
  /** The rules read at start-up; undefined outside the sandbox when none are configured (assignment is off). */
  rules: AssignmentRules | undefined;
  rulesSource: RulesSource;
  /** While the `assignment` flag is off for an issue, routing is retried this often. */
  flagRecheckMs: number;
  /** How often the reconciliation Schedule runs. */
  reconcileEveryMs: number;
  /** Jira issues per enhanced-search page during reconciliation. */
  reconcilePageSize: number;
}

/**
 * ASSIGNMENT_RULES_FILE (a YAML or JSON file, re-read when it changes) or ASSIGNMENT_RULES (the
 * rules inline). In the sandbox, without either, the built-in rules route the emulator's OPS
 * issues to Bob, Carol and Dave. Invalid rules fail start-up naming the rule and the field.
 */
export const assignmentConfig = defineFlowConfig(
  {
    ASSIGNMENT_RULES_FILE: optionalString,
    ASSIGNMENT_RULES: optionalString,
    ASSIGNMENT_FLAG_RECHECK: duration('5m'),
    ASSIGNMENT_RECONCILE_EVERY: duration('1h'),
    ASSIGNMENT_RECONCILE_PAGE_SIZE: z.coerce.number().int().min(1).max(100).default(50),
  },
  (e, ctx): AssignmentConfig => {
    let text: string | undefined;
    let source: RulesSource = { kind: 'sandbox' };
    if (e.ASSIGNMENT_RULES_FILE) {
      source = { kind: 'file', path: e.ASSIGNMENT_RULES_FILE };
      try {
        text = readFileSync(e.ASSIGNMENT_RULES_FILE, 'utf8');
      } catch (err) {
        ctx.problem(
          `ASSIGNMENT_RULES_FILE: cannot read ${e.ASSIGNMENT_RULES_FILE} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        );
      }
    } else if (e.ASSIGNMENT_RULES) {
      source = { kind: 'env' };
      text = e.ASSIGNMENT_RULES;
    } else if (ctx.sandbox) text = SANDBOX_RULES_YAML;
    let rules: AssignmentRules | undefined;
    if (text !== undefined) {
      const parsed = parseAssignmentRules(text);
      const name = source.kind === 'file' ? 'ASSIGNMENT_RULES_FILE' : 'ASSIGNMENT_RULES';
      if (parsed.ok) rules = parsed.rules;
      else for (const p of parsed.problems) ctx.problem(`${name}: ${p}`);
    }
    return {
      rules,
      rulesSource: source,
      flagRecheckMs: e.ASSIGNMENT_FLAG_RECHECK,
      reconcileEveryMs: e.ASSIGNMENT_RECONCILE_EVERY,
      reconcilePageSize: e.ASSIGNMENT_RECONCILE_PAGE_SIZE,
    };
  },
);

import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';
import { FailureType } from '../../platform/temporal/failure-types.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import { classifyJiraError, toJiraActivityFailure } from './errors.js';

/**
 * One Jira call, the way every Jira adapter makes it: failures classified by the error table
 * (errors.ts) into the ApplicationFailure the activity retry policies understand, every outcome
 * counted in `threadline_external_calls_total{system="jira"}`, and the response validated when a
 * schema is given (an unreadable answer is permanent: retrying will not change its shape).
 */
export function jiraCaller(metrics: Metrics | undefined) {
  const count = (method: string, outcome: string) => metrics?.externalCalls.inc({ system: 'jira', method, outcome });
  return async function call<T>(method: string, fn: () => Promise<unknown>, schema?: z.ZodType<T>): Promise<T> {
    let res: unknown;
    try {
      res = await fn();
    } catch (err) {
      const c = classifyJiraError(err);
      count(method, c.kind);
      throw toJiraActivityFailure(method, c);
    }
    if (!schema) {
      count(method, 'ok');
      return res as T;
    }
    const parsed = schema.safeParse(res);
    if (!parsed.success) {
      count(method, 'invalid_response');
      throw ApplicationFailure.create({
        type: FailureType.Permanent,
        message: `Jira ${method}: unexpected response (${parsed.error.issues[0]?.path.join('.') ?? '?'})`,
        nonRetryable: true,
        details: [{ system: 'jira', method, kind: 'permanent', error: 'invalid_response' }],
      });
    }
    count(method, 'ok');
    return parsed.data;
  };
}

import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';
import { FailureType } from '../../platform/temporal/failure-types.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import { classifyJiraError, toJiraActivityFailure } from './errors.js';

/**
 * One Jira call, the way every Jira adapter makes it: failures classified by the error table
 * (errors.ts) into the ApplicationFailure the activity retry policies understand, every outcome
 * counted in `threadline_external_calls_total{system="jira"}` and timed in
 * `threadline_external_call_duration_seconds` (errors by code in `threadline_external_call_errors_total`), and the response validated when a
 * schema is given (an unreadable answer is permanent: retrying will not change its shape).
 */
export function jiraCaller(metrics: Metrics | undefined) {
  const count = (method: string, outcome: string) => metrics?.externalCalls.inc({ system: 'jira', method, outcome });
  return async function call<T>(method: string, fn: () => Promise<unknown>, schema?: z.ZodType<T>): Promise<T> {
    let res: unknown;
    const timer = metrics?.externalCallDuration.startTimer({ system: 'jira', method });
    try {
      res = await fn();
      timer?.({ outcome: 'ok' });
    } catch (err) {
      const c = classifyJiraError(err);
      count(method, c.kind);
      timer?.({ outcome: c.kind });
      metrics?.externalCallErrors.inc({ system: 'jira', method, code: c.error });
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

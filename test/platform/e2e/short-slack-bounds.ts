import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

/**
 * Test-only workflow interceptor: the same presets, but Slack posts and updates (and audit
 * writes, local bookkeeping activities too) give up after 3 quick attempts instead of 15 (30) minutes, so "a step ran out of
 * retries" happens within a test. Everything else (the activities, the workflows, tolerant, the
 * auditor, the reporter) is the real code.
 */
const SHORTENED = new Set(['postSlackMessage', 'updateSlackMessage', 'recordAudit']);

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      scheduleActivity(input, next) {
        if (!SHORTENED.has(input.activityType)) return next(input);
        return next({
          ...input,
          options: {
            ...input.options,
            retry: { ...input.options.retry, initialInterval: '100ms', maximumInterval: '200ms', maximumAttempts: 3 },
          },
        });
      },
      // Local activities (database bookkeeping, participant lookups): shortened alike.
      scheduleLocalActivity(input, next) {
        return next({
          ...input,
          options: {
            ...input.options,
            retry: { ...input.options.retry, initialInterval: '100ms', maximumInterval: '200ms', maximumAttempts: 3 },
          },
        });
      },
    },
  ],
});

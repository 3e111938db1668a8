import { activityInfo } from '@temporalio/activity';

/** The running activity's attempt number (1 outside an activity context, e.g. direct calls in tests). */
export function currentAttempt(): number {
  try {
    return activityInfo().attempt;
  } catch {
    return 1;
  }
}

import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../../src/platform/config/index.js';

describe('payment config', () => {
  it('defaults: escalate 30m, overdue 2h, grace 7d, initiation wait 10s', () => {
    expect(loadConfig({ THREADLINE_SANDBOX: 'true' }).payments).toEqual({
      escalateAfterMs: 1_800_000,
      overdueAfterMs: 7_200_000,
      refundGraceMs: 604_800_000,
      initiationWaitMs: 10_000,
    });
  });
  it('parses durations and names a bad one', () => {
    const c = loadConfig({ THREADLINE_SANDBOX: 'true', PAYMENT_ESCALATE_AFTER: '500ms', PAYMENT_OVERDUE_AFTER: '2s' });
    expect(c.payments.escalateAfterMs).toBe(500);
    expect(c.payments.overdueAfterMs).toBe(2000);
    expect(() => loadConfig({ THREADLINE_SANDBOX: 'true', PAYMENT_ESCALATE_AFTER: 'soon' })).toThrow(
      /PAYMENT_ESCALATE_AFTER/,
    );
    expect(() => loadConfig({ THREADLINE_SANDBOX: 'true', PAYMENT_ESCALATE_AFTER: '3h' })).toThrow(ConfigError);
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type Config } from '../../../../src/config.js';
import { paymentsFlow } from '../../../../src/flows/payments/flow.js';
import { flowConfigOf } from '../../../../src/platform/flow.js';

const payments = (c: Config) => flowConfigOf(c, paymentsFlow);

describe('payment config', () => {
  it('defaults: escalate 30m, overdue 2h, grace 7d, initiation wait 10s', () => {
    expect(payments(loadConfig({ THREADLINE_SANDBOX: 'true' })).policy).toEqual({
      escalateAfterMs: 1_800_000,
      overdueAfterMs: 7_200_000,
      refundGraceMs: 604_800_000,
      initiationWaitMs: 10_000,
    });
  });
  it('parses durations and names a bad one', () => {
    const c = loadConfig({ THREADLINE_SANDBOX: 'true', PAYMENT_ESCALATE_AFTER: '500ms', PAYMENT_OVERDUE_AFTER: '2s' });
    expect(payments(c).policy.escalateAfterMs).toBe(500);
    expect(payments(c).policy.overdueAfterMs).toBe(2000);
    expect(() => loadConfig({ THREADLINE_SANDBOX: 'true', PAYMENT_ESCALATE_AFTER: 'soon' })).toThrow(
      /PAYMENT_ESCALATE_AFTER/,
    );
    expect(() => loadConfig({ THREADLINE_SANDBOX: 'true', PAYMENT_ESCALATE_AFTER: '3h' })).toThrow(ConfigError);
  });
});

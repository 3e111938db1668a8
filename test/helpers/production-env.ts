/** Every routing channel (and the payload key) a config outside the sandbox requires besides Slack credentials. */
export const PRODUCTION_CHANNELS = {
  THREADLINE_PAYLOAD_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
  SLACK_CHANNEL_PAYMENTS: 'C01PAY',
  SLACK_CHANNEL_PART_PAYMENTS: 'C02PART',
  SLACK_CHANNEL_APPROVALS: 'C03APPR',
  SLACK_CHANNEL_ESCALATIONS: 'C04ESC',
  SLACK_CHANNEL_OPS: 'C05OPS',
};

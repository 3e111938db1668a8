import bolt from '@slack/bolt';

/**
 * The Slack Bolt for JS baseline of `bench/slack-ingress.bench.ts`: an app on Bolt's HTTPReceiver
 * at `/slack/events` (Bolt's one endpoint for events and interactions) with a no-op `message`
 * listener and a no-op `tl:` action listener that ack and count. It verifies, parses and
 * acks like any Bolt app, and persists nothing. Used in the bench process (`one` topology) and by
 * bench/bolt-server.ts (its own process).
 */
export function boltBaseline(secret: string, token: string): { app: bolt.App; seen: () => number } {
  const app = new bolt.App({
    token,
    signingSecret: secret,
    receiver: new bolt.HTTPReceiver({ signingSecret: secret, endpoints: '/slack/events' }),
    // Without these Bolt calls auth.test (slack.com) on the first event to learn who it is.
    tokenVerificationEnabled: false,
    botId: 'B0TLBOT',
    botUserId: 'U0TLBOT',
    logLevel: bolt.LogLevel.ERROR,
  });
  let seen = 0;
  app.event('message', async () => {
    seen++;
  });
  app.action(/^tl:/, async ({ ack }) => {
    await ack();
    seen++;
  });
  return { app, seen: () => seen };
}

import { startSlackEmulator, type SlackEmulator } from '../../emulators/slack/server.js';
import type { Config } from '../../src/config.js';

/**
 * Pieces for a stack composed by hand (tests that stop the worker or Temporal on their own): the
 * Slack emulator with the config's credentials (no rate limits, quick event retries), and its
 * app URLs pointed at an API.
 */
export function startSlackFor(config: Config): Promise<SlackEmulator> {
  return startSlackEmulator({
    port: 0,
    botToken: config.slack.botToken,
    signingSecret: config.slack.signingSecret,
    rateLimits: false,
    eventRetryDelaysMs: [50, 100, 200],
  });
}

export function routeSlackTo(slack: SlackEmulator, apiUrl: string): void {
  slack.setAppUrls({
    events: `${apiUrl}/slack/events`,
    interactivity: `${apiUrl}/slack/interactions`,
    commands: `${apiUrl}/slack/commands`,
  });
}

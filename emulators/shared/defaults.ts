/**
 * Sandbox credentials. The emulators accept exactly the credentials the app is configured with
 * (same env var names); these are the documented fallbacks when a variable is unset.
 * `test/unit/sandbox-defaults.test.ts` keeps them equal to src/config's sandbox defaults.
 */
export const SANDBOX_DEFAULTS = {
  SLACK_BOT_TOKEN: 'xoxb-threadline-sandbox-token',
  SLACK_SIGNING_SECRET: 'threadline-sandbox-signing-secret',
  JIRA_EMAIL: 'threadline-bot@example.com',
  JIRA_API_TOKEN: 'threadline-sandbox-jira-token',
  JIRA_WEBHOOK_SECRET: 'threadline-sandbox-jira-webhook-secret',
} as const;

export const DEFAULT_SLACK_EMULATOR_PORT = 3101;
export const DEFAULT_JIRA_EMULATOR_PORT = 3102;

import { z } from 'zod';
import type { AnyFlow, FlowConfigContext } from '../flow.js';
import { parsePayloadKeys, type PayloadKey } from '../temporal/codec.js';
import { buildFlagsConfig, flagsEnv, type FlagsConfig } from '../flags/config.js';
import { parsePostAs, type PostAsConfig } from '../installations/post-as.js';

/**
 * Sandbox credentials: what the app and the emulators use when the env leaves them unset in
 * sandbox mode. Documented in the README; kept equal to emulators/shared/defaults.ts by a test.
 */
export const SANDBOX_CREDENTIALS = {
  SLACK_BOT_TOKEN: 'xoxb-threadline-sandbox-token',
  SLACK_SIGNING_SECRET: 'threadline-sandbox-signing-secret',
  JIRA_EMAIL: 'threadline-bot@example.com',
  JIRA_API_TOKEN: 'threadline-sandbox-jira-token',
  JIRA_WEBHOOK_SECRET: 'threadline-sandbox-jira-webhook-secret',
  THREADLINE_API_KEYS: 'tl_sandbox_key',
  /** Key id `sandbox`, the 32 ASCII bytes `threadline-sandbox-payload-key!!`: public, so sandbox histories are not secret. */
  THREADLINE_PAYLOAD_KEYS: 'sandbox:dGhyZWFkbGluZS1zYW5kYm94LXBheWxvYWQta2V5ISE=',
  /** OAuth client of the sandbox app (the emulator accepts any client unless told otherwise). */
  SLACK_CLIENT_ID: '1111111111.2222222222',
  SLACK_CLIENT_SECRET: 'threadline-sandbox-client-secret',
  SLACK_STATE_SECRET: 'threadline-sandbox-state-secret',
  /** Key id `sandbox-tokens`, the 32 ASCII bytes `threadline-sandbox-token-key!!!!`: public, like the payload key. */
  THREADLINE_TOKEN_KEYS: 'sandbox-tokens:dGhyZWFkbGluZS1zYW5kYm94LXRva2VuLWtleSEhISE=',
} as const;

/** The emulator's operations channel: where permanent failures are announced in sandbox mode. */
export const SANDBOX_OPS_CHANNEL = 'C0OPSALERT';

/** Default task queue (overridable with TEMPORAL_TASK_QUEUE). */
export const DEFAULT_TASK_QUEUE = 'threadline';

export const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();
const port = (def: number) => z.coerce.number().int().min(0).max(65535).default(def);
const url = z.url({ protocol: /^https?$/ });
/** `500ms`, `90s`, `30m`, `2h`, `7d` → milliseconds. */
export const duration = (def: string) =>
  z
    .string()
    .trim()
    .default(def)
    .pipe(
      z
        .string()
        .regex(/^\d+(ms|s|m|h|d)$/, 'a duration like 500ms, 90s, 30m, 2h or 7d')
        .transform((v) => {
          const [, n, unit] = /^(\d+)(ms|s|m|h|d)$/.exec(v)!;
          const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit as 'ms' | 's' | 'm' | 'h' | 'd'];
          return Number(n) * mult;
        }),
    );
export const channelId = z.string().regex(/^[CGD][A-Z0-9]{2,}$/, 'a Slack channel id like C0123ABCD');

/** The platform's env variables. Each flow adds its own (`config` in its flow.ts); the README documents all. */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('0.0.0.0'),
  PORT: port(3000),
  WORKER_METRICS_PORT: port(9464),
  TEMPORAL_METRICS_PORT: port(9465),
  DATA_DIR: z.string().min(1).default('.data'),

  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default(DEFAULT_TASK_QUEUE),
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_TLS_CERT_PATH: optionalString,
  TEMPORAL_TLS_KEY_PATH: optionalString,
  TEMPORAL_DEV_PORT: port(7233),
  TEMPORAL_UI_PORT: port(8233),
  THREADLINE_PAYLOAD_KEYS: optionalString,
  THREADLINE_CODEC_CORS_ORIGINS: optionalString,

  DATABASE_URL: optionalString.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
  EMBEDDED_POSTGRES_PORT: port(5433),

  THREADLINE_SANDBOX: z.stringbool().optional(),
  THREADLINE_API_KEYS: optionalString,

  SLACK_BOT_TOKEN: optionalString,
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_SIGNING_SECRET_PREVIOUS: optionalString,
  SLACK_SIGNING_SECRET_PREVIOUS_UNTIL: optionalString.pipe(z.iso.datetime({ offset: true }).optional()),
  SLACK_APP_TOKEN: optionalString.pipe(z.string().startsWith('xapp-', 'an app-level token xapp-…').optional()),
  SLACK_CLIENT_ID: optionalString,
  SLACK_CLIENT_SECRET: optionalString,
  SLACK_STATE_SECRET: optionalString,
  THREADLINE_TOKEN_KEYS: optionalString,
  THREADLINE_PUBLIC_URL: optionalString.pipe(url.optional()),
  SLACK_OPS_TEAM_ID: optionalString.pipe(
    z
      .string()
      .regex(/^[TE][A-Z0-9]{2,}$/, 'a team id like T0123ABCD')
      .optional(),
  ),
  SLACK_API_URL: optionalString.pipe(url.optional()),
  SLACK_EMULATOR_PORT: port(3101),
  SLACK_CHANNEL_OPS: channelId.optional(),
  SLACK_POST_INTERVAL: duration('1s'),
  SLACK_POST_AS: optionalString,
  // The relay (src/platform/relay): hands recorded deliveries to Temporal after the ack.
  RELAY_POLL_INTERVAL: duration('1s'),
  RELAY_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(100),
  RELAY_STUCK_AFTER: duration('60s'),

  JIRA_HOST: optionalString.pipe(url.optional()),
  JIRA_EMAIL: optionalString,
  JIRA_API_TOKEN: optionalString,
  JIRA_WEBHOOK_SECRET: optionalString,
  JIRA_EMULATOR_PORT: port(3102),
  JIRA_ISSUE_WRITE_INTERVAL: duration('250ms'),
  ...flagsEnv,
});
export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env['NODE_ENV'];
  logLevel: Env['LOG_LEVEL'];
  host: string;
  port: number;
  /**
   * The worker process's `/metrics` (ours plus the Temporal SDK's), and the loopback port the
   * SDK's own Prometheus exporter binds for it to read; 0 turns either off.
   */
  workerMetrics: { port: number; temporalPort: number };
  dataDir: string;
  /** The relay: polling fallback, rows per round, and the backlog age past which /readyz says it is stuck. */
  relay: { pollIntervalMs: number; batchSize: number; stuckAfterMs: number };
  /** True when Slack/Jira are the local emulators (no real credentials, or forced). */
  sandbox: boolean;
  temporal: {
    /** Unset: start the embedded Temporal CLI dev server. */
    address: string | undefined;
    namespace: string;
    taskQueue: string;
    apiKey: string | undefined;
    tls: { certPath: string; keyPath: string } | undefined;
    devPort: number;
    uiPort: number;
    /** Payload encryption keys (THREADLINE_PAYLOAD_KEYS): the first encrypts, all decrypt. */
    payloadKeys: PayloadKey[];
    /** Browser origins (the Temporal UI) allowed to call the codec endpoint. */
    codecCorsOrigins: string[];
  };
  /** Unset: start embedded PostgreSQL in `${dataDir}/postgres`. */
  databaseUrl: string | undefined;
  embeddedPostgresPort: number;
  apiKeys: string[];
  slack: {
    /** SLACK_BOT_TOKEN: the single-workspace installation; '' when only OAuth installs are used. */
    botToken: string;
    /** The current signing secret ('' in Socket Mode without one: the HTTP routes then refuse every request). */
    signingSecret: string;
    /** During a signing-secret rotation: the old secret, accepted until `untilMs`. */
    previousSigningSecret: { secret: string; untilMs: number } | undefined;
    /** SLACK_APP_TOKEN: events, interactivity and commands arrive over Socket Mode. */
    appToken: string | undefined;
    /** OAuth v2 installs into many workspaces (unset: single-workspace mode). */
    oauth: { clientId: string; clientSecret: string; stateSecret: string } | undefined;
    /** Encrypts installation tokens at rest (THREADLINE_TOKEN_KEYS): the first seals, all open. */
    tokenKeys: PayloadKey[];
    /** Where Slack sends the browser back to (`<url>/slack/oauth_redirect`); unset: the app's configured URL. */
    publicUrl: string | undefined;
    /** The installation ops-channel messages are posted with (default: SLACK_BOT_TOKEN's workspace). */
    opsTeamId: string | undefined;
    apiUrl: string;
    emulatorPort: number;
    /** Where permanent failures (exhausted retries, dead installations) are announced. */
    opsChannel: string;
    /** Spacing of posts per channel across every worker (src/platform/pacing); 0 turns pacing off. */
    postIntervalMs: number;
    /** SLACK_POST_AS: kind → the connected person whose user token posts its channel messages (else the bot). */
    postAs: PostAsConfig;
  };
  jira:
    | {
        host: string;
        email: string;
        apiToken: string;
        webhookSecret: string | undefined;
        emulatorPort: number;
        /** Spacing of writes to one issue across every worker (src/integrations/jira/pacing.ts); 0 turns it off. */
        issueWriteIntervalMs: number;
      }
    | undefined;
  jiraEmulatorPort: number;
  /** Feature flags from the env (THREADLINE_FLAGS) and the flags the flows declare. */
  flags: FlagsConfig;
  /** Each flow's own config, by flow name (read it with `flowConfigOf(config, flow)`). */
  flows: Record<string, unknown>;
}

/** Thrown when the env is wrong; the message names every bad variable and what it expects. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads and validates the env once, for the platform and every flow given. Called only by entry
 * points (worker, api, dev stack) through `src/config.ts`; everything else receives the result.
 */
export function loadConfigFor(flows: readonly AnyFlow[], env: NodeJS.ProcessEnv = process.env): Config {
  let schema = envSchema;
  for (const f of flows) {
    for (const name of Object.keys(f.config?.env ?? {})) {
      if (name in schema.shape) throw new Error(`env variable ${name} is declared twice (flow ${f.name})`);
    }
    schema = schema.extend(f.config?.env ?? {}) as unknown as typeof envSchema;
  }
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}${describeValue(env, i.path)}`),
    );
  }
  const e = parsed.data;
  const sandbox =
    e.THREADLINE_SANDBOX ??
    (e.SLACK_BOT_TOKEN === undefined &&
      e.SLACK_CLIENT_ID === undefined &&
      e.SLACK_APP_TOKEN === undefined &&
      e.JIRA_HOST === undefined);
  const problems: string[] = [];
  const ctx: FlowConfigContext = {
    sandbox,
    problem: (m) => problems.push(m),
    require: (name, value, sandboxValue, what) => {
      if (value !== undefined) return value;
      if (sandbox) return sandboxValue;
      problems.push(`${name}: required (${what}) when not in sandbox mode`);
      return '';
    },
  };
  const need = (name: keyof typeof SANDBOX_CREDENTIALS, value: string | undefined, what: string): string =>
    ctx.require(name, value, SANDBOX_CREDENTIALS[name], what);

  const oauthWanted = e.SLACK_CLIENT_ID !== undefined || sandbox;
  const oauth = oauthWanted
    ? {
        clientId: need('SLACK_CLIENT_ID', e.SLACK_CLIENT_ID, "the Slack app's client id"),
        clientSecret: need('SLACK_CLIENT_SECRET', e.SLACK_CLIENT_SECRET, "the Slack app's client secret"),
        stateSecret: need('SLACK_STATE_SECRET', e.SLACK_STATE_SECRET, 'a random secret that signs OAuth states'),
      }
    : undefined;
  const tokenKeys = parsePayloadKeys(
    oauth
      ? need('THREADLINE_TOKEN_KEYS', e.THREADLINE_TOKEN_KEYS, '<id>:<base64 32-byte key>[,<id>:<key>…]')
      : (e.THREADLINE_TOKEN_KEYS ?? SANDBOX_CREDENTIALS.THREADLINE_TOKEN_KEYS),
  );
  if (oauth && (e.THREADLINE_TOKEN_KEYS !== undefined || sandbox)) {
    problems.push(...tokenKeys.problems.map((p) => `THREADLINE_TOKEN_KEYS: ${p}`));
  }
  // Single-workspace mode needs the bot token; with OAuth installs it is the optional default workspace.
  const botToken =
    oauth && !sandbox
      ? (e.SLACK_BOT_TOKEN ?? '')
      : need('SLACK_BOT_TOKEN', e.SLACK_BOT_TOKEN, 'a Slack bot token xoxb-…');
  // Socket Mode needs no signing secret (nothing arrives over HTTP); HTTP does.
  const signingSecret =
    e.SLACK_APP_TOKEN !== undefined && !sandbox
      ? (e.SLACK_SIGNING_SECRET ?? '')
      : need('SLACK_SIGNING_SECRET', e.SLACK_SIGNING_SECRET, "the Slack app's signing secret");
  let previousSigningSecret: Config['slack']['previousSigningSecret'];
  if (e.SLACK_SIGNING_SECRET_PREVIOUS !== undefined || e.SLACK_SIGNING_SECRET_PREVIOUS_UNTIL !== undefined) {
    if (e.SLACK_SIGNING_SECRET_PREVIOUS === undefined || e.SLACK_SIGNING_SECRET_PREVIOUS_UNTIL === undefined) {
      problems.push(
        'SLACK_SIGNING_SECRET_PREVIOUS / SLACK_SIGNING_SECRET_PREVIOUS_UNTIL: set both (the old secret, and when it stops being accepted)',
      );
    } else {
      previousSigningSecret = {
        secret: e.SLACK_SIGNING_SECRET_PREVIOUS,
        untilMs: Date.parse(e.SLACK_SIGNING_SECRET_PREVIOUS_UNTIL),
      };
    }
  }
  const postAs = parsePostAs(e.SLACK_POST_AS, flows);
  problems.push(...postAs.problems);
  const slack: Config['slack'] = {
    botToken,
    signingSecret,
    previousSigningSecret,
    appToken: e.SLACK_APP_TOKEN,
    oauth,
    tokenKeys: tokenKeys.keys,
    publicUrl: e.THREADLINE_PUBLIC_URL?.replace(/\/+$/, ''),
    opsTeamId: e.SLACK_OPS_TEAM_ID,
    apiUrl: e.SLACK_API_URL ?? (sandbox ? `http://127.0.0.1:${e.SLACK_EMULATOR_PORT}/api/` : 'https://slack.com/api/'),
    emulatorPort: e.SLACK_EMULATOR_PORT,
    opsChannel: ctx.require(
      'SLACK_CHANNEL_OPS',
      e.SLACK_CHANNEL_OPS,
      SANDBOX_OPS_CHANNEL,
      'a Slack channel id like C0123ABCD',
    ),
    postIntervalMs: e.SLACK_POST_INTERVAL,
    postAs: postAs.postAs,
  };

  let jira: Config['jira'];
  const jiraHost = e.JIRA_HOST ?? (sandbox ? `http://127.0.0.1:${e.JIRA_EMULATOR_PORT}` : undefined);
  if (jiraHost !== undefined) {
    jira = {
      host: jiraHost,
      email: need('JIRA_EMAIL', e.JIRA_EMAIL, 'the Jira integration account email'),
      apiToken: need('JIRA_API_TOKEN', e.JIRA_API_TOKEN, "the integration account's API token"),
      webhookSecret: e.JIRA_WEBHOOK_SECRET ?? (sandbox ? SANDBOX_CREDENTIALS.JIRA_WEBHOOK_SECRET : undefined),
      emulatorPort: e.JIRA_EMULATOR_PORT,
      issueWriteIntervalMs: e.JIRA_ISSUE_WRITE_INTERVAL,
    };
  }

  const apiKeys = (e.THREADLINE_API_KEYS ?? (sandbox ? SANDBOX_CREDENTIALS.THREADLINE_API_KEYS : ''))
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k.length > 0);
  if (apiKeys.some((k) => k.length < 8)) problems.push('THREADLINE_API_KEYS: every key must be at least 8 characters');

  const payloadKeys = parsePayloadKeys(
    need('THREADLINE_PAYLOAD_KEYS', e.THREADLINE_PAYLOAD_KEYS, '<id>:<base64 32-byte key>[,<id>:<key>…]'),
  );
  // An empty value already counts as missing; a set one must parse.
  if (e.THREADLINE_PAYLOAD_KEYS !== undefined || sandbox) {
    problems.push(...payloadKeys.problems.map((p) => `THREADLINE_PAYLOAD_KEYS: ${p}`));
  }
  const codecCorsOrigins = (
    e.THREADLINE_CODEC_CORS_ORIGINS ??
    (sandbox ? `http://localhost:${e.TEMPORAL_UI_PORT},http://127.0.0.1:${e.TEMPORAL_UI_PORT}` : '')
  )
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o.length > 0);
  for (const o of codecCorsOrigins) {
    if (!isOrigin(o))
      problems.push(`THREADLINE_CODEC_CORS_ORIGINS: "${o}" is not an origin like https://temporal.example.com`);
  }

  if ((e.TEMPORAL_TLS_CERT_PATH === undefined) !== (e.TEMPORAL_TLS_KEY_PATH === undefined)) {
    problems.push('TEMPORAL_TLS_CERT_PATH / TEMPORAL_TLS_KEY_PATH: set both or neither');
  }
  const flags = buildFlagsConfig(
    e,
    flows.flatMap((f) => [...(f.flags ?? [])]),
    ctx,
  );
  const flowConfigs: Record<string, unknown> = {};
  for (const f of flows) if (f.config) flowConfigs[f.name] = f.config.build(e, ctx);
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    host: e.HOST,
    port: e.PORT,
    workerMetrics: { port: e.WORKER_METRICS_PORT, temporalPort: e.TEMPORAL_METRICS_PORT },
    dataDir: e.DATA_DIR,
    relay: { pollIntervalMs: e.RELAY_POLL_INTERVAL, batchSize: e.RELAY_BATCH_SIZE, stuckAfterMs: e.RELAY_STUCK_AFTER },
    sandbox,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      apiKey: e.TEMPORAL_API_KEY,
      tls:
        e.TEMPORAL_TLS_CERT_PATH && e.TEMPORAL_TLS_KEY_PATH
          ? { certPath: e.TEMPORAL_TLS_CERT_PATH, keyPath: e.TEMPORAL_TLS_KEY_PATH }
          : undefined,
      devPort: e.TEMPORAL_DEV_PORT,
      uiPort: e.TEMPORAL_UI_PORT,
      payloadKeys: payloadKeys.keys,
      codecCorsOrigins,
    },
    databaseUrl: e.DATABASE_URL,
    embeddedPostgresPort: e.EMBEDDED_POSTGRES_PORT,
    apiKeys,
    slack,
    jira,
    jiraEmulatorPort: e.JIRA_EMULATOR_PORT,
    flags,
    flows: flowConfigs,
  };
}

/** `scheme://host[:port]` and nothing more: what a browser sends as `Origin`. */
function isOrigin(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === value;
  } catch {
    return false;
  }
}

/** Secrets never appear in errors: only non-secret variables echo their bad value. */
function describeValue(env: NodeJS.ProcessEnv, path: PropertyKey[]): string {
  const name = String(path[0] ?? '');
  if (/TOKEN|SECRET|KEY|PASSWORD|DATABASE_URL/.test(name)) return '';
  const v = env[name];
  return v === undefined ? '' : ` (got ${JSON.stringify(v)})`;
}

import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Field names whose values are secrets or bearer capabilities (a `response_url` or a callback URL
 * lets whoever holds it post or read): blanked wherever they appear, up to four levels deep, so a
 * whole config, an error with its request (`err.config.headers.Authorization`) or a workflow input
 * logged by mistake shows `[redacted]`.
 */
const SECRET_FIELDS = [
  'token',
  'botToken',
  'signingSecret',
  'apiToken',
  'apiKey',
  'apiKeys',
  'webhookSecret',
  'razorpayWebhookSecret',
  'callbackSecret',
  'secret',
  'password',
  'databaseUrl',
  'payloadKeys',
  'authorization',
  'Authorization',
  'cookie',
  'responseUrl',
  'response_url',
  'callbackUrl',
];
/** Signature and credential headers (lower case, as Node delivers them). */
const SECRET_HEADERS = [
  'authorization',
  'cookie',
  'set-cookie',
  'x-slack-signature',
  'x-razorpay-signature',
  'x-hub-signature',
  'x-threadline-signature',
  'stripe-signature',
];
const DEPTHS = ['', '*.', '*.*.', '*.*.*.'];

/** Paths pino blanks out wherever they appear: secrets never reach the logs. */
export const REDACT_PATHS = [
  ...DEPTHS.flatMap((d) => SECRET_FIELDS.map((f) => `${d}${f}`)),
  ...DEPTHS.flatMap((d) => SECRET_HEADERS.map((h) => `${d}headers["${h}"]`)),
];

/**
 * The process logger (JSON lines, secrets redacted). `destination` defaults to stdout; tests pass
 * a stream to read what the app logged.
 */
export function createLogger(opts: { level: string; name?: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      level: opts.level,
      name: opts.name ?? 'threadline',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    opts.destination,
  );
}

import pino from 'pino';

export type Logger = pino.Logger;

/** Paths pino blanks out wherever they appear: secrets never reach the logs. */
export const REDACT_PATHS = [
  'token',
  '*.token',
  'botToken',
  '*.botToken',
  'signingSecret',
  '*.signingSecret',
  'apiToken',
  '*.apiToken',
  'webhookSecret',
  '*.webhookSecret',
  'password',
  '*.password',
  'databaseUrl',
  '*.databaseUrl',
  'req.headers.authorization',
  'req.headers["x-slack-signature"]',
  'req.headers["x-razorpay-signature"]',
  'req.headers["x-hub-signature"]',
  'headers.authorization',
];

export function createLogger(opts: { level: string; name?: string }): Logger {
  return pino({
    level: opts.level,
    name: opts.name ?? 'threadline',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  });
}

import { z } from 'zod';

/**
 * Prometheus Alertmanager's webhook receiver payload, version 4 (the only version Alertmanager has
 * sent since 0.x). Validated once here, at the trust boundary; the flow sees `AlertmanagerAlert`.
 * Shape: https://prometheus.io/docs/alerting/latest/configuration/#webhook_config and the sample
 * in shared/reference/payloads/alertmanager_webhook_v4_firing.json.
 */

/** What Alertmanager sends as `endsAt` while an alert is firing (Go's zero time). */
export const ALERTMANAGER_ZERO_TIME = '0001-01-01T00:00:00Z';

const labelName = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a Prometheus label name');
/** Label and annotation values: bounded so one webhook cannot carry megabytes into a workflow. */
const labels = z
  .record(labelName, z.string().max(4096))
  .refine((r) => Object.keys(r).length <= 64, 'at most 64 entries');
const annotations = z
  .record(z.string().min(1).max(256), z.string().max(8192))
  .refine((r) => Object.keys(r).length <= 64, 'at most 64 entries');
const time = z.iso.datetime({ offset: true, message: 'an RFC 3339 time' });
const status = z.enum(['firing', 'resolved']);

export const alertmanagerAlertSchema = z.object({
  status,
  labels,
  annotations: annotations.default({}),
  startsAt: time,
  endsAt: z.union([z.literal(ALERTMANAGER_ZERO_TIME), time]).optional(),
  generatorURL: z.string().max(4096).default(''),
  fingerprint: z.string().regex(/^[0-9a-f]{1,64}$/i, 'a hex fingerprint'),
});

export const alertmanagerWebhookSchema = z.object({
  version: z.literal('4', { message: 'only webhook version "4" is supported' }),
  groupKey: z.string().max(8192),
  truncatedAlerts: z.number().int().min(0).default(0),
  status,
  receiver: z.string().max(512),
  groupLabels: labels.default({}),
  commonLabels: labels.default({}),
  commonAnnotations: annotations.default({}),
  externalURL: z.string().max(4096).default(''),
  alerts: z.array(alertmanagerAlertSchema).min(1, 'at least one alert').max(1000),
});

export type AlertmanagerWebhook = z.infer<typeof alertmanagerWebhookSchema>;
export type AlertmanagerAlert = z.infer<typeof alertmanagerAlertSchema>;

/** The alert's occurrence identity: Alertmanager keeps `startsAt` for as long as the alert fires. */
export function alertmanagerOccurrenceId(a: Pick<AlertmanagerAlert, 'fingerprint' | 'startsAt'>): string {
  return `${a.fingerprint.toLowerCase()}@${new Date(a.startsAt).toISOString()}`;
}

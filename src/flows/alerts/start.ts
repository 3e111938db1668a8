import { createHash } from 'node:crypto';
import {
  ALERTMANAGER_ZERO_TIME,
  alertmanagerOccurrenceId,
  type AlertmanagerAlert,
  type AlertmanagerWebhook,
} from '../../integrations/alertmanager/webhook.js';
import type { AlertsConfig } from './config.js';
import {
  alertWorkflowId,
  type AlertDetails,
  type AlertNotification,
  type AlertSource,
  type AlertWorkflowInput,
} from './contract.js';
import { routeAlert } from './domain/routing.js';

/**
 * Pure helpers the API and slack.ts share: what an Alertmanager alert or a generic alert becomes
 * (details, the routing decision frozen now, the notification), and the workflow's start options.
 */

/** The card's view of one Alertmanager alert (its own labels/annotations first, then the group's). */
export function alertmanagerDetails(hook: AlertmanagerWebhook, a: AlertmanagerAlert): AlertDetails {
  const ann = { ...hook.commonAnnotations, ...a.annotations };
  const title = a.labels.alertname ?? hook.commonLabels.alertname ?? 'Alert';
  const links: AlertDetails['links'] = [];
  if (a.generatorURL) links.push({ text: 'Source', url: a.generatorURL });
  if (ann.runbook_url) links.push({ text: 'Runbook', url: ann.runbook_url });
  if (ann.dashboard_url) links.push({ text: 'Dashboard', url: ann.dashboard_url });
  if (hook.externalURL) links.push({ text: 'Alertmanager', url: hook.externalURL });
  return {
    origin: 'alertmanager',
    title,
    summary: ann.summary ?? ann.message ?? title,
    ...(ann.description ? { description: ann.description } : {}),
    severity: (a.labels.severity ?? hook.commonLabels.severity ?? 'warning').toLowerCase(),
    labels: a.labels,
    links: links.filter((l) => /^https?:\/\//i.test(l.url)),
  };
}

/** The signal one Alertmanager alert becomes; its ledger id is its event id. */
export function alertmanagerNotification(
  cfg: AlertsConfig,
  hook: AlertmanagerWebhook,
  a: AlertmanagerAlert,
  receivedAt: string,
): AlertNotification {
  const occurrenceId = alertmanagerOccurrenceId(a);
  const details = alertmanagerDetails(hook, a);
  return {
    eventId: `am:${occurrenceId}:${a.status}`,
    status: a.status,
    occurrenceId,
    startsAt: new Date(a.startsAt).toISOString(),
    // A resolved alert's endsAt is when it ended (firing ones carry Go's zero time or a guess).
    ...(a.status === 'resolved' && a.endsAt && a.endsAt !== ALERTMANAGER_ZERO_TIME
      ? { endsAt: new Date(a.endsAt).toISOString() }
      : {}),
    receivedAt,
    ...(a.status === 'firing' ? { details, route: routeAlert(cfg.settings, details, 'alertmanager') } : {}),
  };
}

export function alertInput(cfg: AlertsConfig, alertId: string, source: AlertSource): AlertWorkflowInput {
  return { alertId, source, runtime: { reopenWindowMs: cfg.reopenWindowMs } };
}

/**
 * signalWithStart options: one workflow per alert; a closed run (resolved, reopen window over)
 * may be started again by a later firing (ALLOW_DUPLICATE), resuming from its snapshot.
 */
export function alertStartOptions(taskQueue: string, cfg: AlertsConfig, alertId: string, source: AlertSource) {
  return {
    workflowId: alertWorkflowId(alertId),
    taskQueue,
    args: [alertInput(cfg, alertId, source)] as [AlertWorkflowInput],
    workflowIdReusePolicy: 'ALLOW_DUPLICATE' as const,
  };
}

/** A ChatOps run id from the slash command's trigger id: Slack's retries of it join one run. */
export function chatopsRunId(triggerId: string): string {
  return createHash('sha256').update(triggerId).digest('hex').slice(0, 24);
}

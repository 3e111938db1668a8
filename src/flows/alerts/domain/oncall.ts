import type { ScheduleSpec } from '../contract.js';
import { slackDate } from './format.js';
import type { AlertsSettings } from './routing.js';
import { whoIsOnCall } from './schedule.js';

/** `/threadline oncall [schedule]`: who is on call now and next, per schedule (pure; the clock is a parameter). */
export function onCallText(settings: AlertsSettings, name: string | undefined, nowMs: number): string {
  const all = Object.values(settings.schedules);
  if (!all.length) return 'No on-call schedules are configured.';
  const chosen: ScheduleSpec[] = name ? all.filter((s) => s.name === name) : all;
  if (!chosen.length)
    return `No schedule \`${name!.slice(0, 60)}\`. Schedules: ${all.map((s) => `\`${s.name}\``).join(', ')}.`;
  return chosen
    .map((s) => {
      const a = whoIsOnCall(s, nowMs);
      const now = a.now.user ? `<@${a.now.user}>` : 'nobody';
      const until = a.next ? ` until ${slackDate(a.next.from)}` : '';
      const next = a.next ? `; next: ${a.next.user ? `<@${a.next.user}>` : 'nobody'}` : '';
      return `*${s.name}* (${s.timeZone}): ${now} is on call now${until}${next}.`;
    })
    .join('\n');
}

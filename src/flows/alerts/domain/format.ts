/** Small pure formatting helpers shared by the card, the thread replies and /threadline oncall. */

/** `45s`, `12m`, `3h 5m`, `2d 4h`. */
export function describeDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

/** Slack renders `<!date^…>` in each reader's own time zone; the fallback is UTC. */
export function slackDate(ms: number, format = '{date_short_pretty} {time}'): string {
  const fallback = new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `<!date^${Math.floor(ms / 1000)}^${format}|${fallback}>`;
}

export interface SeverityStyle {
  emoji: string;
  /** Hex colour of the incoming-webhook attachment bar. */
  colour: string;
  label: string;
}

const STYLES: Record<string, SeverityStyle> = {
  critical: { emoji: ':red_circle:', colour: '#d92d20', label: 'CRITICAL' },
  page: { emoji: ':red_circle:', colour: '#d92d20', label: 'PAGE' },
  error: { emoji: ':large_orange_circle:', colour: '#f79009', label: 'ERROR' },
  high: { emoji: ':large_orange_circle:', colour: '#f79009', label: 'HIGH' },
  warning: { emoji: ':large_yellow_circle:', colour: '#fdb022', label: 'WARNING' },
  info: { emoji: ':large_blue_circle:', colour: '#2e90fa', label: 'INFO' },
};

export function severityStyle(severity: string): SeverityStyle {
  // A sender's severity label: only the known ones have a style of their own (`constructor` has none).
  return Object.hasOwn(STYLES, severity)
    ? STYLES[severity]!
    : { emoji: ':white_circle:', colour: '#98a2b3', label: severity.toUpperCase().slice(0, 20) || 'ALERT' };
}

/** Cuts text to Slack's limits without breaking a surrogate pair. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max - 1);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return `${cut}…`;
}

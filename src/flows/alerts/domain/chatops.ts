import type { SlackBlock } from '../../../platform/slack/contract.js';
import type { ChatopsRunInput, ChatopsRunState, ChatopsRunStatus } from '../contract.js';
import { clip } from './format.js';
import type { AlertsSettings, ChatopsActionSettings } from './routing.js';

/**
 * `/threadline run <action> [args]`, decided within Slack's 3 s (pure): who may run what, from
 * where, and whether the arguments are valid. Arguments are `name=value` words; a word without
 * `=` fills the next positional argument in the order the action declares them.
 */

export function mayRun(
  settings: AlertsSettings,
  action: ChatopsActionSettings,
  user: string,
  channel: string,
): { ok: true } | { ok: false; message: string } {
  const people = new Set([...action.people, ...action.groups.flatMap((g) => settings.groups[g] ?? [])]);
  if (!people.has(user)) return { ok: false, message: `You are not allowed to run \`${action.name}\`.` };
  if (action.channels.length && !action.channels.includes(channel))
    return {
      ok: false,
      message: `\`${action.name}\` can only be run in ${action.channels.map((c) => `<#${c}>`).join(', ')}.`,
    };
  return { ok: true };
}

export type ParsedArgs = { ok: true; args: Record<string, string> } | { ok: false; message: string };

export function parseActionArgs(action: ChatopsActionSettings, words: string[]): ParsedArgs {
  const args: Record<string, string> = {};
  const positional = action.args.map((a) => a.name);
  for (const w of words) {
    const eq = w.indexOf('=');
    let name: string;
    let value: string;
    if (eq > 0) {
      name = w.slice(0, eq);
      value = w.slice(eq + 1);
    } else {
      const next = positional.find((p) => !(p in args));
      if (!next)
        return { ok: false, message: `\`${action.name}\` takes no more arguments (got \`${w.slice(0, 60)}\`).` };
      name = next;
      value = w;
    }
    const spec = action.args.find((a) => a.name === name);
    if (!spec)
      return { ok: false, message: `\`${action.name}\` has no argument \`${name.slice(0, 60)}\`.${usageHint(action)}` };
    if (name in args) return { ok: false, message: `Argument \`${name}\` is given twice.` };
    args[name] = value;
  }
  for (const spec of action.args) {
    const v = args[spec.name] ?? spec.default;
    if (v === undefined) {
      if (spec.required) return { ok: false, message: `Argument \`${spec.name}\` is required.${usageHint(action)}` };
      continue;
    }
    if (v.length > spec.maxLength)
      return { ok: false, message: `\`${spec.name}\` is longer than ${spec.maxLength} characters.` };
    if (spec.values && !spec.values.includes(v))
      return {
        ok: false,
        message: `\`${spec.name}\` must be one of ${spec.values.map((x) => `\`${x}\``).join(', ')}.`,
      };
    if (spec.pattern && !new RegExp(`^(?:${spec.pattern})$`).test(v))
      return {
        ok: false,
        message: `\`${spec.name}\` must match \`${spec.pattern}\`${spec.description ? ` (${spec.description})` : ''}.`,
      };
    args[spec.name] = v;
  }
  return { ok: true, args };
}

export function actionUsage(action: ChatopsActionSettings): string {
  const args = action.args.map((a) => (a.required ? `${a.name}=…` : `[${a.name}=…]`)).join(' ');
  return `\`/threadline run ${action.name}${args ? ` ${args}` : ''}\``;
}

function usageHint(action: ChatopsActionSettings): string {
  return ` Usage: ${actionUsage(action)}`;
}

/** `/threadline run` alone: the actions this person may run here. */
export function listRunnableActions(settings: AlertsSettings, user: string, channel: string): string {
  const mine = Object.values(settings.actions).filter((a) => mayRun(settings, a, user, channel).ok);
  if (!mine.length) return 'There are no actions you can run in this channel.';
  return [
    '*Actions you can run here:*',
    ...mine.map((a) => `• ${actionUsage(a)}: ${a.description}${a.approval ? ' _(needs approval)_' : ''}`),
  ].join('\n');
}

const RUN_STATUS: Record<ChatopsRunStatus, string> = {
  awaiting_approval: ':hourglass_flowing_sand: Waiting for approval',
  running: ':gear: Running',
  succeeded: ':white_check_mark: Succeeded',
  failed: ':x: Failed',
  rejected: ':no_entry: Not run: the approval was not given',
  approval_failed: ':warning: Not run: the approval could not be opened',
};

/** `service=checkout env=prod`, for people (values are what they typed). */
export function describeArgs(args: Record<string, string>): string {
  return Object.entries(args)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** The run's message in the channel it was invoked from (edited as the run moves on). */
export function buildRunMessage(
  state: ChatopsRunState,
  input: ChatopsRunInput,
): { text: string; blocks: SlackBlock[] } {
  const args = describeArgs(input.args);
  const head = `<@${input.invokedBy}> ran \`${input.action.name}${args ? ` ${args}` : ''}\``;
  const lines = [`*Status:* ${RUN_STATUS[state.status]}`];
  if (state.approvalId)
    lines.push(`*Approval:* \`${state.approvalId}\`${state.approvalStatus ? ` (${state.approvalStatus})` : ''}`);
  if (state.result?.httpStatus !== undefined)
    lines.push(
      `*Endpoint answered:* ${state.result.httpStatus}${state.result.attempts ? ` (attempt ${state.result.attempts})` : ''}`,
    );
  if (state.result?.error) lines.push(`*Error:* ${clip(state.result.error, 300)}`);
  const blocks: SlackBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: clip(`:zap: ${head}: ${input.action.description}`, 2900) } },
    { type: 'section', text: { type: 'mrkdwn', text: clip(lines.join('\n'), 2900) } },
  ];
  if (state.result?.output)
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(`\`\`\`${state.result.output}\`\`\``, 2900) } });
  return { text: clip(`${input.action.name}: ${RUN_STATUS[state.status].replace(/^:[a-z_]+: /, '')}`, 3000), blocks };
}

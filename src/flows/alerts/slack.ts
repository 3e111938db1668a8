import type { FlowSlack } from '../../platform/flow.js';
import type { AlertsConfig } from './config.js';
import { chatopsWorkflowId, type ChatopsRunInput } from './contract.js';
import { actionUsage, listRunnableActions, mayRun, parseActionArgs } from './domain/chatops.js';
import { onCallText } from './domain/oncall.js';
import { chatopsRunId } from './start.js';

/**
 * The alerts flow in Slack: Acknowledge / Escalate / Resolve go through the alert workflow's
 * Update (its validator refuses people who are not entitled, with an ephemeral); `/threadline
 * oncall` answers at once; `/threadline run` validates within the 3 s and starts one run.
 */
export const alertsSlack: FlowSlack<AlertsConfig> = {
  actions: {
    'alert.ack': { mode: 'update' },
    'alert.escalate': { mode: 'update' },
    'alert.resolve': { mode: 'update' },
  },
  subcommands: {
    oncall: {
      usage: '`/threadline oncall [schedule]`',
      description: 'who is on call now and who is next',
      handle: (cmd, ctx) => ({ reply: onCallText(ctx.flowConfig.settings, cmd.args[0], Date.now()) }),
    },
    run: {
      usage: '`/threadline run <action> [args]`',
      description: 'run a ChatOps action (`/threadline run` alone lists the ones you may run here)',
      handle: (cmd, ctx) => {
        const settings = ctx.flowConfig.settings;
        const [name, ...words] = cmd.args;
        if (!name) return { reply: listRunnableActions(settings, cmd.userId, cmd.channelId) };
        // Own keys only: `constructor` or `__proto__` is not an action.
        const action = Object.hasOwn(settings.actions, name) ? settings.actions[name] : undefined;
        if (!action) return { reply: `There is no action \`${name.slice(0, 60)}\`. \`/threadline run\` lists yours.` };
        const allowed = mayRun(settings, action, cmd.userId, cmd.channelId);
        if (!allowed.ok) return { reply: allowed.message };
        const args = parseActionArgs(action, words);
        if (!args.ok) return { reply: args.message };
        const approval = action.approval;
        if (approval && approval.approvers.filter((u) => u !== cmd.userId).length < approval.required)
          return {
            reply: `\`${name}\` needs approval from someone other than you, and not enough approvers are configured.`,
          };
        const runId = chatopsRunId(cmd.triggerId);
        const input: ChatopsRunInput = {
          runId,
          action: {
            name: action.name,
            description: action.description,
            timeoutMs: action.timeoutMs,
            maxAttempts: action.maxAttempts,
            ...(approval ? { approval } : {}),
          },
          args: args.args,
          invokedBy: cmd.userId,
          channel: cmd.channelId,
          requestedAt: new Date().toISOString(),
        };
        return {
          reply: approval
            ? `Asking for approval to run ${actionUsage(action).replace(/=…/g, '')}; it runs once approved (see the thread).`
            : `Running \`${name}\`; the outcome goes in the thread.`,
          start: { workflowType: 'chatopsActionWorkflow', workflowId: chatopsWorkflowId(runId), args: [input] },
        };
      },
    },
  },
};

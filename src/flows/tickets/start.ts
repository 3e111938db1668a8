import type { TicketsConfig } from './config.js';
import { ticketWorkflowId, type TicketWorkflowInput } from './contract.js';

/** The ticket workflow's start input: runtime knobs from config (workflows never read config). */
export function ticketWorkflowInput(cfg: TicketsConfig, opsChannel: string, key: string): TicketWorkflowInput {
  return {
    key,
    mergeWindowMs: cfg.mergeWindowMs,
    slackDeleteMode: cfg.slackDeleteMode,
    opsChannel,
    tellsOwner: true,
    ...(cfg.continueAsNewAfterEvents ? { continueAsNewAfterEvents: cfg.continueAsNewAfterEvents } : {}),
  };
}

/** Start options shared by the webhook route and the `/ticket` hand-over (same id → same thread). */
export function ticketStartOptions(opts: { taskQueue: string; cfg: TicketsConfig; opsChannel: string; key: string }) {
  return {
    workflowId: ticketWorkflowId(opts.key),
    taskQueue: opts.taskQueue,
    args: [ticketWorkflowInput(opts.cfg, opts.opsChannel, opts.key)] as [TicketWorkflowInput],
    // A thread that stopped (left the scope) may start again; the new run continues the same
    // thread from the saved snapshot (see the workflow).
    workflowIdReusePolicy: 'ALLOW_DUPLICATE' as const,
  };
}

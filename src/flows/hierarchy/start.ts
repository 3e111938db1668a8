import { createHash } from 'node:crypto';
import type { HierarchyConfig } from './config.js';
import { personChannelWorkflowId, type PersonChannelInput } from './contract.js';

/** The input a person's channel workflow starts with (the policy comes from config, never from a request). */
export function personChannelInput(cfg: HierarchyConfig, personId: string): PersonChannelInput {
  return {
    personId,
    policy: {
      channelNamePattern: cfg.channelNamePattern,
      retryAfterMs: cfg.retryAfterMs,
      idleCloseAfterMs: cfg.idleCloseAfterMs,
    },
  };
}

/**
 * Start options of a person's channel workflow. A closed one (idle) is started again by the next
 * notification: it finds the channel on record.
 */
export function personChannelStartOptions(cfg: HierarchyConfig, taskQueue: string, personId: string) {
  return {
    workflowId: personChannelWorkflowId(personId),
    taskQueue,
    args: [personChannelInput(cfg, personId)] as [PersonChannelInput],
    workflowIdReusePolicy: 'ALLOW_DUPLICATE' as const,
  };
}

/** sha256 of a value's JSON with sorted keys: the same notification body always hashes the same. */
export function bodyHash(value: unknown): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v as Record<string, unknown>)
              .sort()
              .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
          )
        : v;
  return createHash('sha256')
    .update(JSON.stringify(canonical(value)))
    .digest('hex');
}

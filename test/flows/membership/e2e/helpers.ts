import { expect } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { SlackEmulatorAdmin } from '../../../../emulators/slack/admin-client.js';
import type { MembershipSyncResult } from '../../../../src/flows/membership/contract.js';
import type { TestStack } from '../../../helpers/stack.js';
import type { StackContext } from '../../../helpers/use-stack.js';
import { apiCall } from '../../hierarchy/e2e/helpers.js';

export const membershipHarness = (stack: TestStack) => ({
  slack: new SlackEmulatorAdmin(stack.urls.slackEmulator!),
  call: apiCall(stack),
});
export type MembershipHarness = ReturnType<typeof membershipHarness>;

/** Syncs on demand and reads what a sync left behind, for one stack (call inside `describe`). */
export function membershipSyncs(t: StackContext<MembershipHarness>, adminsChannel: string) {
  let lastRun: WorkflowHandle | undefined;
  return {
    /** Triggers a sync and waits for that run to close (the schedule's newest action). */
    sync: async (previous: number): Promise<MembershipSyncResult> => {
      const res = await t.h.call('POST', '/v1/members/sync');
      expect(res.status, await res.text()).toBe(202);
      const handle = t.client.schedule.getHandle(`membersync:${t.stack.taskQueue}`);
      const action = await t.h.slack.waitFor(async () => {
        const d = await handle.describe().catch(() => undefined); // asked again when a loaded server times out
        return d && d.info.recentActions.length > previous ? d.info.recentActions.at(-1) : undefined;
      }, 60_000);
      const run = t.client.workflow.getHandle(
        action.action.workflow.workflowId,
        action.action.workflow.firstExecutionRunId,
      );
      const result = (await run.result()) as MembershipSyncResult;
      lastRun = run;
      return result;
    },
    /** The last run `sync` waited for. */
    lastRun: () => lastRun!,
    member: async (id: string) =>
      (await (await t.h.call('GET', `/v1/members/${id}`)).json()) as {
        state: string;
        inviteError: string | null;
        requestedAction: string | null;
      },
    /** Requests the syncs posted in the admins channel, oldest first. */
    requests: async () =>
      (await t.h.slack.channelMessages(adminsChannel))
        .filter((m) =>
          String((m.metadata?.event_payload as { subject?: string } | undefined)?.subject ?? '').startsWith(
            'membersync:',
          ),
        )
        .sort((a, b) => Number(a.ts) - Number(b.ts)),
    /** Puts the directory, 20 people at a time. */
    putDirectory: async (people: { id: string; email: string; status: string }[]): Promise<void> => {
      for (let i = 0; i < people.length; i += 20)
        await Promise.all(
          people.slice(i, i + 20).map(async (d) => {
            const r = await t.h.call('PUT', `/v1/members/${d.id}`, {
              email: d.email,
              name: `Person ${d.id}`,
              status: d.status,
            });
            expect(r.status).toBe(201);
          }),
        );
    },
  };
}

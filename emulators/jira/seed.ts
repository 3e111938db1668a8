import { z } from 'zod';

/**
 * The fixed world the Jira emulator starts from. Ids mirror Jira Cloud's conventions (numeric strings,
 * statuses shared across company-managed projects) so code never sees shapes real Jira would not send.
 */
const userSchema = z.object({
  accountId: z.string().min(1),
  emailAddress: z.string().min(3),
  displayName: z.string().min(1),
  active: z.boolean().default(true),
  // Jira Cloud reports accountType 'atlassian' for ordinary accounts, including ones using API tokens.
  accountType: z.enum(['atlassian', 'app', 'customer']).default('atlassian'),
  timeZone: z.string().default('Etc/UTC'),
});

const statusSchema = z.object({
  id: z.string(),
  name: z.string(),
  category: z.enum(['new', 'indeterminate', 'done']),
  description: z.string().default(''),
});

const transitionSchema = z.object({
  id: z.string(),
  name: z.string(),
  /** Status names the transition is available from; empty = global (any status other than `to`). */
  from: z.array(z.string()).default([]),
  to: z.string(),
});

const projectSchema = z.object({
  id: z.string(),
  key: z.string().regex(/^[A-Z][A-Z0-9_]+$/),
  name: z.string(),
  leadAccountId: z.string().optional(),
  issueTypes: z
    .array(
      z.object({
        id: z.string(),
        name: z.string(),
        description: z.string().default(''),
        /** Sub-task types need a `parent` on create and list under the parent's `subtasks`. */
        subtask: z.boolean().default(false),
      }),
    )
    .min(1),
  statuses: z.array(statusSchema).min(1),
  /** Name of the status new issues start in; defaults to the first status. */
  initialStatus: z.string().optional(),
  transitions: z.array(transitionSchema),
  components: z.array(z.object({ id: z.string(), name: z.string() })).default([]),
});

export const jiraSeedSchema = z.object({
  users: z.array(userSchema).min(1),
  projects: z.array(projectSchema).min(1),
  priorities: z.array(z.object({ id: z.string(), name: z.string() })).min(1),
  /** Priority new issues get when none is given (Jira's default priority scheme uses Medium). */
  defaultPriority: z.string().default('Medium'),
});

export type JiraSeed = z.input<typeof jiraSeedSchema>;
export type ParsedJiraSeed = z.output<typeof jiraSeedSchema>;
export type SeedUser = ParsedJiraSeed['users'][number];
export type SeedProject = ParsedJiraSeed['projects'][number];
export type SeedStatus = SeedProject['statuses'][number];
export type SeedTransition = SeedProject['transitions'][number];

const statuses = [
  { id: '10000', name: 'To Do', category: 'new', description: '' },
  {
    id: '10001',
    name: 'In Progress',
    category: 'indeterminate',
    description: 'This issue is being actively worked on.',
  },
  { id: '10002', name: 'Done', category: 'done', description: '' },
] as const;

export const defaultJiraSeed: JiraSeed = {
  users: [
    { accountId: '712020:threadline-bot', emailAddress: 'threadline-bot@example.com', displayName: 'Threadline Bot' },
    { accountId: '712020:alice', emailAddress: 'alice@example.com', displayName: 'Alice Admin' },
    { accountId: '712020:bob', emailAddress: 'bob@example.com', displayName: 'Bob Banker' },
    { accountId: '712020:carol', emailAddress: 'carol@example.com', displayName: 'Carol Controller' },
    { accountId: '712020:dave', emailAddress: 'dave@example.com', displayName: 'Dave Developer' },
    { accountId: '712020:erin', emailAddress: 'erin@example.com', displayName: 'Erin Sales' },
  ].map((u) => ({ ...u, active: true, accountType: 'atlassian' as const, timeZone: 'Etc/UTC' })),
  projects: [
    {
      id: '10000',
      key: 'OPS',
      name: 'Operations',
      leadAccountId: '712020:alice',
      issueTypes: [
        { id: '10001', name: 'Task', description: 'A small, distinct piece of work.' },
        { id: '10002', name: 'Bug', description: 'A problem or error.' },
        { id: '10003', name: 'Incident', description: 'An unplanned interruption to a service.' },
        { id: '10004', name: 'Sub-task', description: 'A small piece of work within a task.', subtask: true },
      ],
      statuses: [...statuses],
      transitions: [
        { id: '21', name: 'Start progress', from: ['To Do'], to: 'In Progress' },
        { id: '31', name: 'Done', from: [], to: 'Done' },
        { id: '11', name: 'Reopen', from: ['Done', 'In Progress'], to: 'To Do' },
      ],
      components: [
        { id: '10000', name: 'Payments' },
        { id: '10001', name: 'Platform' },
      ],
    },
    {
      id: '10001',
      key: 'SUP',
      name: 'Support',
      leadAccountId: '712020:carol',
      issueTypes: [
        { id: '10001', name: 'Task', description: 'A small, distinct piece of work.' },
        { id: '10002', name: 'Bug', description: 'A problem or error.' },
        { id: '10004', name: 'Sub-task', description: 'A small piece of work within a task.', subtask: true },
      ],
      statuses: [...statuses],
      // Deliberately different ids from OPS: code must look transitions up, never hard-code them.
      transitions: [
        { id: '4', name: 'Start work', from: ['To Do'], to: 'In Progress' },
        { id: '5', name: 'Resolve', from: [], to: 'Done' },
        { id: '6', name: 'Reopen', from: ['Done', 'In Progress'], to: 'To Do' },
      ],
      components: [{ id: '10002', name: 'Customers' }],
    },
  ],
  priorities: [
    { id: '1', name: 'Highest' },
    { id: '2', name: 'High' },
    { id: '3', name: 'Medium' },
    { id: '4', name: 'Low' },
    { id: '5', name: 'Lowest' },
  ],
  defaultPriority: 'Medium',
};

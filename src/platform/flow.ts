import type { WebClient } from '@slack/web-api';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { Config } from './config/index.js';
import type { FlagSpec } from './flags/evaluate.js';
import type { Pool } from './db/pool.js';
import type { AuditLogRepo, InboundEventsRepo, SlackMessagesRepo, SlackSubjectsRepo } from './db/repositories.js';
import type { InstallationsRepo } from './installations/store.js';
import type { Logger } from './observability/logger.js';
import type { Metrics } from './observability/metrics.js';
import type { SlackActionRequest, SlackResponseRequest } from './slack/contract.js';

/**
 * What a flow declares about itself (its `flow.ts`). The platform iterates these declarations:
 * the API registers each flow's routes, the worker its activities and workflows, the Slack
 * ingress its verbs and slash subcommands, `/threadline status` its id forms, the migrator its
 * tables. The platform never imports a flow; entry points pass it the registry (`src/flows/index.ts`).
 *
 * Callbacks are declared as methods on purpose: a `FlowDefinition<ItsOwnConfig>` must fit a
 * registry of `FlowDefinition<unknown>` (method parameters are checked bivariantly).
 */
export interface FlowDefinition<C = unknown> {
  /** The folder name under `src/flows/` (also the key of its config). */
  readonly name: string;
  /** Workflow-id prefixes this flow owns (`<kind>:<id>`); the ingress routes clicks only to these. */
  readonly kinds: readonly string[];
  /** Env variables and how they become this flow's config. */
  readonly config?: FlowConfigSpec<C>;
  /** Module exporting the flow's workflow functions (bundled into the workflow sandbox). */
  readonly workflows?: URL;
  /** Folder of forward-only `NNN_name.sql` migrations (one version sequence across all flows). */
  readonly migrations?: URL;
  /** Loaded by the API process only (so the worker never imports Fastify routes). */
  api?(): Promise<FlowApi<C>>;
  /** Loaded by the worker process only (so the API never imports activities). */
  worker?(): Promise<FlowWorker<C>>;
  /** Buttons, modals and `/threadline` subcommands: pure decisions the ingress acts on. */
  readonly slack?: FlowSlack<C>;
  /** How `/threadline status <id>` finds this flow's lifecycles. */
  readonly status?: FlowStatusLookup;
  /** Feature flags this flow reads (switched per scope through config and `PUT /v1/flags/:flag`). */
  readonly flags?: readonly FlagSpec[];
}

/** Registry element type. */
export type AnyFlow = FlowDefinition<unknown>;

export interface FlowConfigSpec<C> {
  /** zod shape of the env variables this flow reads; merged into the one env schema. */
  readonly env: z.ZodRawShape;
  /** Builds the config from the parsed env. Report problems with `ctx.problem` (all are shown at once). */
  build(env: Record<string, unknown>, ctx: FlowConfigContext): C;
}

export interface FlowConfigContext {
  sandbox: boolean;
  problem(message: string): void;
  /**
   * `value` when set; else `sandboxValue` in sandbox mode; else a problem naming `name` and `what`
   * (a missing setting fails start-up, naming the variable).
   */
  require(name: string, value: string | undefined, sandboxValue: string, what: string): string;
}

/** Typed helper for `config`: the env shape's types flow into `build`. */
export function defineFlowConfig<S extends z.ZodRawShape, C>(
  env: S,
  build: (env: z.infer<z.ZodObject<S>>, ctx: FlowConfigContext) => C,
): FlowConfigSpec<C> {
  return { env, build: (parsed, ctx) => build(parsed as z.infer<z.ZodObject<S>>, ctx) };
}

export function defineFlow<C>(flow: FlowDefinition<C>): FlowDefinition<C> {
  return flow;
}

/** Repositories every flow may use (the ledger, the Slack message record, the audit trail). */
export interface PlatformRepos {
  inbound: InboundEventsRepo;
  slackMessages: SlackMessagesRepo;
  audit: AuditLogRepo;
  /**
   * Which Slack workspace each lifecycle belongs to. A route that starts a lifecycle for a
   * workspace (e.g. a body naming `slackTeamId`) records it here before the first post; the
   * platform's Slack activities then post with that workspace's installation. Composed by the
   * entry points (absent only in hand-built test apps).
   */
  slackSubjects?: SlackSubjectsRepo;
  /** The OAuth installations (tokens sealed); absent only in hand-built test apps. */
  installations?: InstallationsRepo;
}

/** What the API process gives each flow's routes. */
export interface ApiDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  temporal: Client;
  pool: Pool;
  repos: PlatformRepos;
  /** Injectable clock (ms) for signature windows in tests. */
  now?: () => number;
}
export interface FlowApiContext<C> extends ApiDeps {
  flowConfig: C;
}
export interface FlowApi<C> {
  routes(app: FastifyInstance, ctx: FlowApiContext<C>): Promise<void>;
}

/** What the worker process gives each flow's activity factory. */
export interface WorkerDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  pool: Pool;
  slack: WebClient;
  temporal: Client;
  repos: Omit<PlatformRepos, 'inbound'>;
}
export interface FlowWorkerContext<C> extends WorkerDeps {
  flowConfig: C;
}
/** Activity implementations by name (the worker registers the union of every flow's). */
export type ActivityImplementations = Record<string, (...args: never[]) => Promise<unknown>>;
export interface FlowWorker<C> {
  activities(ctx: FlowWorkerContext<C>): ActivityImplementations;
  /**
   * Runs once when the worker starts, after its activities are composed: idempotent set-up such
   * as creating the flow's Temporal Schedules. A failure stops the worker from starting.
   */
  onStart?(ctx: FlowWorkerContext<C>): Promise<void>;
}

export interface FlowSlack<C> {
  /** Verbs (`action_id` / `callback_id` = `tl:<verb>`), each namespaced by one of the flow's kinds. */
  readonly actions?: Readonly<Record<string, ActionSpec<C>>>;
  /** `/threadline <name> …` subcommands. */
  readonly subcommands?: Readonly<Record<string, SubcommandSpec<C>>>;
  /** Top-level slash commands of their own keyed by the command with its slash. */
  readonly commands?: Readonly<Record<string, SubcommandSpec<C>>>;
  /** Bot scopes this flow's activities need beyond the platform's (`SLACK_BOT_SCOPES`); go into the manifest and installs. */
  readonly scopes?: readonly string[];
}

export interface SlackHandlerContext<C> {
  flowConfig: C;
  config: Config;
}

export interface ActionSpec<C> {
  /**
   * `update`: authorized and answered through the workflow's Update validator; `signal`: fire and
   * forget; `start`: a modal submission that files a new lifecycle (`start` decides what to start).
   */
  readonly mode: 'update' | 'signal' | 'start';
  /** For view submissions: modal fields that must be non-empty (answered with response_action: errors). */
  readonly requiredFields?: readonly { blockId: string; actionId: string; message: string }[];
  /** mode `start`: validate the submission (pure, within Slack's 3 s) and name the workflow to start. */
  start?(req: SlackActionRequest, workflowId: string, ctx: SlackHandlerContext<C>): StartDecision;
}

export type StartDecision =
  { ok: false; errors: Record<string, string> } | { ok: true; workflowType: string; args: unknown[] };

export interface SlashInvocation {
  userId: string;
  channelId: string;
  teamId?: string;
  triggerId: string;
  responseUrl: string;
  /** The words after the (sub)command. */
  args: string[];
  /** The text after the (sub)command, as typed. */
  text: string;
}

/**
 * `reply`: answered at once (ephemeral). At most one of: `later`, handed to `slackResponseWorkflow`;
 * `start`, a workflow started with USE_EXISTING (one Temporal call either way, deduplicated by the
 * command's trigger id).
 */
export interface SlashAnswer {
  reply?: string;
  later?: SlackResponseRequest;
  start?: { workflowType: string; workflowId: string; args: unknown[] };
}

export interface SubcommandSpec<C> {
  /** How help shows it, e.g. '`/threadline <name>`' */
  readonly usage: string;
  readonly description: string;
  handle(cmd: SlashInvocation, ctx: SlackHandlerContext<C>): SlashAnswer;
}

export interface FlowStatusLookup {
  /** Shown in help and "not found" answers, e.g. 'an order id'. */
  readonly describe: string;
  /** Workflow ids to try for what a person typed, most specific first (empty when it cannot be this flow's). */
  candidates(query: string): string[];
}

/** Each flow's config, built by `loadConfig`. */
export function flowConfigOf<C>(config: Config, flow: FlowDefinition<C>): C {
  return config.flows[flow.name] as C;
}

import type { ActionSpec, AnyFlow, SubcommandSpec } from '../flow.js';

/** The platform's own slash command, and the subcommands it answers itself. */
export const ROOT_COMMAND = '/threadline';
const PLATFORM_SUBCOMMANDS = new Set(['help', 'status']);

/** What the ingress knows about the flows: verbs, `/threadline` subcommands, id prefixes. */
export interface SlackRegistry {
  /** Workflow-id prefixes clicks may target. */
  kinds: readonly string[];
  actions: ReadonlyMap<string, { spec: ActionSpec<unknown>; flow: AnyFlow }>;
  subcommands: ReadonlyMap<string, { spec: SubcommandSpec<unknown>; flow: AnyFlow }>;
  /** Top-level commands other than `/threadline`, as flows declare them. */
  commands: ReadonlyMap<string, { spec: SubcommandSpec<unknown>; flow: AnyFlow }>;
  /** The id forms `/threadline status` understands, as each flow describes them. */
  statusForms: string;
}

/**
 * Builds the ingress's tables from the flows' declarations, refusing at start-up what would be
 * ambiguous at run time: a verb outside its flow's kinds, a verb or subcommand declared twice.
 */
export function buildSlackRegistry(flows: readonly AnyFlow[]): SlackRegistry {
  const kinds: string[] = [];
  const actions = new Map<string, { spec: ActionSpec<unknown>; flow: AnyFlow }>();
  const subcommands = new Map<string, { spec: SubcommandSpec<unknown>; flow: AnyFlow }>();
  const commands = new Map<string, { spec: SubcommandSpec<unknown>; flow: AnyFlow }>();
  for (const flow of flows) {
    for (const k of flow.kinds) {
      if (kinds.includes(k)) throw new Error(`workflow kind ${k} is declared by two flows (${flow.name})`);
      kinds.push(k);
    }
    for (const [verb, spec] of Object.entries(flow.slack?.actions ?? {})) {
      if (!flow.kinds.some((k) => verb.startsWith(`${k}.`)))
        throw new Error(`flow ${flow.name}: verb ${verb} must start with one of its kinds (${flow.kinds.join(', ')})`);
      if (actions.has(verb)) throw new Error(`verb ${verb} is declared twice (flow ${flow.name})`);
      if (spec.mode === 'start' && !spec.start) throw new Error(`flow ${flow.name}: verb ${verb} needs start()`);
      actions.set(verb, { spec, flow });
    }
    for (const [name, spec] of Object.entries(flow.slack?.subcommands ?? {})) {
      if (PLATFORM_SUBCOMMANDS.has(name) || subcommands.has(name))
        throw new Error(`/threadline ${name} is declared twice (flow ${flow.name})`);
      subcommands.set(name, { spec, flow });
    }
    for (const [name, spec] of Object.entries(flow.slack?.commands ?? {})) {
      if (!/^\/[a-z0-9_-]{1,31}$/.test(name)) throw new Error(`flow ${flow.name}: ${name} is not a slash command name`);
      if (name === ROOT_COMMAND || commands.has(name)) throw new Error(`${name} is declared twice (flow ${flow.name})`);
      commands.set(name, { spec, flow });
    }
  }
  const forms = flows.flatMap((f) => (f.status ? [f.status.describe] : []));
  return { kinds, actions, subcommands, commands, statusForms: forms.length ? forms.join(', ') : 'a lifecycle id' };
}

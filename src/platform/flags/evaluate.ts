/**
 * Feature flags: which automation runs where. Pure rules (the repo and the API feed them).
 *
 * A flag is switched per scope: `global`, `workspace:<Slack team id>`, `channel:<channel id>` or
 * `project:<Jira project key>`, from config (THREADLINE_FLAGS) or at run time through the API
 * (which wins over config for the same scope). For one case (a project, its channel, its
 * workspace):
 * 1. any matching scope switched **off** turns it off (a scope's off is a kill switch for
 *    everything in it, whatever narrower scopes say);
 * 2. else any matching scope switched **on** turns it on;
 * 3. else the global setting, else the flag's declared default.
 */

/** What a flow declares about a flag it reads (FlowDefinition.flags). */
export interface FlagSpec {
  name: string;
  describe: string;
  default: boolean;
}

export type ScopeKind = 'global' | 'workspace' | 'channel' | 'project';
export const SCOPE_KINDS: readonly ScopeKind[] = ['global', 'workspace', 'channel', 'project'];

export interface FlagSetting {
  flag: string;
  scope: { kind: ScopeKind; id: string };
  enabled: boolean;
  source: 'config' | 'api';
  reason?: string;
  updatedBy?: string;
  updatedAt?: string;
}

/** The case a flag is asked about; absent parts do not match scoped settings. */
export interface FlagContext {
  workspace?: string;
  channel?: string;
  project?: string;
}

export interface FlagDecision {
  enabled: boolean;
  /** The scope that decided (`project:OPS`, `global`, `default`). */
  decidedBy: string;
  reason: string;
}

export const scopeName = (s: { kind: ScopeKind; id: string }): string =>
  s.kind === 'global' ? 'global' : `${s.kind}:${s.id}`;

/** `global`, `workspace:T0…`, `channel:C0…`, `project:OPS` → a scope, or a message naming what is wrong. */
export function parseScope(text: string): { kind: ScopeKind; id: string } | { error: string } {
  if (text === 'global') return { kind: 'global', id: '' };
  const m = /^(workspace|channel|project):(.+)$/.exec(text);
  if (!m) return { error: 'a scope like global, workspace:T0123, channel:C0123 or project:OPS' };
  const kind = m[1] as ScopeKind;
  const id = m[2]!;
  const ok =
    kind === 'workspace'
      ? /^[TE][A-Z0-9]{2,}$/.test(id)
      : kind === 'channel'
        ? /^[CGD][A-Z0-9]{2,}$/.test(id)
        : /^[A-Z][A-Z0-9_]{0,49}$/.test(id);
  if (!ok)
    return {
      error:
        kind === 'workspace'
          ? 'workspace: a Slack team id like T0123ABCD'
          : kind === 'channel'
            ? 'channel: a Slack channel id like C0123ABCD'
            : 'project: a Jira project key like OPS',
    };
  return { kind, id };
}

const SPECIFIC: (keyof FlagContext & ScopeKind)[] = ['project', 'channel', 'workspace'];

/** Config and API settings for one flag: the API's wins for the same scope. */
export function mergeSettings(config: readonly FlagSetting[], api: readonly FlagSetting[]): FlagSetting[] {
  const byScope = new Map<string, FlagSetting>();
  for (const s of [...config, ...api]) byScope.set(`${s.flag}|${scopeName(s.scope)}`, s);
  return [...byScope.values()];
}

/** Whether `flag` is on for `ctx` (rules above). */
export function evaluateFlag(spec: FlagSpec, settings: readonly FlagSetting[], ctx: FlagContext): FlagDecision {
  const mine = settings.filter((s) => s.flag === spec.name);
  const matching = SPECIFIC.flatMap((kind) =>
    mine.filter((s) => s.scope.kind === kind && ctx[kind] !== undefined && s.scope.id === ctx[kind]),
  );
  const off = matching.find((s) => !s.enabled);
  if (off)
    return {
      enabled: false,
      decidedBy: scopeName(off.scope),
      reason: `${spec.name} is switched off for ${scopeName(off.scope)}`,
    };
  const on = matching.find((s) => s.enabled);
  if (on)
    return {
      enabled: true,
      decidedBy: scopeName(on.scope),
      reason: `${spec.name} is switched on for ${scopeName(on.scope)}`,
    };
  const global = mine.find((s) => s.scope.kind === 'global');
  if (global)
    return {
      enabled: global.enabled,
      decidedBy: 'global',
      reason: `${spec.name} is switched ${global.enabled ? 'on' : 'off'} globally`,
    };
  return {
    enabled: spec.default,
    decidedBy: 'default',
    reason: `${spec.name} is ${spec.default ? 'on' : 'off'} by default`,
  };
}

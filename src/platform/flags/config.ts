import { z } from 'zod';
import { parseScope, type FlagSetting, type FlagSpec } from './evaluate.js';

/**
 * Flag settings from the environment: `THREADLINE_FLAGS=<flag>=off,<flag>@project:OPS=on`
 * (`<flag>[@<scope>]=on|off`, comma-separated), and the Slack workspace id used as the
 * `workspace` scope where a request carries none (`THREADLINE_WORKSPACE_ID`; sandbox: the
 * emulator's team). Run-time switches through `PUT /v1/flags/:flag` win over these.
 */
export const flagsEnv = {
  THREADLINE_FLAGS: z.string().trim().optional(),
  THREADLINE_WORKSPACE_ID: z
    .string()
    .trim()
    .regex(/^[TE][A-Z0-9]{2,}$/, 'a Slack team id like T0123ABCD')
    .optional(),
};

export interface FlagsConfig {
  settings: FlagSetting[];
  /** The known flags (declared by the flows). */
  specs: FlagSpec[];
  workspace: string | undefined;
}

/** The sandbox workspace (the Slack emulator's team). */
export const SANDBOX_WORKSPACE_ID = 'T0THREADLN';

export function buildFlagsConfig(
  env: { THREADLINE_FLAGS?: string; THREADLINE_WORKSPACE_ID?: string },
  specs: FlagSpec[],
  ctx: { sandbox: boolean; problem(m: string): void },
): FlagsConfig {
  const settings: FlagSetting[] = [];
  const known = new Set(specs.map((s) => s.name));
  for (const item of (env.THREADLINE_FLAGS ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    const m = /^([a-z][a-z0-9_]*)(?:@([^=]+))?=(on|off)$/.exec(item);
    if (!m) {
      ctx.problem(`THREADLINE_FLAGS: "${item}" is not <flag>[@<scope>]=on|off`);
      continue;
    }
    const [, flag, scopeText, value] = m;
    if (!known.has(flag!)) {
      ctx.problem(`THREADLINE_FLAGS: unknown flag "${flag}" (known: ${[...known].join(', ') || 'none'})`);
      continue;
    }
    const scope = parseScope(scopeText ?? 'global');
    if ('error' in scope) {
      ctx.problem(`THREADLINE_FLAGS: "${item}": ${scope.error}`);
      continue;
    }
    settings.push({ flag: flag!, scope, enabled: value === 'on', source: 'config' });
  }
  return {
    settings,
    specs,
    workspace: env.THREADLINE_WORKSPACE_ID ?? (ctx.sandbox ? SANDBOX_WORKSPACE_ID : undefined),
  };
}

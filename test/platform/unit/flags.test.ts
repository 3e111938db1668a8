import { describe, expect, it } from 'vitest';
import { buildFlagsConfig } from '../../../src/platform/flags/config.js';
import { evaluateFlag, mergeSettings, parseScope, type FlagSetting } from '../../../src/platform/flags/evaluate.js';

const spec = { name: 'assignment', describe: 'assignment routing', default: true };
const set = (scope: string, enabled: boolean, source: 'config' | 'api' = 'api'): FlagSetting => {
  const s = parseScope(scope);
  if ('error' in s) throw new Error(s.error);
  return { flag: 'assignment', scope: s, enabled, source };
};
const ctx = { project: 'OPS', channel: 'C0TICKETS', workspace: 'T0THREADLN' };

describe('feature flags', () => {
  it('falls back to the global setting, then the declared default', () => {
    expect(evaluateFlag(spec, [], ctx)).toMatchObject({ enabled: true, decidedBy: 'default' });
    expect(evaluateFlag(spec, [set('global', false)], ctx)).toMatchObject({ enabled: false, decidedBy: 'global' });
  });

  it('lets a scope switched off win over anything switched on (a kill switch for everything in it)', () => {
    expect(evaluateFlag(spec, [set('project:OPS', true), set('workspace:T0THREADLN', false)], ctx)).toMatchObject({
      enabled: false,
      decidedBy: 'workspace:T0THREADLN',
      reason: 'assignment is switched off for workspace:T0THREADLN',
    });
    expect(evaluateFlag(spec, [set('global', false), set('channel:C0TICKETS', true)], ctx)).toMatchObject({
      enabled: true,
      decidedBy: 'channel:C0TICKETS',
    });
    expect(evaluateFlag(spec, [set('project:SUP', false)], ctx)).toMatchObject({ enabled: true, decidedBy: 'default' });
  });

  it('lets a run-time switch replace the config setting of the same scope', () => {
    const merged = mergeSettings([set('project:OPS', false, 'config')], [set('project:OPS', true)]);
    expect(merged).toHaveLength(1);
    expect(evaluateFlag(spec, merged, ctx)).toMatchObject({ enabled: true, decidedBy: 'project:OPS' });
  });

  it('reads THREADLINE_FLAGS and names what is wrong', () => {
    const problems: string[] = [];
    const c = buildFlagsConfig(
      {
        THREADLINE_FLAGS:
          'assignment@project:OPS=off, ticket_sync=on, assignment@project:ops=on, nope=on, assignment=maybe',
      },
      [spec, { name: 'ticket_sync', describe: 'ticket threads', default: true }],
      { sandbox: true, problem: (m) => problems.push(m) },
    );
    expect(c.settings.map((s) => [s.flag, s.scope, s.enabled])).toEqual([
      ['assignment', { kind: 'project', id: 'OPS' }, false],
      ['ticket_sync', { kind: 'global', id: '' }, true],
    ]);
    expect(c.workspace).toBe('T0THREADLN');
    expect(problems).toEqual([
      'THREADLINE_FLAGS: "assignment@project:ops=on": project: a Jira project key like OPS',
      'THREADLINE_FLAGS: unknown flag "nope" (known: assignment, ticket_sync)',
      'THREADLINE_FLAGS: "assignment=maybe" is not <flag>[@<scope>]=on|off',
    ]);
  });
});

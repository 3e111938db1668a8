import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createRulesStore,
  parseAssignmentRules,
  SANDBOX_RULES_YAML,
  type RulesEvent,
} from '../../../../src/flows/assignment/rules.js';

const problemsOf = (text: string) => {
  const r = parseAssignmentRules(text);
  if (r.ok) throw new Error('expected the rules to be refused');
  return r.problems;
};

describe('the rules file', () => {
  it('parses the sandbox rules: OPS to Bob, Carol and Dave (least loaded), a default rule last', () => {
    const r = parseAssignmentRules(SANDBOX_RULES_YAML);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.rules.version).toMatch(/^r-[0-9a-f]{12}$/);
    expect(r.rules.pools.ops?.members).toEqual(['bob', 'carol', 'dave']);
    expect(r.rules.rules.map((x) => [x.id, x.strategy, x.default])).toEqual([
      ['ops', 'least_loaded', false],
      ['default', 'least_loaded', true],
    ]);
    expect(r.rules.rules[0]!.ackTimeoutMs).toBe(30 * 60_000);
  });

  it('is versioned by content: comments, formatting, key order and JSON do not change the version; content does', () => {
    const base = parseAssignmentRules(SANDBOX_RULES_YAML);
    const reformatted = parseAssignmentRules(
      `# another comment\n${SANDBOX_RULES_YAML.replace('  leads: [alice]', '  leads:\n    - alice')}`,
    );
    if (!base.ok || !reformatted.ok) throw new Error('sandbox rules must parse');
    expect(reformatted.rules.version).toBe(base.rules.version);
    const asJson = parseAssignmentRules(
      JSON.stringify({
        rules: [
          {
            id: 'ops',
            match: { projects: ['OPS'] },
            pool: 'ops',
            strategy: 'least_loaded',
            ackTimeout: '30m',
            maxReassigns: 2,
            lead: 'alice',
            leadChannel: 'C0ESCALATE',
          },
          { id: 'default', default: true, pool: 'leads', lead: 'alice', leadChannel: 'C0ESCALATE' },
        ],
        pools: { leads: ['alice'], ops: ['bob', 'carol', 'dave'] },
        people: {
          dave: { name: 'Dave Developer', slack: 'U0DAVE', jira: '712020:dave', skills: ['platform'] },
          alice: { name: 'Alice Admin', slack: 'U0ALICE', jira: '712020:alice', skills: ['triage'] },
          bob: { name: 'Bob Banker', slack: 'U0BOB', jira: '712020:bob', skills: ['payments', 'refunds'] },
          carol: { name: 'Carol Controller', slack: 'U0CAROL', jira: '712020:carol', skills: ['billing', 'refunds'] },
        },
      }),
    );
    expect(asJson.ok && asJson.rules.version).toBe(base.rules.version);
    const changed = parseAssignmentRules(SANDBOX_RULES_YAML.replace('ackTimeout: 30m', 'ackTimeout: 45m'));
    expect(changed.ok && changed.rules.version).not.toBe(base.rules.version);
  });

  it('refuses invalid rules with a message naming the rule and the field', () => {
    expect(problemsOf(SANDBOX_RULES_YAML.replace('pool: ops', 'pool: opz'))).toEqual([
      'rules[0] (id "ops").pool: unknown pool "opz" (pools: ops, leads)',
    ]);
    expect(problemsOf(SANDBOX_RULES_YAML.replace('strategy: least_loaded', 'strategy: fastest'))[0]).toMatch(
      /^rules\[0\] \(id "ops"\)\.strategy: /,
    );
    expect(problemsOf(SANDBOX_RULES_YAML.replace('ackTimeout: 30m', 'ackTimeout: soon'))[0]).toMatch(
      /^rules\[0\] \(id "ops"\)\.ackTimeout: /,
    );
    expect(problemsOf(SANDBOX_RULES_YAML.replace('    default: true\n', ''))).toContain(
      'rules: a default rule is required (`default: true`, last)',
    );
    expect(problemsOf(SANDBOX_RULES_YAML.replace('ops: [bob, carol, dave]', 'ops: [bob, zed]'))).toEqual([
      'pools.ops.members.1: unknown person "zed"',
    ]);
    expect(problemsOf(SANDBOX_RULES_YAML.replace('slack: U0BOB', 'slack: bob'))[0]).toMatch(
      /^people\.bob\.slack: a Slack user id/,
    );
    expect(problemsOf('rules: [oops')[0]).toMatch(/^line \d+, column \d+: /);
  });
});

describe('reloading the rules', () => {
  let dir: string;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('picks up a valid change, and keeps the previous rules when the new file is invalid (reported once, naming rule and field)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tl-rules-'));
    const path = join(dir, 'rules.yaml');
    await writeFile(path, SANDBOX_RULES_YAML);
    const first = parseAssignmentRules(SANDBOX_RULES_YAML);
    if (!first.ok) throw new Error('sandbox rules must parse');
    const events: RulesEvent[] = [];
    const store = createRulesStore({
      initial: first.rules,
      source: { kind: 'file', path },
      onEvent: (e) => events.push(e),
    });
    expect((await store.current()).version).toBe(first.rules.version);

    const next = SANDBOX_RULES_YAML.replace('maxReassigns: 2', 'maxReassigns: 3');
    await writeFile(path, next);
    const reloaded = await store.reload();
    expect(reloaded.version).not.toBe(first.rules.version);
    expect(events).toEqual([{ kind: 'loaded', version: reloaded.version, previous: first.rules.version }]);
    expect((await store.current()).rules[0]!.maxReassigns).toBe(3);

    await writeFile(path, next.replace('pool: ops', 'pool: nowhere'));
    const failed = await store.reload();
    expect(failed.version).toBe(reloaded.version);
    expect(failed.lastError?.problems).toEqual([
      'rules[0] (id "ops").pool: unknown pool "nowhere" (pools: ops, leads)',
    ]);
    expect((await store.current()).rules[0]!.pool).toBe('ops');
    await store.reload();
    expect(events.filter((e) => e.kind === 'reload_failed')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ kind: 'reload_failed', keptVersion: reloaded.version });

    await writeFile(path, next);
    const fixed = await store.reload();
    expect(fixed.version).toBe(reloaded.version);
    expect(fixed.lastError).toBeUndefined();
  });
});

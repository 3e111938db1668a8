import { describe, expect, it } from 'vitest';
import {
  cursorKey,
  decideRouting,
  stableHash,
  type RoutingInput,
} from '../../../../src/flows/assignment/domain/routing.js';
import type { AssignmentRules, RoutableIssue } from '../../../../src/flows/assignment/domain/rules.js';
import { parseAssignmentRules, SANDBOX_RULES_YAML } from '../../../../src/flows/assignment/rules.js';

/** mulberry32: a tiny seeded generator, so every "random" case is the same on every run. */
function seeded(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!,
  };
}

const parsed = (yaml: string): AssignmentRules => {
  const r = parseAssignmentRules(yaml);
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.rules;
};
const sandbox = parsed(SANDBOX_RULES_YAML);
const OPS_POOL = ['bob', 'carol', 'dave'];
const JIRA: Record<string, string> = { bob: '712020:bob', carol: '712020:carol', dave: '712020:dave' };
const NOW = Date.parse('2026-12-01T10:00:00Z');

function randomCase(rng: ReturnType<typeof seeded>): RoutingInput {
  const issue: RoutableIssue = {
    key: `OPS-${1 + rng.int(5000)}`,
    project: 'OPS',
    type: rng.pick(['Bug', 'Task', 'Incident']),
    priority: rng.pick(['High', 'Medium', null]),
    labels: rng.next() < 0.5 ? ['payments'] : [],
  };
  const loads: Record<string, number> = {};
  for (const p of OPS_POOL) if (rng.next() < 0.8) loads[JIRA[p]!] = rng.int(4);
  const excluded = OPS_POOL.filter(() => rng.next() < 0.2).map((person) => ({ person, why: 'declined' }));
  return { rules: sandbox, issue, loads, cursors: {}, excluded, nowMs: NOW };
}

describe('decideRouting (property-style over seeded cases)', () => {
  const rng = seeded(20261201);
  const cases = Array.from({ length: 500 }, () => randomCase(rng));

  it('gives the same decision for the same issue, loads and rules version, every time', () => {
    for (const c of cases) {
      const first = decideRouting(c);
      for (let i = 0; i < 3; i++) {
        // A copy with the load keys in another order: only the values may matter.
        const loads = Object.fromEntries(Object.entries(c.loads).reverse());
        expect(decideRouting({ ...c, loads: { ...loads } })).toEqual(first);
      }
    }
  });

  it('chooses someone with the fewest open assignments among those not excluded, never an excluded person', () => {
    for (const c of cases) {
      const d = decideRouting(c);
      const left = OPS_POOL.filter((p) => !c.excluded.some((e) => e.person === p));
      expect(d.candidates.map((x) => x.person).sort()).toEqual([...left].sort());
      if (left.length === 0) {
        expect(d.chosen).toBeUndefined();
        expect(d.summary).toContain('nobody left');
        continue;
      }
      const min = Math.min(...left.map((p) => c.loads[JIRA[p]!] ?? 0));
      expect(d.chosen!.load).toBe(min);
      expect(d.ruleId).toBe('ops');
      expect(d.ruleVersion).toBe(sandbox.version);
      // Ranked in order of load, then the stable hash: each one's last reason says why it follows the previous.
      for (let i = 1; i < d.candidates.length; i++) {
        const [a, b] = [d.candidates[i - 1]!, d.candidates[i]!];
        expect(
          a.load < b.load ||
            (a.load === b.load && stableHash(`${c.issue.key}/${a.person}`) < stableHash(`${c.issue.key}/${b.person}`)),
        ).toBe(true);
        expect(b.reasons.at(-1)).toContain(`ranked after ${a.person}`);
      }
    }
  });

  it('does not depend on the order of the pool: a reordered pool picks the same person', () => {
    const reordered = parsed(SANDBOX_RULES_YAML.replace('ops: [bob, carol, dave]', 'ops: [dave, bob, carol]'));
    expect(reordered.version).not.toBe(sandbox.version);
    for (const c of cases)
      expect(decideRouting({ ...c, rules: reordered }).chosen?.person).toBe(decideRouting(c).chosen?.person);
  });

  it('breaks ties by a stable hash of the issue key, spreading equal loads across the pool', () => {
    const wins: Record<string, number> = { bob: 0, carol: 0, dave: 0 };
    for (let n = 1; n <= 300; n++) {
      const d = decideRouting({
        rules: sandbox,
        issue: { key: `OPS-${n}`, project: 'OPS' },
        loads: {},
        cursors: {},
        excluded: [],
        nowMs: NOW,
      });
      wins[d.chosen!.person]! += 1;
      expect(d.chosen!.reasons.at(-1)).toMatch(/tied with \w+, won the stable hash of the issue key/);
    }
    for (const p of OPS_POOL) expect(wins[p]).toBeGreaterThan(50);
  });

  it('routes issues outside OPS by the default rule, saying why the OPS rule did not match', () => {
    const d = decideRouting({
      rules: sandbox,
      issue: { key: 'SUP-3', project: 'SUP' },
      loads: {},
      cursors: {},
      excluded: [],
      nowMs: NOW,
    });
    expect(d.ruleId).toBe('default');
    expect(d.chosen?.person).toBe('alice');
    expect(d.skipped).toEqual([{ ruleId: 'ops', why: ['project SUP is not in [OPS]'] }]);
    expect(d.matched).toEqual(['default rule (matches every issue)']);
  });

  it('ranks people at capacity after everyone with room', () => {
    const loads = { '712020:bob': 10, '712020:carol': 12, '712020:dave': 11 };
    const d = decideRouting({
      rules: sandbox,
      issue: { key: 'OPS-1', project: 'OPS' },
      loads,
      cursors: {},
      excluded: [],
      nowMs: NOW,
    });
    expect(d.chosen?.person).toBe('bob');
    expect(d.candidates.every((c) => c.full)).toBe(true);
    expect(d.chosen!.reasons.at(-1)).toContain('nobody better placed is left (at capacity)');
  });
});

const RICH = `
people:
  ana: { name: Ana, slack: U0ANA, jira: "j:ana", skills: [payments], hours: { timezone: Asia/Kolkata, from: "09:00", to: "18:00" } }
  ben: { name: Ben, slack: U0BEN, jira: "j:ben", skills: [payments, refunds] }
  cy: { name: Cy, slack: U0CY, jira: "j:cy", skills: [] }
pools:
  all: [ana, ben, cy]
rules:
  - id: refunds
    match: { labels: [refunds] }
    pool: all
    strategy: skills
    skills: [payments]
  - id: rota
    match: { projects: [PAY] }
    pool: all
    strategy: round_robin
  - id: default
    default: true
    pool: all
`;

describe('decideRouting strategies', () => {
  const rules = parsed(RICH);

  it('round robin moves through the pool with the persisted cursor, one person per decision', () => {
    const cursors: Record<string, number> = {};
    const order: string[] = [];
    for (let n = 1; n <= 6; n++) {
      const d = decideRouting({
        rules,
        issue: { key: `PAY-${n}`, project: 'PAY' },
        loads: {},
        cursors,
        excluded: [],
        nowMs: NOW,
      });
      order.push(d.chosen!.person);
      expect(d.cursor?.key).toBe(cursorKey('rota', 'all'));
      cursors[d.cursor!.key] = d.cursor!.after;
    }
    expect(order).toEqual(['ana', 'ben', 'cy', 'ana', 'ben', 'cy']);
  });

  it('skills match prefers the most wanted skills (the rule’s and the issue’s labels)', () => {
    const d = decideRouting({
      rules,
      issue: { key: 'X-1', project: 'X', labels: ['refunds'] },
      loads: { 'j:ben': 3 },
      cursors: {},
      excluded: [],
      nowMs: Date.parse('2026-12-01T06:00:00Z'), // 11:30 in Kolkata, a Tuesday
    });
    expect(d.ruleId).toBe('refunds');
    expect(d.wantedSkills).toEqual(['payments', 'refunds']);
    expect(d.chosen?.person).toBe('ben');
    expect(d.candidates.map((c) => c.person)).toEqual(['ben', 'ana', 'cy']);
    expect(d.candidates[1]!.reasons.at(-1)).toContain('fewer wanted skills (1 vs 2)');
  });

  it('ranks people outside their working hours after those within', () => {
    const night = Date.parse('2026-12-01T20:00:00Z'); // 01:30 in Kolkata
    const d = decideRouting({
      rules,
      issue: { key: 'Q-1', project: 'Q' },
      loads: { 'j:ben': 5, 'j:cy': 5 },
      cursors: {},
      excluded: [],
      nowMs: night,
    });
    expect(d.candidates.at(-1)?.person).toBe('ana');
    expect(d.candidates.at(-1)?.withinHours).toBe(false);
    expect(d.candidates.at(-1)?.reasons.join(' ')).toContain('outside working hours (Wed 01:30 Asia/Kolkata)');
  });

  it('uses a pool chosen by the person who reassigned, and says who chose it', () => {
    const d = decideRouting({
      rules: sandbox,
      issue: { key: 'OPS-9', project: 'OPS' },
      loads: {},
      cursors: {},
      excluded: [{ person: 'bob', why: 'declined' }],
      poolOverride: { pool: 'leads', by: 'U0BOB' },
      nowMs: NOW,
    });
    expect(d.pool).toBe('leads');
    expect(d.poolChosenBy).toBe('U0BOB');
    expect(d.chosen?.person).toBe('alice');
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type Config } from '../../../../src/config.js';
import { ticketsFlow } from '../../../../src/flows/tickets/flow.js';
import { flowConfigOf } from '../../../../src/platform/flow.js';

const tickets = (c: Config) => flowConfigOf(c, ticketsFlow);
const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n');
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('ticket sync configuration', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tickets-config-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('sandbox: OPS and SUP sync to #tickets with every default field; merge window 1s, deletes marked', () => {
    const t = tickets(loadConfig({ THREADLINE_SANDBOX: 'true' }));
    expect(t.syncSource).toBe('sandbox');
    expect(t.sync.rules.map((r) => [r.id, r.project, r.channel, r.enabled])).toEqual([
      ['ops', 'OPS', 'C0TICKETS', true],
      ['sup', 'SUP', 'C0TICKETS', true],
    ]);
    expect(t.sync.rules[0]!.fields).toEqual(['status', 'assignee', 'priority', 'summary', 'issuetype', 'comments']);
    expect([t.mergeWindowMs, t.slackDeleteMode, t.continueAsNewAfterEvents]).toEqual([1000, 'mark', undefined]);
  });

  it('outside the sandbox nothing syncs until configured; a file or inline JSON is read and validated at start-up', async () => {
    const prod = {
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 's',
      SLACK_CHANNEL_PAYMENTS: 'C0P1',
      SLACK_CHANNEL_PART_PAYMENTS: 'C0P2',
      SLACK_CHANNEL_ESCALATIONS: 'C0P3',
      SLACK_CHANNEL_APPROVALS: 'C0P4',
      SLACK_CHANNEL_OPS: 'C0P5',
      THREADLINE_API_KEYS: 'key-12345678',
      THREADLINE_PAYLOAD_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
    };
    expect(tickets(loadConfig(prod))).toMatchObject({ syncSource: 'none', sync: { rules: [] } });
    const file = join(dir, 'sync.json');
    await writeFile(
      file,
      JSON.stringify({
        rules: [{ id: 'eng', project: 'ENG', channel: 'C0ENG', labels: ['slack'], fields: ['status', 'comments'] }],
      }),
    );
    const fromFile = tickets(loadConfig({ ...prod, TICKET_SYNC_FILE: file }));
    expect(fromFile.syncSource).toBe('file');
    expect(fromFile.sync.rules[0]).toMatchObject({
      project: 'ENG',
      labels: ['slack'],
      fields: ['status', 'comments'],
      create: { issueType: 'Task' },
    });
    const inline = tickets(
      loadConfig({
        THREADLINE_SANDBOX: 'true',
        TICKET_SYNC: '{"rules":[{"id":"a","project":"OPS","channel":"C0X","enabled":false}]}',
      }),
    );
    expect(inline).toMatchObject({ syncSource: 'env', sync: { rules: [{ id: 'a', enabled: false }] } });
  });

  it('a bad configuration stops start-up naming the variable and the field', async () => {
    const sandbox = { THREADLINE_SANDBOX: 'true' };
    expect(problems({ ...sandbox, TICKET_SYNC: '{rules' })).toMatch(/TICKET_SYNC: not valid JSON/);
    expect(problems({ ...sandbox, TICKET_SYNC: '{"rules":[{"id":"a","project":"ops-x","channel":"C0ONE"}]}' })).toMatch(
      /TICKET_SYNC: rules\.0\.project: a Jira project key/,
    );
    expect(
      problems({ ...sandbox, TICKET_SYNC: '{"rules":[{"id":"a","project":"OPS","channel":"#tickets"}]}' }),
    ).toMatch(/rules\.0\.channel: a Slack channel id/);
    expect(
      problems({
        ...sandbox,
        TICKET_SYNC: '{"rules":[{"id":"a","project":"OPS","channel":"C0ONE","fields":["colour"]}]}',
      }),
    ).toMatch(/rules\.0\.fields\.0/);
    expect(
      problems({ ...sandbox, TICKET_SYNC: '{"rules":[{"id":"a","project":"OPS","channel":"C0ONE","colour":1}]}' }),
    ).toMatch(/colour/);
    expect(
      problems({
        ...sandbox,
        TICKET_SYNC:
          '{"rules":[{"id":"a","project":"OPS","channel":"C0ONE"},{"id":"a","project":"SUP","channel":"C0ONE"}]}',
      }),
    ).toMatch(/rule ids must be unique/);
    expect(problems({ ...sandbox, TICKET_SYNC_FILE: join(dir, 'missing.json') })).toMatch(
      /TICKET_SYNC_FILE: cannot read .*ENOENT/,
    );
    expect(problems({ ...sandbox, TICKET_SYNC_FILE: join(dir, 'x'), TICKET_SYNC: '{}' })).toMatch(/set one, not both/);
    expect(problems({ ...sandbox, TICKET_SLACK_DELETE: 'shred' })).toMatch(/TICKET_SLACK_DELETE/);
    expect(problems({ ...sandbox, TICKET_MERGE_WINDOW: 'soon' })).toMatch(/TICKET_MERGE_WINDOW/);
  });
});

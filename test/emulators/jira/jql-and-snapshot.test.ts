import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JqlError, compileJql, type JqlIssue } from '../../../emulators/jira/jql.js';
import { adfToText, isAdfDoc, textToAdf } from '../../../emulators/jira/adf.js';
import { start } from './helpers.js';

const issue = (over: Partial<JqlIssue>): JqlIssue => ({
  id: '1',
  key: 'OPS-1',
  projectKey: 'OPS',
  projectId: '10000',
  statusId: '10000',
  statusName: 'To Do',
  statusCategory: 'new',
  assigneeId: null,
  reporterId: 'r',
  labels: [],
  priorityName: 'Medium',
  priorityId: '3',
  issueTypeName: 'Task',
  issueTypeId: '10001',
  parentKey: null,
  parentId: null,
  summary: 'x',
  text: 'x',
  created: 1,
  updated: 1,
  ...over,
});
const ctx = {
  currentAccountId: 'me',
  resolveUser: (v: string) => (['me', 'a'].includes(v) ? v : undefined),
  projectExists: (v: string) => ['OPS', 'SUP'].includes(v.toUpperCase()),
  statusExists: (v: string) => ['to do', 'done', 'in progress'].includes(v.toLowerCase()),
  issueKeyExists: (k: string) => ['OPS-1', 'OPS-2', 'SUP-1'].includes(k),
};

describe('jql', () => {
  const a = issue({});
  const b = issue({ id: '2', key: 'OPS-2', assigneeId: 'me', statusName: 'Done', statusCategory: 'done', created: 2 });
  const c = issue({ id: '3', key: 'SUP-1', projectKey: 'SUP', labels: ['vip'], created: 3 });
  const run = (q: string) => {
    const j = compileJql(q, ctx);
    return [a, b, c]
      .filter(j.filter)
      .sort(j.compare)
      .map((i) => i.key);
  };

  it('handles the integration subset', () => {
    expect(run('key in (OPS-1, SUP-1) ORDER BY created DESC')).toEqual(['SUP-1', 'OPS-1']);
    expect(run('project = OPS AND assignee = currentUser()')).toEqual(['OPS-2']);
    expect(run('project = OPS and status != "Done"')).toEqual(['OPS-1']);
    expect(run('assignee is EMPTY AND (labels = vip OR project = OPS) order by key asc')).toEqual(['OPS-1', 'SUP-1']);
    expect(run('statusCategory = Done')).toEqual(['OPS-2']);
    expect(run('project not in (SUP) ORDER BY created ASC')).toEqual(['OPS-1', 'OPS-2']);
  });

  it('rejects what it cannot parse or resolve, like Jira', () => {
    expect(() => compileJql('project = = OPS', ctx)).toThrow(JqlError);
    expect(() => compileJql('foo = bar', ctx)).toThrow(/Field 'foo' does not exist/);
    expect(() => compileJql('project = NOPE', ctx)).toThrow(/does not exist for the field 'project'/);
    expect(() => compileJql('key = OPS-9', ctx)).toThrow(/An issue with key 'OPS-9' does not exist/);
    expect(() => compileJql('summary ~ "unterminated', ctx)).toThrow(JqlError);
  });
});

describe('adf', () => {
  it('round-trips plain text and validates loosely', () => {
    const doc = textToAdf('one\n\ntwo');
    expect(isAdfDoc(doc)).toBe(true);
    expect(adfToText(doc)).toBe('one\ntwo');
    expect(isAdfDoc({ type: 'doc', version: 1, content: 'x' })).toBe(false);
    expect(isAdfDoc({ type: 'paragraph', content: [] })).toBe(false);
  });
});

describe('snapshot', () => {
  it('persists issues across a restart', async () => {
    const snapshotPath = join(mkdtempSync(join(tmpdir(), 'jira-emu-')), 'jira-emulator.json');
    const first = await start({ snapshotPath });
    await first.admin.createIssue({ as: 'alice@example.com', project: 'OPS', summary: 'persist me' });
    await first.admin.addComment('OPS-1', 'bob@example.com', 'kept');
    await first.emu.stop();
    expect(JSON.parse(readFileSync(snapshotPath, 'utf8'))).toMatchObject({ version: 1 });

    const second = await start({ snapshotPath });
    try {
      const view = await second.admin.issue('OPS-1');
      expect(view.fields.summary).toBe('persist me');
      expect(view.comments).toHaveLength(1);
      const created = await second.admin.createIssue({ as: 'alice@example.com', project: 'OPS', summary: 'next' });
      expect(created.key).toBe('OPS-2');
    } finally {
      await second.emu.stop();
    }
  });
});

import { JiraEmulatorAdmin } from '../emulators/jira/admin-client.js';
import { SlackEmulatorAdmin } from '../emulators/slack/admin-client.js';
import { flowConfigOf } from '../src/platform/flow.js';
import { ticketsFlow } from '../src/flows/tickets/flow.js';
import { startBenchStack } from './harness.js';
import { fmtMs, summarize } from './stats.js';

/**
 * Ticket threads on the real stack (embedded Temporal dev server on SQLite, embedded Postgres,
 * worker, API, both emulators), all in this process, emulator rate limits OFF.
 *
 * - Jira → Slack: from just before a person comments in the Jira emulator (which delivers its
 *   two webhooks at once) to the reply's `ts` in the Slack emulator. Includes the merge window
 *   (`TICKET_MERGE_WINDOW`, default 1s) in which the workflow orders and merges events.
 * - Slack → Jira: from just before a person replies in the thread (the Slack emulator delivers
 *   the event) to the comment's `created` in the Jira emulator.
 * Both timestamps come from the emulators' clocks in this process: polling adds no error.
 * - Sustained: many people commenting on many issues at once; Jira changes turned into replies
 *   per second (each change is two webhook deliveries).
 */
const LEVELS = [
  { concurrency: 1, perIssue: 20 },
  { concurrency: 10, perIssue: 10 },
];
const SUSTAINED = { issues: 20, perIssue: 10 };

const tsMs = (ts: string) => Number(ts) * 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function run(): Promise<void> {
  const window = process.env.TICKET_MERGE_WINDOW ?? '1s';
  const bench = await startBenchStack('tickets', { TICKET_MERGE_WINDOW: window });
  const { stack, config } = bench;
  const slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
  const jira = new JiraEmulatorAdmin(stack.urls.jiraEmulator!);
  const auth = { authorization: `Bearer ${config.apiKeys[0]!}` };
  const channel = flowConfigOf(config, ticketsFlow).sync.rules[0]!.channel;

  const root = async (key: string) =>
    jira.waitFor(
      async () => {
        const res = await fetch(`${stack.urls.api}/v1/tickets/${key}`, { headers: auth });
        return res.ok ? ((await res.json()) as { slack: { channel: string; ts: string } | null }).slack : undefined;
      },
      60_000,
      50,
    );
  const newIssue = async (n: number) => {
    const { key } = await jira.createIssue({
      as: 'alice@example.com',
      project: 'OPS',
      summary: `Bench ${n}`,
      issuetype: 'Task',
    });
    return { key, root: await root(key) };
  };
  /** Waits for the thread reply quoting `text`; its Slack ts is when it was posted. */
  const replyTs = async (r: { channel: string; ts: string }, text: string) =>
    (
      await slack.waitFor(
        async () => (await slack.threadReplies(r.channel, r.ts)).find((m) => m.text.includes(text)),
        60_000,
      )
    ).ts;
  /** Waits for the Jira comment carrying `text`; its `created` is when Jira stored it. */
  const commentCreated = async (key: string, text: string) => {
    const c = await jira.waitFor(
      async () => (await jira.issue(key)).comments.find((x) => JSON.stringify(x.body).includes(text)),
      60_000,
      25,
    );
    return Date.parse((c as unknown as { created: string }).created.replace(/\+0000$/, 'Z'));
  };

  try {
    let n = 0;
    const warm = await newIssue(++n);
    await jira.addComment(warm.key, 'bob@example.com', 'warm-up');
    await replyTs(warm.root, 'warm-up');

    const rows: string[] = [];
    for (const level of LEVELS) {
      const issues = await Promise.all(Array.from({ length: level.concurrency }, () => newIssue(++n)));
      const toSlack: number[] = [];
      const toJira: number[] = [];
      const started = Date.now();
      await Promise.all(
        issues.map(async ({ key, root: r }) => {
          for (let i = 0; i < level.perIssue; i++) {
            const jiraText = `from-jira ${key} ${i}`;
            const t0 = Date.now();
            await jira.addComment(key, 'bob@example.com', jiraText);
            toSlack.push(tsMs(await replyTs(r, jiraText)) - t0);
            const slackText = `from-slack ${key} ${i}`;
            const t1 = Date.now();
            await slack.postMessage({ user: 'U0CAROL', channel: r.channel, thread_ts: r.ts, text: slackText });
            toJira.push((await commentCreated(key, slackText)) - t1);
          }
        }),
      );
      const seconds = (Date.now() - started) / 1000;
      const a = summarize(toSlack);
      const b = summarize(toJira);
      rows.push(
        `${String(level.concurrency).padStart(11)} | ${String(a.n).padStart(4)} | ${fmtMs(a.p50).padStart(8)} | ${fmtMs(a.p99).padStart(8)} | ${fmtMs(b.p50).padStart(8)} | ${fmtMs(b.p99).padStart(8)}`,
      );
      console.log(`  concurrency ${level.concurrency}: ${a.n} round trips in ${seconds.toFixed(1)}s`);
    }

    // Sustained: everyone comments at once; done when every change has its reply.
    const issues = await Promise.all(Array.from({ length: SUSTAINED.issues }, () => newIssue(++n)));
    await jira.waitFor(async () => (await jira.deliveries()).every((d) => !d.pending), 60_000, 50);
    const started = Date.now();
    await Promise.all(
      issues.map(async ({ key }) => {
        for (let i = 0; i < SUSTAINED.perIssue; i++)
          await jira.addComment(key, 'dave@example.com', `burst ${key} ${i}`);
      }),
    );
    const sent = Date.now();
    let last = 0;
    for (const { key, root: r } of issues) {
      for (;;) {
        const replies = (await slack.threadReplies(r.channel, r.ts)).filter((m) => m.text.includes(`burst ${key} `));
        if (replies.length >= SUSTAINED.perIssue) {
          last = Math.max(last, ...replies.map((m) => tsMs(m.ts)));
          break;
        }
        await sleep(50);
      }
    }
    const changes = SUSTAINED.issues * SUSTAINED.perIssue;
    const seconds = (last - started) / 1000;

    console.log(`\nticket threads, ${channel}, merge window ${window} (emulator rate limits OFF)`);
    console.log('concurrency |    n | Jira→Slack p50 | p99   | Slack→Jira p50 | p99');
    for (const r of rows) console.log(r);
    console.log(
      `sustained: ${changes} Jira comments on ${SUSTAINED.issues} issues (${changes * 2} webhook deliveries) sent in ${((sent - started) / 1000).toFixed(1)}s, ` +
        `all replied within ${seconds.toFixed(1)}s → ${(changes / seconds).toFixed(1)} changes/s (${((changes * 2) / seconds).toFixed(1)} deliveries/s)`,
    );
  } finally {
    await bench.stop();
  }
}

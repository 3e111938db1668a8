import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * `npm run demo [scenario…]`: drives a running sandbox (`npm start` in another terminal) through
 * each scenario in dev/demo/ and prints what Slack/Jira show. Env: THREADLINE_URL (default
 * http://127.0.0.1:3000), SLACK_EMULATOR_URL (…:3101), JIRA_EMULATOR_URL (…:3102), API key from
 * THREADLINE_API_KEY (default the sandbox key).
 */
export interface DemoContext {
  apiUrl: string;
  slackUrl: string;
  jiraUrl: string;
  apiKey: string;
  log: (line: string) => void;
}

async function main(): Promise<void> {
  const ctx: DemoContext = {
    apiUrl: process.env.THREADLINE_URL ?? 'http://127.0.0.1:3000',
    slackUrl: process.env.SLACK_EMULATOR_URL ?? 'http://127.0.0.1:3101',
    jiraUrl: process.env.JIRA_EMULATOR_URL ?? 'http://127.0.0.1:3102',
    apiKey: process.env.THREADLINE_API_KEY ?? 'tl_sandbox_key',
    log: (l) => console.log(l),
  };
  const ready = await fetch(`${ctx.apiUrl}/readyz`).catch(() => undefined);
  if (!ready?.ok) {
    console.error(`Threadline is not ready at ${ctx.apiUrl}: start it with \`npm start\` in another terminal first.`);
    process.exit(1);
  }
  const dir = fileURLToPath(new URL('./demo/', import.meta.url));
  const all = (await readdir(dir))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.replace(/\.ts$/, ''))
    .sort();
  const wanted = process.argv.slice(2);
  const scenarios = wanted.length ? wanted : all;
  for (const name of scenarios) {
    if (!all.includes(name)) throw new Error(`unknown demo scenario ${name}; have: ${all.join(', ')}`);
    console.log(`\n=== demo: ${name} ===`);
    const mod = (await import(`./demo/${name}.ts`)) as { run(ctx: DemoContext): Promise<void> };
    await mod.run(ctx);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

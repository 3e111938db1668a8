import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { format, resolveConfig } from 'prettier';
import { flows } from '../src/flows/index.js';
import { buildSlackManifest } from '../src/platform/slack/manifest.js';

/** Where the committed Socket Mode manifest lives (a test keeps it equal to the code). */
export const MANIFEST_PATH = new URL('../slack/manifest.json', import.meta.url);

/**
 * `npm run manifest`: the Slack app manifest, generated from the code's registry of commands,
 * events and scopes. `--socket-mode` (the default without `--url`) writes `slack/manifest.json`;
 * `--url https://threadline.example.com` prints the HTTP variant (request URLs under that base);
 * `--out <file>` writes it there instead, `--out -` prints it.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      'socket-mode': { type: 'boolean' },
      out: { type: 'string' },
      name: { type: 'string' },
    },
  });
  const socketMode = values['socket-mode'] ?? values.url === undefined;
  if (!socketMode && !values.url?.startsWith('https://')) {
    throw new Error('--url must be the public https:// base URL of the API (Slack only calls https)');
  }
  const manifest = buildSlackManifest({
    flows,
    socketMode,
    ...(values.url ? { url: values.url } : {}),
    ...(values.name ? { name: values.name } : {}),
  });
  const out = values.out ?? (socketMode && !values.url ? MANIFEST_PATH.pathname : '-');
  // Formatted as `prettier --check .` (npm run check) expects, so a regenerated file passes it as written.
  const text = await format(JSON.stringify(manifest, null, 2), {
    ...(await resolveConfig(MANIFEST_PATH.pathname)),
    parser: 'json',
  });
  if (out === '-') process.stdout.write(text);
  else {
    await writeFile(out, text);
    console.log(`wrote ${out}`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

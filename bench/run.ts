import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * `npm run bench [name…]`: runs each benchmark in bench/ (files exporting `run()`), which start
 * the real stack themselves and print their numbers. No name: all of them.
 */
async function main(): Promise<void> {
  const dir = fileURLToPath(new URL('./', import.meta.url));
  const all = (await readdir(dir))
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => f.replace(/\.bench\.ts$/, ''))
    .sort();
  const wanted = process.argv.slice(2);
  for (const name of wanted.length ? wanted : all) {
    if (!all.includes(name)) throw new Error(`unknown benchmark ${name}; have: ${all.join(', ')}`);
    console.log(`\n=== bench: ${name} ===`);
    const mod = (await import(`./${name}.bench.ts`)) as { run(): Promise<void> };
    await mod.run();
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

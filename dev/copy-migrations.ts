import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** `npm run build`: every `migrations/` folder under src/ (the platform's and each flow's) goes to dist/ beside its code. */
function copy(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const path = join(dir, e.name);
    if (e.name === 'migrations') cpSync(path, path.replace(/^src/, 'dist'), { recursive: true });
    else copy(path);
  }
}
copy('src');

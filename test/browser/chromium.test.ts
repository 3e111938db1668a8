import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureChromium } from './helpers/chromium.js';

/**
 * A stand-in for apt-get that behaves like a fresh Debian machine: no package lists until
 * `update`, then `install` puts an executable `chromium` in place. It records each call with its
 * environment and whether it had a terminal to ask questions on.
 */
async function freshMachine() {
  const dir = await mkdtemp(join(tmpdir(), 'threadline-apt-'));
  const aptGet = join(dir, 'apt-get');
  await writeFile(
    aptGet,
    `#!/bin/sh
echo "$* | DEBIAN_FRONTEND=$DEBIAN_FRONTEND | stdin=$(test -t 0 && echo tty || echo none)" >> "${dir}/calls"
case "$1" in
  update) touch "${dir}/lists" ;;
  install)
    [ -f "${dir}/lists" ] || { echo "E: Unable to locate package chromium" >&2; exit 100; }
    printf '#!/bin/sh\\n' > "${dir}/chromium" && chmod +x "${dir}/chromium" ;;
esac
`,
  );
  await chmod(aptGet, 0o755);
  const calls = async () =>
    (await readFile(join(dir, 'calls'), 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
  return { dir, aptGet, path: join(dir, 'chromium'), calls };
}

describe('Chromium for the browser tests (Debian package, installed by the test run when missing)', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('as root on a fresh machine: apt-get install fails without lists, apt-get update, install again; never interactive', async () => {
    const m = await freshMachine();
    dirs.push(m.dir);
    const logs: string[] = [];
    await expect(ensureChromium((l) => logs.push(l), { path: m.path, aptGet: m.aptGet, root: true })).resolves.toBe(
      m.path,
    );
    const calls = await m.calls();
    expect(calls.map((c) => c.split(' ')[0])).toEqual(['install', 'update', 'install']);
    for (const c of calls)
      expect(c).toMatch(/-o DPkg::Lock::Timeout=300 .*\| DEBIAN_FRONTEND=noninteractive \| stdin=none$/);
    expect(calls[2]).toMatch(/^install -y -q .* chromium fonts-noto-color-emoji \|/);
    expect(logs.at(-1)).toBe(`chromium installed at ${m.path}`);
  });

  it('not root: says what to run instead of trying', async () => {
    const m = await freshMachine();
    dirs.push(m.dir);
    await expect(ensureChromium(() => {}, { path: m.path, aptGet: m.aptGet, root: false })).rejects.toThrow(
      /Chromium is missing at .*sudo apt-get install -y chromium/,
    );
    expect(await m.calls()).toEqual([]);
  });

  it('already installed: no chromium install at all', async () => {
    const m = await freshMachine();
    dirs.push(m.dir);
    await writeFile(m.path, '#!/bin/sh\n');
    await chmod(m.path, 0o755);
    await expect(ensureChromium(() => {}, { path: m.path, aptGet: m.aptGet, root: true })).resolves.toBe(m.path);
    expect((await m.calls()).filter((c) => c.includes(' chromium '))).toEqual([]);
  });
});

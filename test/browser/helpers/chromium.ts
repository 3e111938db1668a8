import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';

/** Where Debian's `chromium` package puts the browser; `CHROMIUM_PATH` points elsewhere. */
export const chromiumPath = (): string => process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const executable = async (path: string) =>
  access(path, constants.X_OK).then(
    () => true,
    () => false,
  );

/** Runs a command to completion without stdin (CI has none); rejects with its output on failure. */
function run(cmd: string, args: string[], log: (m: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) return resolve();
      log(output.slice(-4000));
      reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`));
    });
  });
}

/**
 * `apt-get install -y` without prompts; waits for a dpkg lock another test file may hold, and
 * refreshes the package lists once when the first attempt fails (a fresh machine has none).
 */
async function aptInstall(aptGet: string, packages: string[], log: (m: string) => void): Promise<void> {
  const install = () => run(aptGet, ['install', '-y', '-q', '-o', 'DPkg::Lock::Timeout=300', ...packages], log);
  await install().catch(async () => {
    log('apt-get install failed: apt-get update, then again');
    await run(aptGet, ['update', '-q', '-o', 'DPkg::Lock::Timeout=300'], log);
    await install();
  });
}

/** Without a colour emoji font, reactions and Block Kit emoji render as empty boxes in screenshots. */
const EMOJI_FONT = '/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf';

/**
 * Makes sure Debian's Chromium is installed (browser downloads are impossible here, so Playwright
 * drives the distribution's build). Installs it with apt-get when missing and we are root (CI runs
 * as root without stdin); refreshes the package lists once if the first attempt cannot find it.
 */
export async function ensureChromium(
  log: (m: string) => void,
  /** Tests of this function only: another browser path, apt-get and user. */
  opts: { path?: string; aptGet?: string; root?: boolean } = {},
): Promise<string> {
  const path = opts.path ?? chromiumPath();
  const aptGet = opts.aptGet ?? 'apt-get';
  const root = opts.root ?? process.getuid?.() === 0;
  const haveFont = await access(EMOJI_FONT).then(
    () => true,
    () => false,
  );
  if (await executable(path)) {
    // Cosmetic only: a missing font never fails a run.
    if (!haveFont && root)
      await aptInstall(aptGet, ['fonts-noto-color-emoji'], log).catch((e: unknown) =>
        log(`could not install the emoji font (${String(e)}); screenshots show boxes for emoji`),
      );
    return path;
  }
  if (process.env.CHROMIUM_PATH && !opts.path)
    throw new Error(`CHROMIUM_PATH=${path} is not an executable browser (unset it to use Debian's chromium)`);
  if (!root)
    throw new Error(
      `Chromium is missing at ${path}: install it with \`sudo apt-get install -y chromium fonts-noto-color-emoji\``,
    );
  log('chromium is missing: apt-get install -y chromium (once; takes a minute)');
  await aptInstall(aptGet, ['chromium', 'fonts-noto-color-emoji'], log);
  if (!(await executable(path))) throw new Error(`apt-get installed chromium but ${path} is not there`);
  log(`chromium installed at ${path}`);
  return path;
}

import { createRequire } from 'node:module';

/**
 * Slack's standard emoji short names. Slack's names are iamcal's emoji-data set; emojibase ships
 * that set as its `iamcal` shortcode preset (hexcode → name or names), so the emulator knows the
 * same ~1,900 names Slack does instead of a hand-picked list.
 */
const iamcal = createRequire(import.meta.url)('emojibase-data/en/shortcodes/iamcal.json') as Record<
  string,
  string | string[]
>;

const STANDARD = new Set<string>(Object.values(iamcal).flat());
const SKIN_TONE = /^skin-tone-[2-6]$/;

/**
 * Whether Slack would accept `name` for reactions.add/remove: a standard short name, a custom
 * emoji of the workspace, or either followed by a skin tone (`+1::skin-tone-3`). Colons around the
 * name are tolerated as Slack does (`:eyes:`).
 */
export function isKnownEmoji(name: string, custom: readonly string[] = []): boolean {
  const [base = '', tone, ...rest] = name.replace(/^:|:$/g, '').split('::');
  if (rest.length > 0) return false;
  if (tone !== undefined && !SKIN_TONE.test(tone)) return false;
  return STANDARD.has(base) || custom.includes(base);
}

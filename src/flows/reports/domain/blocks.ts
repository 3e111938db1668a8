import type { SlackBlock } from '../../../platform/slack/contract.js';
import {
  BLOCK_KIT_LIMITS,
  clip,
  context,
  escapeMrkdwn,
  header,
  packBlocks,
  sections,
} from '../../../platform/slack/domain/block-kit.js';
import type { GroupDigest, RankedItem, ReportDigest } from '../contract.js';

export interface SlackContent {
  text: string;
  blocks: SlackBlock[];
}

/** One group's digest: the root message and its thread replies (the highlighted records). */
export interface DigestMessages {
  root: SlackContent;
  replies: SlackContent[];
}

/** Thread replies per digest: past this many messages the highlight says how many were left out. */
export const MAX_HIGHLIGHT_MESSAGES = 10;

const fmt = (n: number, decimals: number) => n.toFixed(decimals);

function rankedLines(title: string, items: RankedItem[], decimals: number): string[] {
  if (!items.length) return [];
  return [
    `*${escapeMrkdwn(title)}*`,
    ...items.map((i, n) => `${n + 1}. ${escapeMrkdwn(i.item)}: *${fmt(i.score, decimals)}* (${i.count})`),
  ];
}

/** Fields as mrkdwn `*label*\nvalue` pairs, ten per section (Block Kit's limit). */
function fieldSections(pairs: [string, string][]): SlackBlock[] {
  const out: SlackBlock[] = [];
  for (let i = 0; i < pairs.length; i += BLOCK_KIT_LIMITS.fieldsPerSection) {
    out.push({
      type: 'section',
      fields: pairs.slice(i, i + BLOCK_KIT_LIMITS.fieldsPerSection).map(([label, value]) => ({
        type: 'mrkdwn',
        text: clip(`*${escapeMrkdwn(label)}*\n${escapeMrkdwn(value)}`, BLOCK_KIT_LIMITS.fieldText),
      })),
    });
  }
  return out;
}

function title(digest: ReportDigest, g: GroupDigest): string {
  return g.group === null ? digest.name : `${digest.name}: ${g.group}`;
}

/**
 * The root message of one group's digest: a header, the window, counts and averages as fields,
 * the top and bottom items. An empty group shows the report's empty notice instead. Every block
 * stays within Block Kit's limits; anything past 50 blocks would move to the replies (the root's
 * parts are bounded, so in practice it never does).
 */
export function buildDigestMessages(digest: ReportDigest, g: GroupDigest): DigestMessages {
  const name = title(digest, g);
  const head: SlackBlock[] = [header(name), context([escapeMrkdwn(digest.windowLabel)])];
  if (g.records === 0) {
    return {
      root: {
        text: clip(`${name}: ${digest.emptyMessage}`, BLOCK_KIT_LIMITS.fallbackText),
        blocks: [...head, ...sections([escapeMrkdwn(digest.emptyMessage)])],
      },
      replies: [],
    };
  }
  const pairs: [string, string][] = [['Records', String(g.records)]];
  for (const d of g.distinct) pairs.push([d.label, String(d.count)]);
  for (const a of g.averages) pairs.push([a.label, a.value === null ? '–' : fmt(a.value, a.decimals)]);
  if (g.highlight) pairs.push([g.highlight.title, String(g.highlight.total)]);
  const decimals = g.averages[0]?.decimals ?? 1;
  const rankLabel = digest.rankLabel ?? 'Items';
  const body: SlackBlock[] = [
    ...fieldSections(pairs),
    ...sections(rankedLines(`Top ${rankLabel.toLowerCase()}`, g.top, decimals)),
    ...sections(rankedLines(`Bottom ${rankLabel.toLowerCase()}`, g.bottom, decimals)),
  ];
  if (g.highlight?.total) body.push(context([`${g.highlight.total} highlighted in the thread`]));
  const [rootBlocks, ...overflow] = packBlocks([...head, ...body]);
  const summary = [
    `${name}: ${g.records} records`,
    ...g.averages.filter((a) => a.value !== null).map((a) => `${a.label} ${fmt(a.value!, a.decimals)}`),
  ].join(', ');
  return {
    root: { text: clip(summary, BLOCK_KIT_LIMITS.fallbackText), blocks: rootBlocks! },
    replies: [
      ...overflow.map((blocks) => ({ text: clip(`${name} (continued)`, BLOCK_KIT_LIMITS.fallbackText), blocks })),
      ...highlightReplies(g),
    ],
  };
}

/**
 * The highlighted records as thread replies: one line per record, packed into sections of at
 * most 3,000 characters and messages of at most 50 blocks; past `MAX_HIGHLIGHT_MESSAGES`
 * messages (or the highlight's own limit) a last line says how many were not shown.
 */
export function highlightReplies(g: GroupDigest): SlackContent[] {
  const h = g.highlight;
  if (!h || h.total === 0) return [];
  const max = BLOCK_KIT_LIMITS.sectionText;
  // One block of every message is kept free for the "not shown" note.
  const sectionsPerMessage = BLOCK_KIT_LIMITS.blocksPerMessage - 1;
  const messages: SlackBlock[][] = [];
  let current: SlackBlock[] = [];
  let section = `*${escapeMrkdwn(h.title)}* (${h.total})`;
  let shown = 0;
  const flush = () => {
    if (section) current.push({ type: 'section', text: { type: 'mrkdwn', text: section } });
    section = '';
    if (current.length >= sectionsPerMessage) {
      messages.push(current);
      current = [];
    }
  };
  for (const i of h.items) {
    const [first, ...rest] = i.values.map((v) => escapeMrkdwn(v || '–'));
    const line = clip(
      `• *${first}*${rest.length ? ` · ${rest.join(' · ')}` : ''} (${escapeMrkdwn(h.field)}: ${escapeMrkdwn(i.matched)})`,
      max,
    );
    if (section && section.length + 1 + line.length > max) flush();
    if (messages.length >= MAX_HIGHLIGHT_MESSAGES) break;
    section = section ? `${section}\n${line}` : line;
    shown++;
  }
  flush();
  if (current.length) messages.push(current);
  if (h.total > shown) messages[messages.length - 1]!.push(context([`…and ${h.total - shown} more not shown`]));
  return messages.map((blocks, i) => ({
    text: clip(
      `${h.title} (${h.total})${messages.length > 1 ? `, part ${i + 1} of ${messages.length}` : ''}`,
      BLOCK_KIT_LIMITS.fallbackText,
    ),
    blocks,
  }));
}

import type { SlackBlock } from '../contract.js';

/**
 * Block Kit limits of a message (Slack's reference: 50 blocks per message, section text 3,000
 * characters, header 150, fields 10 × 2,000, context 10 elements, top-level `text` recommended
 * ≤ 4,000). Content that does not fit is split across blocks and messages, never refused: a
 * digest or a notification must not fail because it is long.
 */
export const BLOCK_KIT_LIMITS = {
  blocksPerMessage: 50,
  sectionText: 3000,
  headerText: 150,
  fieldsPerSection: 10,
  fieldText: 2000,
  contextElements: 10,
  fallbackText: 4000,
} as const;

/** Slack mrkdwn has three control characters; user data is escaped so nothing renders as a link or mention. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** `s` cut to `max` characters, with an ellipsis when cut. */
export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`;
}

/**
 * Splits text into chunks of at most `max` characters, at line breaks where it can (lines stay
 * whole and in order); a single line longer than `max` is cut into `max`-sized pieces.
 */
export function chunkText(text: string, max: number = BLOCK_KIT_LIMITS.sectionText): string[] {
  const pieces: string[] = [];
  for (const line of text.split('\n')) {
    if (line.length <= max) pieces.push(line);
    else for (let i = 0; i < line.length; i += max) pieces.push(line.slice(i, i + max));
  }
  const chunks: string[] = [];
  let current: string | undefined;
  for (const p of pieces) {
    if (current === undefined) current = p;
    else if (current.length + 1 + p.length <= max) current = `${current}\n${p}`;
    else {
      chunks.push(current);
      current = p;
    }
  }
  if (current !== undefined) chunks.push(current);
  return chunks;
}

/** mrkdwn section blocks holding `lines` in order, each section within the section-text limit. */
export function sections(lines: readonly string[], max: number = BLOCK_KIT_LIMITS.sectionText): SlackBlock[] {
  const text = lines.join('\n');
  if (!text.trim()) return [];
  return chunkText(text, max).map((t) => ({ type: 'section', text: { type: 'mrkdwn', text: t } }));
}

/** Blocks packed into messages of at most `perMessage` blocks each (order kept; at least one message). */
export function packBlocks(
  blocks: readonly SlackBlock[],
  perMessage: number = BLOCK_KIT_LIMITS.blocksPerMessage,
): SlackBlock[][] {
  const out: SlackBlock[][] = [];
  for (let i = 0; i < blocks.length; i += perMessage) out.push(blocks.slice(i, i + perMessage));
  return out.length ? out : [[]];
}

/** A header block (plain text, within its limit). */
export function header(text: string): SlackBlock {
  return { type: 'header', text: { type: 'plain_text', text: clip(text, BLOCK_KIT_LIMITS.headerText), emoji: true } };
}

/** A context block of mrkdwn elements (at most ten, each within the section limit). */
export function context(elements: readonly string[]): SlackBlock {
  return {
    type: 'context',
    elements: elements
      .slice(0, BLOCK_KIT_LIMITS.contextElements)
      .map((t) => ({ type: 'mrkdwn', text: clip(t, BLOCK_KIT_LIMITS.sectionText) })),
  };
}

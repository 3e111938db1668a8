import type { CommentDraft } from '../../flows/tickets/tracker.js';

/** Atlassian Document Format nodes, as REST v3 writes take them. */
export interface AdfNode {
  type: string;
  text?: string;
  attrs?: Record<string, unknown>;
  marks?: { type: string; attrs?: Record<string, unknown> }[];
  content?: AdfNode[];
}
export interface AdfDoc {
  type: 'doc';
  version: 1;
  content: AdfNode[];
}

/** Plain text → paragraphs (blank lines) with hard breaks (single newlines). Empty text → no paragraph. */
export function textToAdfParagraphs(text: string): AdfNode[] {
  return text
    .replace(/\r\n?/g, '\n')
    .split(/\n{2,}/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((para) => ({
      type: 'paragraph',
      content: para
        .split('\n')
        .flatMap((line, i) => [
          ...(i > 0 ? [{ type: 'hardBreak' }] : []),
          ...(line ? [{ type: 'text', text: line }] : []),
        ]),
    }));
}

/**
 * A comment written for a person: their words, then who said it ("via Slack by …", as a mention
 * of their Jira account when it was matched by email, so Jira links and notifies them).
 */
export function commentToAdf(draft: CommentDraft): AdfDoc {
  const who: AdfNode = draft.author.trackerAccountId
    ? { type: 'mention', attrs: { id: draft.author.trackerAccountId, text: `@${draft.author.name}` } }
    : { type: 'text', text: draft.author.name, marks: [{ type: 'strong' }] };
  const body = draft.deletedNote
    ? [
        {
          type: 'paragraph',
          content: [{ type: 'text', text: 'This reply was deleted in Slack.', marks: [{ type: 'em' }] }],
        },
      ]
    : textToAdfParagraphs(draft.text);
  return {
    type: 'doc',
    version: 1,
    content: [
      ...body,
      { type: 'paragraph', content: [{ type: 'text', text: '— via Slack by ', marks: [{ type: 'em' }] }, who] },
    ],
  };
}

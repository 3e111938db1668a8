/**
 * Atlassian Document Format helpers. REST v3 speaks ADF; webhooks and changelog strings use the v2
 * (plain text / wiki-ish) representation, so the emulator converts between the two.
 */
export interface AdfNode {
  type: string;
  text?: string;
  content?: AdfNode[];
  attrs?: Record<string, unknown>;
  marks?: unknown[];
  version?: number;
}

export { str };

export function textToAdf(text: string): AdfNode {
  return {
    type: 'doc',
    version: 1,
    content: text.split(/\n{2,}/).map((para) => ({
      type: 'paragraph',
      content: para.length ? [{ type: 'text', text: para }] : [],
    })),
  };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function validNode(n: unknown, depth: number): boolean {
  if (!isObj(n) || typeof n.type !== 'string' || depth > 50) return false;
  if (n.type === 'text' && typeof n.text !== 'string') return false;
  if (n.content !== undefined && (!Array.isArray(n.content) || !n.content.every((c) => validNode(c, depth + 1))))
    return false;
  return true;
}

/** Loose check: Jira rejects anything that is not a versioned `doc` with a content array of typed nodes. */
export function isAdfDoc(v: unknown): v is AdfNode {
  return (
    isObj(v) &&
    v.type === 'doc' &&
    v.version === 1 &&
    Array.isArray(v.content) &&
    v.content.every((c) => validNode(c, 1))
  );
}

/** Stringifies primitives only; objects become '' rather than '[object Object]'. */
const str = (v: unknown): string =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';

const BLOCKS = new Set(['paragraph', 'heading', 'blockquote', 'codeBlock', 'listItem', 'panel', 'rule']);

/** Flattens ADF to text the way the v2 representation reads: blocks separated by newlines. */
export function adfToText(doc: AdfNode | null | undefined): string {
  if (!doc) return '';
  const out: string[] = [];
  const walk = (n: AdfNode): void => {
    if (n.type === 'text') out.push(n.text ?? '');
    else if (n.type === 'hardBreak') out.push('\n');
    else if (n.type === 'mention') out.push(`[~accountid:${str(n.attrs?.id)}]`);
    else if (n.type === 'emoji') out.push(str(n.attrs?.text ?? n.attrs?.shortName));
    else if (n.type === 'inlineCard') out.push(str(n.attrs?.url));
    for (const c of n.content ?? []) walk(c);
    if (BLOCKS.has(n.type)) out.push('\n');
  };
  for (const c of doc.content ?? []) walk(c);
  return out.join('').replace(/\n+$/, '');
}

import { html, type Html } from '../../shared/ui/html.js';
import type { AdfNode } from '../adf.js';

const SAFE_URL = /^(https?:|mailto:)/i;
const s = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

/**
 * An Atlassian Document Format body as HTML (paragraphs, headings, lists, code, quotes, marks,
 * links, mentions, emoji), the way Jira's issue view shows descriptions and comments.
 */
export function adfToHtml(doc: AdfNode | null | undefined, userName: (accountId: string) => string | undefined): Html {
  if (!doc) return html`<p class="muted">None</p>`;
  const node = (n: AdfNode): Html => {
    const kids = html`${(n.content ?? []).map(node)}`;
    switch (n.type) {
      case 'paragraph':
        return html`<p>${kids}</p>`;
      case 'heading': {
        const level = Math.min(6, Math.max(3, Number(n.attrs?.level ?? 3) + 2));
        return html`<p class="adf-heading adf-h${level}" role="heading" aria-level="${level}">${kids}</p>`;
      }
      case 'bulletList':
        return html`<ul>
          ${kids}
        </ul>`;
      case 'orderedList':
        return html`<ol>
          ${kids}
        </ol>`;
      case 'listItem':
        return html`<li>${kids}</li>`;
      case 'blockquote':
        return html`<blockquote>${kids}</blockquote>`;
      case 'codeBlock':
        return html`<pre><code>${kids}</code></pre>`;
      case 'rule':
        return html`<hr />`;
      case 'hardBreak':
        return html`<br />`;
      case 'mention': {
        const id = s(n.attrs?.id);
        return html`<span class="mention">@${userName(id) ?? (s(n.attrs?.text).replace(/^@/, '') || id)}</span>`;
      }
      case 'emoji':
        return html`${s(n.attrs?.text) || s(n.attrs?.shortName)}`;
      case 'inlineCard': {
        const url = s(n.attrs?.url);
        return SAFE_URL.test(url)
          ? html`<a href="${url}" target="_blank" rel="noopener noreferrer">${url}</a>`
          : html`${url}`;
      }
      case 'text':
        return marked(n);
      default:
        return kids;
    }
  };
  return html`<div class="adf">${(doc.content ?? []).map(node)}</div>`;
}

function marked(n: AdfNode): Html {
  let out = html`${n.text ?? ''}`;
  for (const m of (n.marks ?? []) as { type?: string; attrs?: Record<string, unknown> }[]) {
    if (m.type === 'strong') out = html`<b>${out}</b>`;
    else if (m.type === 'em') out = html`<i>${out}</i>`;
    else if (m.type === 'strike') out = html`<s>${out}</s>`;
    else if (m.type === 'code') out = html`<code>${out}</code>`;
    else if (m.type === 'underline') out = html`<u>${out}</u>`;
    else if (m.type === 'link' && SAFE_URL.test(s(m.attrs?.href)))
      out = html`<a href="${s(m.attrs?.href)}" target="_blank" rel="noopener noreferrer">${out}</a>`;
  }
  return out;
}

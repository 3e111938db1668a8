import escapeHtml from 'escape-html';

/** Markup that is already safe to emit (built by `html` or `raw`); everything else gets escaped. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** What may be interpolated: text (escaped), markup, nothing (`false`, `null`, `undefined`), or lists of these. */
export type Part = Html | string | number | boolean | null | undefined | readonly Part[];

const emit = (p: Part): string => {
  if (p instanceof Html) return p.value;
  if (p === null || p === undefined || p === false || p === true) return '';
  if (Array.isArray(p)) return (p as readonly Part[]).map(emit).join('');
  return escapeHtml(String(p));
};

/**
 * The one way the sandbox views build markup: interpolated values are HTML-escaped (attribute
 * values included, as long as they sit inside quotes), so text from Slack messages, Jira issues
 * or people cannot inject markup or script.
 */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += emit(v) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

/** Markup produced elsewhere and known to be safe (e.g. JSON for a data attribute goes through `json`). */
export const raw = (s: string): Html => new Html(s);

/** A value for a `data-*` attribute holding JSON (escaped like any attribute value). */
export const json = (v: unknown): string => JSON.stringify(v);

/** ` name="value"`, or nothing when the value is absent (an empty aria-label would hide a button's text). */
export const attr = (name: string, value: string | number | undefined | null | false): Html =>
  value === undefined || value === null || value === false || value === '' ? new Html('') : html` ${name}="${value}"`;

/** `class="a b"` from the truthy names. */
export const classes = (...names: (string | false | null | undefined)[]): string => names.filter(Boolean).join(' ');

import escapeHtml from 'escape-html';

/** Markup that is already safe to emit (built by `html`); everything else is escaped on the way in. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** What may be interpolated: text (escaped), markup, nothing, or lists of these. */
export type Part = Html | string | number | boolean | null | undefined | readonly Part[];

const emit = (p: Part): string => {
  if (p instanceof Html) return p.value;
  if (p === null || p === undefined || typeof p === 'boolean') return '';
  if (Array.isArray(p)) return (p as readonly Part[]).map(emit).join('');
  return escapeHtml(String(p));
};

/**
 * The console's only way to build markup: every interpolated value is HTML-escaped (attribute
 * values too, inside quotes), so subjects, statuses and errors coming from workflows cannot inject
 * markup. The sandbox views in emulators/ build their pages with it too.
 */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += emit(v) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

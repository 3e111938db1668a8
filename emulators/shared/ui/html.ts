import { Html, html, type Part } from '../../../src/console/html.js';

/**
 * The one way the sandbox views build markup is the console's `html` tagged template: every
 * interpolated value is HTML-escaped (attribute values included, inside quotes), so text from
 * Slack messages, Jira issues or people cannot inject markup or script. One implementation for
 * both (the emulators may use src/, never the other way round).
 */
export { Html, html, type Part };

/** Markup produced elsewhere and known to be safe (e.g. JSON for a data attribute goes through `json`). */
export const raw = (s: string): Html => new Html(s);

/** A value for a `data-*` attribute holding JSON (escaped like any attribute value). */
export const json = (v: unknown): string => JSON.stringify(v);

/** ` name="value"`, or nothing when the value is absent (an empty aria-label would hide a button's text). */
export const attr = (name: string, value: string | number | undefined | null | false): Html =>
  value === undefined || value === null || value === false || value === '' ? new Html('') : html` ${name}="${value}"`;

/** `class="a b"` from the truthy names. */
export const classes = (...names: (string | false | null | undefined)[]): string => names.filter(Boolean).join(' ');

/**
 * A confirm dialog as both views show one before deleting: Cancel, and a danger button that
 * sends `body` to the admin API at `post` (live.js wires `data-close` and `data-post`).
 */
export function confirmDialog(d: {
  id: string;
  title: string;
  text: string;
  post: string;
  method?: string;
  body: unknown;
}): Html {
  return html`<dialog class="confirm" id="${d.id}" aria-labelledby="${d.id}-title">
    <h3 id="${d.id}-title">${d.title}</h3>
    <p>${d.text}</p>
    <div class="confirm-buttons">
      <button type="button" class="bk-btn" data-close>Cancel</button>
      <button
        type="button"
        class="bk-btn bk-danger"
        data-post="${d.post}"
        ${attr('data-method', d.method)}
        data-body="${json(d.body)}"
      >
        Delete
      </button>
    </div>
  </dialog>`;
}

// The sandbox views' browser side, shared by the Slack and Jira views. The server renders every
// page; this file only (1) sends what a person does to the emulator's admin API, the same calls
// tests make, (2) refetches the page when the server says something changed (server-sent events)
// and patches the DOM in place with morphdom, so typing, focus and scroll survive live updates.
import morphdom from '/_ui/vendor/morphdom.js';

const formHandlers = new Map();
/** Panels a person opened (edit forms, emoji pickers): kept open across live updates. */
const opened = new Set();

/** A short message in the page's live region (read out by screen readers). */
export function toast(text, kind = 'info') {
  const region = document.getElementById('toasts');
  if (!region) return;
  const p = document.createElement('p');
  p.className = `toast toast-${kind}`;
  p.textContent = text;
  region.append(p);
  setTimeout(() => p.remove(), kind === 'error' ? 10_000 : 5000);
}

let inflight = null;
let again = false;

/** Fetches the current page again and patches it in; calls during a refresh coalesce into one more. */
export function refresh() {
  if (inflight) {
    again = true;
    return inflight;
  }
  inflight = (async () => {
    do {
      again = false;
      let res;
      try {
        res = await fetch(location.href, { headers: { accept: 'text/html' }, cache: 'no-store' });
      } catch {
        return; // the emulator is restarting; the event stream reconnects and refreshes again
      }
      if (!res.ok) return;
      const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
      const next = doc.getElementById('app');
      const current = document.getElementById('app');
      if (next && current) morph(current, next);
      document.title = doc.title;
    } while (again);
  })().finally(() => {
    inflight = null;
  });
  return inflight;
}

const isField = (el) =>
  el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement;

function morph(current, next) {
  morphdom(current, next, {
    onBeforeElUpdated(from, to) {
      if (from.isEqualNode(to)) return false;
      // What a person is typing or picking is theirs until they send it; the rest (an error, aria-invalid) updates.
      if (isField(from) && from.dataset.dirty === 'true' && from.id === to.id) keepValue(from, to);
      if (from instanceof HTMLDialogElement && from.open) to.setAttribute('open', '');
      if (from instanceof HTMLDetailsElement && from.open) to.setAttribute('open', '');
      if (from.id && opened.has(from.id)) to.hidden = false;
      return true;
    },
  });
  openModals();
  document.dispatchEvent(new CustomEvent('ui:morphed'));
}

/** Carries a field's current value onto its new rendering, so the patch leaves it as it is. */
function keepValue(from, to) {
  to.dataset.dirty = 'true';
  if (from instanceof HTMLSelectElement) {
    const chosen = new Set([...from.selectedOptions].map((o) => o.value));
    for (const o of to.options) o.toggleAttribute('selected', chosen.has(o.value));
  } else if (from instanceof HTMLInputElement && (from.type === 'checkbox' || from.type === 'radio')) {
    to.toggleAttribute('checked', from.checked);
  } else {
    to.value = from.value;
    if (to instanceof HTMLTextAreaElement) to.textContent = from.value;
  }
}

/** Server-rendered modals (`<dialog data-modal>`) become real modal dialogs: focus trapped, page inert. */
function openModals() {
  for (const d of document.querySelectorAll('dialog[data-modal]')) {
    if (d.open) continue;
    d.showModal();
    d.querySelector('[autofocus], input:not([type=hidden]), textarea, select, button')?.focus();
  }
}

const parse = (text) => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/** Why an admin call failed, in words (the emulators answer `{error}` or `{ok:false, error}`). */
const failure = (status, data) =>
  (data && typeof data === 'object' && typeof data.error === 'string' && data.error) ||
  (typeof data === 'string' && data) ||
  `HTTP ${status}`;

/**
 * Sends one admin API call as JSON and refreshes. Answers with the parsed body, or undefined when
 * the emulator refused (shown as a toast).
 */
export async function send(url, method, body) {
  let res;
  try {
    res = await fetch(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    toast('The emulator is not reachable.', 'error');
    return undefined;
  }
  const data = parse(await res.text());
  if (!res.ok) {
    toast(failure(res.status, data), 'error');
    return undefined;
  }
  document.dispatchEvent(new CustomEvent('ui:sent', { detail: { url, data } }));
  void refresh();
  return data;
}

const bodyOf = (el) => (el.dataset.body ? JSON.parse(el.dataset.body) : {});

/** A view script handles its own kinds of form (`data-form`): returns {url, method, body} or null to stop. */
export function onSubmit(kind, handler) {
  formHandlers.set(kind, handler);
}

function fieldsOf(form) {
  const out = {};
  for (const el of form.elements) {
    if (!isField(el) || !el.name) continue;
    if (el instanceof HTMLInputElement && el.type === 'checkbox') out[el.name] = el.checked;
    else if (el.value !== '' || !el.hasAttribute('data-omit-empty')) out[el.name] = el.value;
  }
  return out;
}

async function submit(form) {
  const kind = form.dataset.form;
  const base = {
    url: form.dataset.post,
    method: form.dataset.method ?? 'POST',
    body: { ...bodyOf(form), ...fieldsOf(form) },
  };
  const call = kind && formHandlers.has(kind) ? formHandlers.get(kind)(form, base) : base;
  if (!call) return;
  const button = form.querySelector('[type=submit]');
  if (button) button.disabled = true;
  try {
    const data = await send(call.url, call.method, call.body);
    if (data === undefined) return;
    // A form that stays on screen (a modal the app may answer with errors) keeps what was typed.
    const done = form.dataset.reset !== 'false' || form.dataset.closeOnSuccess !== undefined;
    if (done) for (const el of form.elements) if (isField(el)) delete el.dataset.dirty;
    if (form.dataset.reset !== 'false') form.reset();
    if (form.id && form.dataset.closeOnSuccess !== undefined) setOpen(form.id, false);
    call.after?.(data);
  } finally {
    if (button) button.disabled = false;
  }
}

function setOpen(id, open) {
  const target = document.getElementById(id);
  if (!target) return;
  target.hidden = !open;
  if (open) opened.add(id);
  else opened.delete(id);
  for (const t of document.querySelectorAll(`[data-toggle="${id}"]`)) t.setAttribute('aria-expanded', String(open));
  if (open) target.querySelector('textarea, input, select, button')?.focus();
}

document.addEventListener('input', (e) => {
  if (isField(e.target)) e.target.dataset.dirty = 'true';
});

document.addEventListener('change', (e) => {
  const el = e.target;
  if (isField(el)) el.dataset.dirty = 'true';
  if (el instanceof HTMLSelectElement && el.dataset.navigate !== undefined) {
    location.assign(el.value);
    return;
  }
  // A select that acts on change (a message's static select, Jira's assignee): its value goes in `data-field`.
  if (el instanceof HTMLSelectElement && el.dataset.post && el.value !== '') {
    void send(el.dataset.post, el.dataset.method ?? 'POST', {
      ...bodyOf(el),
      [el.dataset.field ?? 'value']: el.value,
    }).then(() => delete el.dataset.dirty);
  }
});

document.addEventListener('click', (e) => {
  const el =
    e.target instanceof Element ? e.target.closest('[data-post], [data-confirm], [data-toggle], [data-close]') : null;
  if (!el || el instanceof HTMLSelectElement || el instanceof HTMLFormElement) return;
  if (el.dataset.toggle) {
    e.preventDefault();
    const target = document.getElementById(el.dataset.toggle);
    if (target) setOpen(el.dataset.toggle, target.hidden);
    return;
  }
  if (el.dataset.close !== undefined) {
    el.closest('dialog')?.close();
    return;
  }
  if (el.dataset.confirm) {
    // Block Kit confirm dialogs: nothing is sent unless the person confirms.
    e.preventDefault();
    document.getElementById(el.dataset.confirm)?.showModal();
    return;
  }
  if (!(el instanceof HTMLAnchorElement)) e.preventDefault();
  el.closest('dialog:not([data-modal])')?.close();
  void send(el.dataset.post, el.dataset.method ?? 'POST', bodyOf(el));
});

document.addEventListener('submit', (e) => {
  const form = e.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.post) return;
  e.preventDefault();
  void submit(form);
});

document.addEventListener('keydown', (e) => {
  // Enter sends, Shift+Enter starts a new line (as in Slack's composer).
  const el = e.target;
  if (
    e.key === 'Enter' &&
    !e.shiftKey &&
    !e.isComposing &&
    el instanceof HTMLTextAreaElement &&
    el.dataset.enterSubmits !== undefined
  ) {
    e.preventDefault();
    el.form?.requestSubmit();
  }
  if (e.key === 'Escape' && el instanceof Element) {
    const panel = el.closest('[data-panel]');
    if (panel?.id && !panel.hidden) setOpen(panel.id, false);
  }
});

openModals();
const events = new EventSource(document.body.dataset.events);
events.addEventListener('change', () => void refresh());
events.addEventListener('open', () => {
  // The stream only tells of changes from now on: whatever happened since this page was rendered
  // (a slow machine can take seconds to get here) or while the emulator restarted is fetched once.
  void refresh();
});

// The sandbox Slack's own behaviour on top of live.js: the composer's slash commands, modal
// submissions in Slack's `view.state.values` shape, and keeping the message list scrolled.
import { onSubmit, toast } from '/_ui/assets/live.js';

// What Slack's client shows when the app's answer to an interaction was not a success.
document.addEventListener('ui:sent', (e) => {
  const { data } = e.detail;
  const delivery = data && typeof data === 'object' ? data.delivery : undefined;
  if (!delivery) return;
  if (!delivery.delivered && delivery.status === null)
    toast(`The app didn't respond${delivery.error ? ` (${delivery.error})` : ''}.`, 'error');
  else if (delivery.status !== null && (delivery.status < 200 || delivery.status >= 300))
    toast(`The app responded with status code ${delivery.status}.`, 'error');
  if (data.outcome === 'invalid_response') toast('The app answered with a view Slack would refuse.', 'error');
});

// The composer: `/command text` runs a slash command, anything else is a message (or a thread reply).
onSubmit('composer', (form, call) => {
  const text = String(call.body.text ?? '').trim();
  if (!text) return null;
  const { user, channel, thread_ts: threadTs } = call.body;
  const command = /^(\/\S+)\s*([\s\S]*)$/.exec(text);
  if (command && !threadTs)
    return {
      url: form.dataset.commands,
      method: 'POST',
      body: { user, channel, command: command[1], text: command[2] },
    };
  const body = { user, channel, text };
  if (threadTs) {
    body.thread_ts = threadTs;
    if (call.body.reply_broadcast === true) body.reply_broadcast = true;
  }
  return { url: call.url, method: 'POST', body };
});

const REQUIRED = 'Please complete this required field.';

/** Slack's client refuses an empty required field itself, with this text under it. */
function showError(el, text) {
  const wrapper = el.closest('[data-input-block]');
  const slot = wrapper?.querySelector('.bk-error');
  if (!slot) return;
  slot.textContent = text;
  slot.hidden = false;
  wrapper.classList.add('bk-input-invalid');
  el.setAttribute('aria-invalid', 'true');
}

// A modal submission: every input's value keyed by block and action id, as /_admin/views/submit takes it.
onSubmit('view', (form, call) => {
  const values = {};
  let firstMissing;
  const seen = new Set();
  for (const el of form.querySelectorAll('[data-block][data-action]')) {
    const key = `${el.dataset.block}/${el.dataset.action}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const group = [...form.querySelectorAll('[data-block][data-action]')].filter(
      (x) => x.dataset.block === el.dataset.block && x.dataset.action === el.dataset.action,
    );
    let value;
    switch (el.dataset.kind) {
      case 'multi':
        value = [...el.selectedOptions].map((o) => o.value);
        if (!value.length) value = undefined;
        break;
      case 'checks':
        value = group.filter((x) => x.checked).map((x) => x.value);
        break;
      case 'radio':
        value = group.find((x) => x.checked)?.value;
        break;
      default:
        value = el.value === '' ? undefined : el.value;
    }
    const required =
      el.getAttribute('aria-required') === 'true' || el.closest('fieldset')?.querySelector('[aria-required]');
    if (value === undefined && required) {
      showError(el, REQUIRED);
      firstMissing ??= el;
      continue;
    }
    if (value !== undefined) (values[el.dataset.block] ??= {})[el.dataset.action] = value;
  }
  if (firstMissing) {
    firstMissing.focus();
    return null;
  }
  return { url: call.url, method: 'POST', body: { ...JSON.parse(form.dataset.body), values } };
});

// Escape closes a modal the way its Cancel button does (the app hears view_closed if it asked).
document.addEventListener(
  'cancel',
  (e) => {
    const dialog = e.target;
    if (!(dialog instanceof HTMLDialogElement) || dialog.dataset.modal === undefined) return;
    e.preventDefault();
    dialog.querySelector('[data-modal-close]')?.click();
  },
  true,
);

// Keep the newest message in sight, unless the reader scrolled up; point at a permalink's message.
const list = () => document.getElementById('messages');
let pinned = true;
document.addEventListener(
  'scroll',
  (e) => {
    const el = list();
    if (e.target === el) pinned = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  },
  true,
);
function settle() {
  const el = list();
  const highlighted = document.querySelector('.msg-highlight');
  if (highlighted && !settle.done) highlighted.scrollIntoView({ block: 'center' });
  else if (el && pinned) el.scrollTop = el.scrollHeight;
  settle.done = true;
}
document.addEventListener('ui:morphed', settle);
settle();

/**
 * Block Kit validation with Slack's documented limits. Slack answers `invalid_blocks` with
 * `response_metadata.messages` such as `[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]`;
 * we produce the same style so the app's logs look the same against the emulator and Slack.
 */

const BLOCK_TYPES = new Set([
  'section',
  'divider',
  'image',
  'actions',
  'context',
  'input',
  'header',
  'file',
  'rich_text',
  'video',
  'markdown',
  'table',
  'context_actions',
  'call',
]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const textOf = (v: unknown): string | undefined => (isObj(v) && typeof v.text === 'string' ? v.text : undefined);

export type Surface = 'message' | 'modal' | 'home';

export function validateBlocks(blocks: unknown, surface: Surface, pointer = '/blocks'): string[] {
  const errs: string[] = [];
  const err = (msg: string, at: string) => errs.push(`[ERROR] ${msg} [json-pointer:${at}]`);
  if (!Array.isArray(blocks)) {
    err('must provide an array', pointer);
    return errs;
  }
  const max = surface === 'message' ? 50 : 100;
  if (blocks.length > max) err(`no more than ${max} items allowed`, pointer);
  const seen = new Set<string>();
  blocks.forEach((b, i) => {
    const at = `${pointer}/${i}`;
    if (!isObj(b)) return err('must be an object', at);
    if (typeof b.type !== 'string' || !BLOCK_TYPES.has(b.type)) return err(`unsupported type: ${String(b.type)}`, at);
    if (b.block_id !== undefined) {
      if (typeof b.block_id !== 'string' || b.block_id.length > 255)
        err('must be less than 256 characters', `${at}/block_id`);
      else if (seen.has(b.block_id)) err(`duplicate block_id: ${b.block_id}`, `${at}/block_id`);
      else seen.add(b.block_id);
    }
    switch (b.type) {
      case 'section': {
        const t = textOf(b.text);
        if (b.text === undefined && b.fields === undefined) err('must provide text or fields', at);
        if (t !== undefined && t.length > 3000) err('must be less than 3001 characters', `${at}/text/text`);
        if (b.fields !== undefined) {
          if (!Array.isArray(b.fields)) err('must provide an array', `${at}/fields`);
          else {
            if (b.fields.length > 10) err('no more than 10 items allowed', `${at}/fields`);
            b.fields.forEach((f, j) => {
              if ((textOf(f) ?? '').length > 2000) err('must be less than 2001 characters', `${at}/fields/${j}/text`);
            });
          }
        }
        if (b.accessory !== undefined) checkElement(b.accessory, `${at}/accessory`, err);
        break;
      }
      case 'header':
        if ((textOf(b.text) ?? '').length > 150) err('must be less than 151 characters', `${at}/text/text`);
        if (textOf(b.text) === undefined) err('must provide text', `${at}/text`);
        break;
      case 'actions':
        if (!Array.isArray(b.elements) || b.elements.length === 0) err('must provide elements', `${at}/elements`);
        else {
          if (b.elements.length > 25) err('no more than 25 items allowed', `${at}/elements`);
          b.elements.forEach((e, j) => checkElement(e, `${at}/elements/${j}`, err));
        }
        break;
      case 'context':
        if (!Array.isArray(b.elements) || b.elements.length === 0) err('must provide elements', `${at}/elements`);
        else if (b.elements.length > 10) err('no more than 10 items allowed', `${at}/elements`);
        break;
      case 'input':
        if (textOf(b.label) === undefined) err('must provide label', `${at}/label`);
        if (b.element === undefined) err('must provide element', `${at}/element`);
        else checkElement(b.element, `${at}/element`, err);
        break;
      case 'image':
        if (typeof b.alt_text !== 'string') err('must provide alt_text', `${at}/alt_text`);
        break;
      default:
        break;
    }
    return undefined;
  });
  return errs;
}

function checkElement(e: unknown, at: string, err: (msg: string, at: string) => void): void {
  if (!isObj(e)) return err('must be an object', at);
  if (e.action_id !== undefined && (typeof e.action_id !== 'string' || e.action_id.length > 255))
    err('must be less than 256 characters', `${at}/action_id`);
  if (e.type === 'button') {
    if (textOf(e.text) === undefined) err('must provide text', `${at}/text`);
    else if (textOf(e.text)!.length > 75) err('must be less than 76 characters', `${at}/text/text`);
    if (e.value !== undefined && (typeof e.value !== 'string' || e.value.length > 2000))
      err('must be less than 2001 characters', `${at}/value`);
  }
  return undefined;
}

/**
 * Modal/home views. Slack reports view-level problems as `invalid_arguments` with the same
 * json-pointer messages (pointers under `/view`).
 */
export function validateView(view: unknown): string[] {
  const errs: string[] = [];
  const err = (msg: string, at: string) => errs.push(`[ERROR] ${msg} [json-pointer:${at}]`);
  if (!isObj(view)) return ['[ERROR] must provide an object [json-pointer:/view]'];
  if (view.type !== 'modal' && view.type !== 'home') err('must be modal or home', '/view/type');
  if (view.type === 'modal') {
    const title = textOf(view.title);
    if (title === undefined) err('must provide title', '/view/title');
    else if (title.length > 24) err('must be less than 25 characters', '/view/title/text');
    for (const k of ['submit', 'close'] as const) {
      const t = textOf(view[k]);
      if (t !== undefined && t.length > 24) err('must be less than 25 characters', `/view/${k}/text`);
    }
  }
  if (typeof view.private_metadata === 'string' && view.private_metadata.length > 3000)
    err('must be less than 3001 characters', '/view/private_metadata');
  if (typeof view.callback_id === 'string' && view.callback_id.length > 255)
    err('must be less than 256 characters', '/view/callback_id');
  if (typeof view.external_id === 'string' && view.external_id.length > 255)
    err('must be less than 256 characters', '/view/external_id');
  errs.push(...validateBlocks(view.blocks ?? [], view.type === 'home' ? 'home' : 'modal', '/view/blocks'));
  return errs;
}

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** Slack fills in missing block_ids with short random ids; the app sees them in payloads. */
export function withBlockIds(blocks: unknown[], rand: () => number = Math.random): unknown[] {
  return blocks.map((b) => {
    if (!isObj(b) || typeof b.block_id === 'string') return b;
    let id = '';
    for (let i = 0; i < 5; i++) id += ID_CHARS[Math.floor(rand() * ID_CHARS.length)];
    return { ...b, block_id: id };
  });
}

/** The rich_text block Slack's clients attach to a person's plain message. */
export function richTextFor(text: string, rand: () => number = Math.random): unknown[] {
  return withBlockIds(
    [{ type: 'rich_text', elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text }] }] }],
    rand,
  );
}

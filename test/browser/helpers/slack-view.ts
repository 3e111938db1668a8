import type { Locator, Page } from 'playwright-core';

/** The element id the sandbox view gives a message in the channel (`msg-<ts with a dash>`; `thr-…` in the thread pane). */
export const messageId = (ts: string) => `msg-${ts.replace('.', '-')}`;

/** What a person does in the sandbox Slack view, by what they see (labels, roles, text). */
export function slackView(page: Page, base: string) {
  const composer = (thread?: boolean): Locator => page.locator(`${thread ? '.thread' : 'main'} form.composer textarea`);
  return {
    /** Opens a channel of the primary workspace. */
    async open(channel: string) {
      await page.goto(`${base}/client/T0THREADLN/${channel}`);
    },
    /** "You are: [person]" (the option's label, e.g. `Bob Banker`): the page reloads as that person. */
    async actAs(label: string) {
      await Promise.all([page.waitForNavigation(), page.getByLabel('You are').selectOption({ label })]);
    },
    /** A message as the channel shows it. */
    message(ts: string): Locator {
      return page.locator(`#${messageId(ts)}`);
    },
    composer,
    /** Types into the channel's (or the open thread's) composer and presses Enter, as people do. */
    async send(text: string, thread?: boolean) {
      await composer(thread).fill(text);
      await composer(thread).press('Enter');
    },
  };
}

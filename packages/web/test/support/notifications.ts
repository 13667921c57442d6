/**
 * Browser notifications in tests: the page's Notification is wrapped (before any app script runs) so each one
 * the app shows is also recorded in `window.__notes`; `document.visibilityState` answers what the test sets in
 * `window.__hidden` (a headless page is always "visible"), with the visibilitychange event the app listens to.
 */
import type { BrowserContext, Page } from 'playwright-core';

export async function recordNotifications(context: BrowserContext, origin: string): Promise<void> {
  await context.grantPermissions(['notifications'], { origin });
  await context.addInitScript(() => {
    const w = window as unknown as { __notes: { title: string; body: string; tag: string }[]; __hidden: boolean; Notification: typeof Notification };
    w.__notes = [];
    w.__hidden = false;
    const Real = w.Notification;
    class Recorded extends Real {
      constructor(title: string, options?: NotificationOptions) {
        super(title, options);
        w.__notes.push({ title, body: options?.body ?? '', tag: options?.tag ?? '' });
      }
    }
    w.Notification = Recorded;
    Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => (w.__hidden ? 'hidden' : 'visible') });
    Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => w.__hidden });
  });
}

export async function setHidden(page: Page, hidden: boolean): Promise<void> {
  await page.evaluate((h) => {
    (window as unknown as { __hidden: boolean }).__hidden = h;
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

export const notes = (page: Page) => page.evaluate(() => (window as unknown as { __notes: { title: string; body: string; tag: string }[] }).__notes);

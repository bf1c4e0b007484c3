// What the browser tests share: one headless Chromium (test/helpers/chromium.ts) with one page, the
// errors the page raised, full-page screenshots, and the check that a page does not scroll sideways.

import { mkdirSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";
import { chromiumExecutable } from "./chromium.ts";

// What Chromium needs to start quietly as root with no network but loopback.
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 390, height: 844 } as const;

export interface BrowserPage {
  browser: Browser;
  page: Page;
  /** Errors the page raised: console errors, failed subresources, uncaught exceptions. */
  problems: string[];
  /** A full-page screenshot named `name`.png in the artifacts directory. */
  shot(name: string): Promise<unknown>;
  close(): Promise<void>;
}

/** Chromium with one page at desktop width; screenshots go to `artifacts` (a directory path). */
export async function openBrowser(artifacts: string): Promise<BrowserPage> {
  mkdirSync(artifacts, { recursive: true });
  const executablePath = await chromiumExecutable();
  // Playwright gives every launch a fresh, empty profile of its own.
  const browser = await chromium.launch({ executablePath, headless: true, args: FLAGS });
  const page = await browser.newPage({ viewport: DESKTOP });
  const problems: string[] = [];
  // A refused sign-in is a 401 page, which Chromium reports as a failed load: documents may
  // answer 4xx, what they load (the style sheet, the icon) may not.
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(m.text());
  });
  page.on("response", (r) => {
    if (r.request().resourceType() !== "document" && r.status() >= 400)
      problems.push(`${r.status()} ${r.url()}`);
  });
  page.on("pageerror", (e) => problems.push(e.message));
  return {
    browser,
    page,
    problems,
    shot: (name) => page.screenshot({ path: `${artifacts}${name}.png`, fullPage: true }),
    close: () => browser.close(),
  };
}

/** How far the page scrolls sideways, and (to say why) the outermost elements reaching past the
 * window (those inside a table, which scrolls by itself, reach past it without widening the page).
 * `{ by: 0, past: [] }` when it fits. */
export async function sidewaysOverflow(page: Page): Promise<{ by: number; past: string[] }> {
  return (await page.evaluate(`(() => {
    const width = document.documentElement.clientWidth;
    const past = [...document.querySelectorAll("body *")].filter(
      (e) => e.getBoundingClientRect().right > width + 0.5 && !(e.parentElement && e.parentElement.getBoundingClientRect().right > width + 0.5),
    );
    const by = document.documentElement.scrollWidth - width;
    return { by, past: by > 0 ? past.slice(0, 5).map((e) => e.tagName + "." + e.className + ":" + Math.round(e.getBoundingClientRect().width) + ":" + getComputedStyle(e).display + ":" + (e.parentElement && getComputedStyle(e.parentElement).display)) : [] };
  })()`)) as { by: number; past: string[] };
}

/** Form controls a screen reader would announce without a name: no label, no aria-label(ledby), no
 * title, for a button no text. Each as tag#id[name]. */
export async function unnamedControls(page: Page): Promise<string[]> {
  return (await page.evaluate(`(() => [...document.querySelectorAll("input:not([type=hidden]), select, textarea, button")]
    .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !e.getAttribute("aria-labelledby") && !e.getAttribute("title") && !(e.tagName === "BUTTON" && e.textContent.trim()))
    .map((e) => e.tagName.toLowerCase() + "#" + e.id + "[" + (e.getAttribute("name") || "") + "]"))()`)) as string[];
}

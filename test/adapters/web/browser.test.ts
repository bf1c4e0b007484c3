// The web inbox in a real browser (one Chromium, one service for every case; test/helpers/browser.ts):
// at desktop and phone widths an agent signs in, opens the inbox and a thread, sees a customer's
// message arrive without reloading (the page's event stream), answers and sees the delivery mark,
// closes the conversation, and hides a comment; every inbox page fits a phone's width; and a form
// still works with JavaScript off. Screenshots go to test-artifacts/inbox/.

import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAccount } from "../../../src/instagram/accounts.ts";
import { TokenCipher } from "../../../src/instagram/token-cipher.ts";
import {
  type BrowserPage,
  DESKTOP,
  openBrowser,
  PHONE,
  sidewaysOverflow,
  unnamedControls,
} from "../../helpers/browser.ts";
import { type ConsoleHarness, PASSWORD, startConsoleHarness } from "../../helpers/console.ts";
import { TEST_KEY, waitFor } from "../../helpers/service.ts";
import { commentWebhook, dmText, postWebhook } from "../../helpers/webhook.ts";

const ARTIFACTS = fileURLToPath(new URL("../../../test-artifacts/inbox/", import.meta.url));
const ACCOUNT = "17841400000000088";
const CHANNEL = "support";

let h: ConsoleHarness;
let b: BrowserPage;
let page: Page;
/** The threads each width's run opened, for the overflow check. */
const threads: string[] = [];

beforeAll(async () => {
  h = await startConsoleHarness({ WEB_INBOX: "on", OUTBOUND_ECHO_GRACE_SECONDS: "2" });
  await addAccount(h.service.db, TokenCipher.fromConfig(TEST_KEY), {
    igUserId: ACCOUNT,
    username: "inboxbrand",
    token: "IGAA-inbox-browser",
    chat: { platform: "web", channel: CHANNEL },
  });
  b = await openBrowser(ARTIFACTS);
  page = b.page;
});

afterAll(async () => {
  await b?.close();
  await h?.close();
});

/** The thread id of the conversation with `customer`, once the mirror has made it. */
const threadOf = (customer: string) =>
  waitFor(async () => {
    const { rows } = await h.service.db.query<{ chat_thread: string | null }>(
      "SELECT chat_thread FROM conversations WHERE account_id = $1 AND customer_id = $2",
      [ACCOUNT, customer],
    );
    return rows[0]?.chat_thread ?? undefined;
  });

const post = (id: string) => page.locator(`#post-${id}`);
const hides = () => h.graph.requests.filter((r) => r.method === "POST" && r.query.hide !== undefined);

describe("the web inbox in Chromium", () => {
  it("signs in and finds the inbox in the navigation", async () => {
    await page.goto(`${h.url}/inbox`);
    expect(new URL(page.url()).pathname).toBe("/login");
    await page.getByLabel("Administrator password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { level: 1 }).waitFor();
    await page.getByRole("link", { name: "Inbox", exact: true }).click();
    // One inbox: straight to it, the navigation saying where we are.
    await page.getByRole("heading", { name: `Inbox ${CHANNEL}` }).waitFor();
    expect(await page.getByRole("link", { name: "Inbox", exact: true }).getAttribute("aria-current")).toBe(
      "page",
    );
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement?.textContent")).toBe("Skip to content");
    expect(await page.getByLabel("/ig").count()).toBe(1);
  });

  for (const [n, size] of [DESKTOP, PHONE].entries()) {
    const customer = `990500000000000${n}`;
    const commenter = `990600000000000${n}`;
    const at = `${size.width} px`;

    it(`at ${at}: a new thread and a new message appear live, a reply is delivered, Close closes`, async () => {
      await page.setViewportSize(size);
      await page.goto(`${h.url}/inbox/${CHANNEL}`);
      await page.getByRole("heading", { name: "Threads" }).waitFor();
      // The list learns of the customer's first message without a reload.
      await postWebhook(
        h.url,
        dmText(ACCOUNT, customer, `m_browser_${n}_1`, "do you ship to Porto?", Date.now()),
      );
      const thread = await threadOf(customer);
      threads.push(thread);
      await page.evaluate("window.stillHere = true");
      await page.locator(`#thread-${thread}`).waitFor();
      expect(await page.evaluate("window.stillHere")).toBe(true);
      await page.locator(`#thread-${thread} a`).click();
      await page.getByLabel("Reply").waitFor();
      expect(await page.textContent("[data-posts]")).toContain("do you ship to Porto?");
      await b.shot(`${size.width}-01-thread`);

      // The page is kept live: a marker on the window shows it was not reloaded.
      await page.evaluate("window.stillHere = true");
      await postWebhook(h.url, dmText(ACCOUNT, customer, `m_browser_${n}_2`, "and to Faro?", Date.now()));
      await page.locator("[data-posts] .post").filter({ hasText: "and to Faro?" }).waitFor();
      expect(await page.evaluate("window.stillHere")).toBe(true);

      // A reply: posted, then marked delivered once the fake Graph has taken it.
      const reply = `Yes, Porto and Faro both (${size.width}).`;
      await page.getByLabel("Reply").fill(reply);
      await page.getByRole("button", { name: "Send" }).click();
      const mine = page.locator("[data-posts] .post").filter({ hasText: reply });
      await mine.locator(".mark-sent").waitFor();
      expect(await mine.locator(".mark").textContent()).toContain("delivered");
      expect(await page.getByLabel("Reply").inputValue()).toBe("");
      // Focus stays where the agent was typing, ready for the next message.
      expect(await page.evaluate("document.activeElement?.id")).toBe("composer-text");
      const sends = h.graph.requests.filter(
        (r) => r.method === "POST" && JSON.stringify(r.body ?? "").includes(reply),
      );
      expect(sends).toHaveLength(1);
      await b.shot(`${size.width}-02-replied`);

      // Close: the root says so and offers Reopen, focus on it.
      const root = post(thread);
      await root.getByRole("button", { name: "Close" }).click();
      await root.getByRole("button", { name: "Reopen" }).waitFor();
      expect(await root.locator(".text").textContent()).toContain("Status: closed");
      expect(await page.evaluate("document.activeElement?.textContent")).toBe("Reopen");
      expect(await page.evaluate("window.stillHere")).toBe(true);
      await b.shot(`${size.width}-03-closed`);
    });

    it(`at ${at}: a comment thread's Hide hides the comment on Instagram once`, async () => {
      await page.goto(`${h.url}/inbox/${CHANNEL}`);
      await page.getByRole("heading", { name: "Threads" }).waitFor();
      const comment = `1800000000000${n}001`;
      await postWebhook(
        h.url,
        commentWebhook(ACCOUNT, {
          id: comment,
          text: "how much is the red one?",
          from: { id: commenter, username: `redfan${n}` },
          mediaId: `1790000000000${n}001`,
        }),
      );
      // Instagram gave no name: the handle once, not "@redfan · @redfan".
      const item = page.locator(".thread-item").filter({ hasText: `Comment by @redfan${n}` });
      await item.waitFor();
      await item.getByRole("link").click();
      await page.getByRole("heading", { name: `Comment by @redfan${n}`, exact: true }).waitFor();
      const thread = new URL(page.url()).pathname.split("/").pop() as string;
      threads.push(thread);
      const root = post(thread);
      // Half a public reply typed when the root changes (the Hide below): it is still there after.
      await root.getByLabel("Reply publicly").fill("Thanks, it is");
      const before = hides().length;
      await root.getByRole("button", { name: "Hide", exact: true }).click();
      await root.getByRole("button", { name: "Unhide" }).waitFor();
      expect(await root.locator(".text").textContent()).toContain("Hidden on Instagram");
      expect(await root.getByLabel("Reply publicly").inputValue()).toBe("Thanks, it is");
      const calls = hides().slice(before);
      expect(calls.map((r) => [r.path.replace(/^\/v[\d.]+/, ""), r.query.hide])).toEqual([
        [`/${comment}`, "true"],
      ]);
      await b.shot(`${size.width}-04-hidden`);
    });
  }

  it("shows every inbox page at desktop and phone widths without the page scrolling sideways", async () => {
    // A second inbox, so /inbox lists them.
    await addAccount(h.service.db, TokenCipher.fromConfig(TEST_KEY), {
      igUserId: "17841400000000089",
      username: "otherbrand",
      token: "IGAA-inbox-browser-2",
      chat: { platform: "web", channel: "sales-and-a-rather-long-inbox-name-for-a-phone" },
    });
    const pages = ["/inbox", `/inbox/${CHANNEL}`, ...threads.map((t) => `/inbox/${CHANNEL}/t/${t}`)];
    for (const size of [DESKTOP, PHONE]) {
      await page.setViewportSize(size);
      for (const path of pages) {
        const answer = await page.goto(`${h.url}${path}`);
        expect(answer?.status(), path).toBe(200);
        await page.getByRole("heading", { level: 1 }).waitFor();
        expect(await sidewaysOverflow(page), `${path} at ${size.width} px`).toEqual({ by: 0, past: [] });
        expect(await unnamedControls(page), path).toEqual([]);
        await b.shot(`20-${size.width}-${path.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "")}`);
      }
    }
    await page.setViewportSize(DESKTOP);
  });

  it("works without JavaScript: a reply is a form post answered with the thread", async () => {
    const context = await b.browser.newContext({ javaScriptEnabled: false, viewport: PHONE });
    try {
      const plain = await context.newPage();
      await plain.goto(`${h.url}/login`);
      await plain.getByLabel("Administrator password").fill(PASSWORD);
      await plain.getByRole("button", { name: "Sign in" }).click();
      await plain.getByRole("heading", { level: 1 }).waitFor();
      const thread = threads[0] as string;
      await plain.goto(`${h.url}/inbox/${CHANNEL}/t/${thread}`);
      await plain.getByLabel("Reply").fill("Sent without a script.");
      await plain.getByRole("button", { name: "Send" }).click();
      await plain.getByRole("heading", { level: 1 }).waitFor();
      expect(new URL(plain.url()).pathname).toBe(`/inbox/${CHANNEL}/t/${thread}`);
      expect(await plain.textContent("[data-posts]")).toContain("Sent without a script.");
      expect(await sidewaysOverflow(plain)).toEqual({ by: 0, past: [] });
    } finally {
      await context.close();
    }
  });

  it("raised no error in the page (scripts, styles, content security policy)", () => {
    expect(b.problems).toEqual([]);
  });
});

// The console in a real browser: Chromium (CHROMIUM_PATH, the system's, or the one in the
// @sparticuz/chromium dev dependency), headless, driven by playwright-core. An operator signs in,
// connects an account through the fake Instagram's consent, sees it listed, disconnects it and
// opens a deletion status page. Screenshots go to test-artifacts/console/.

import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SECTION_PATHS } from "../../../src/http/console/layout.ts";
import { parseRuleFile } from "../../../src/rules/load.ts";
import { importRules } from "../../../src/rules/store.ts";
import {
  type BrowserPage,
  DESKTOP,
  openBrowser,
  PHONE,
  sidewaysOverflow,
  unnamedControls,
} from "../../helpers/browser.ts";
import { type ConsoleHarness, PASSWORD, startConsoleHarness } from "../../helpers/console.ts";
import { SEED_ACCOUNT, seedConsole } from "../../helpers/console-seed.ts";

const ARTIFACTS = fileURLToPath(new URL("../../../test-artifacts/console/", import.meta.url));

const BROWSER_RULES = `version: 1
rules:
  - id: browser-faq
    name: A rule with a name long enough to wrap on a phone, as real rule names often are
    account: "${SEED_ACCOUNT}"
    trigger:
      type: dm_text
      keywords: [available]
    actions:
      - type: dm_reply
        text: "Yes!"
`;

/** A DM webhook from a new customer, sent now. */
function dmWebhook(account: string, text: string): string {
  const now = Date.now();
  return JSON.stringify({
    object: "instagram",
    entry: [
      {
        id: account,
        time: now,
        messaging: [
          {
            sender: { id: "9903000000000001" },
            recipient: { id: account },
            timestamp: now,
            message: { mid: "mid.browser.dry-run", text },
          },
        ],
      },
    ],
  });
}

let h: ConsoleHarness;
let b: BrowserPage;
let page: Page;

const shot = (name: string) => b.shot(name);

beforeAll(async () => {
  h = await startConsoleHarness();
  b = await openBrowser(ARTIFACTS);
  page = b.page;
});

afterAll(async () => {
  await b?.close();
  await h?.close();
});

describe("the console in Chromium", () => {
  it("signs in", async () => {
    await page.goto(`${h.url}/`);
    expect(new URL(page.url()).pathname).toBe("/login");
    // The first Tab reaches the skip link.
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement?.textContent")).toBe("Skip to content");
    await page.getByLabel("Administrator password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toBe("Wrong password.");
    await shot("01-sign-in-refused");
    await page.getByLabel("Administrator password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Instagram accounts" }).waitFor();
    await shot("02-accounts-empty");
  });

  it("connects an account through Instagram's consent and sees it listed", async () => {
    await page.getByRole("link", { name: "Connect an Instagram account" }).click();
    await page.getByRole("heading", { name: "Where should @newbrand go?" }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/oauth/instagram/connect");
    expect(await page.getByRole("radio", { name: "Slack" }).isChecked()).toBe(true);
    await shot("03-choose-channel");
    await page.getByLabel("Channel id").fill("C0BROWSER1");
    await page.getByRole("button", { name: "Connect @newbrand" }).click();
    await page.getByRole("status").filter({ hasText: "Connected @newbrand to Slack C0BROWSER1." }).waitFor();
    const row = page.getByRole("row", { name: /@newbrand/ });
    expect(await row.getByRole("cell").nth(0).textContent()).toBe("active");
    expect(await row.getByRole("cell").nth(1).textContent()).toContain("C0BROWSER1");
    expect(await row.getByRole("cell").nth(2).textContent()).toMatch(/in 5[89] days/);
    await shot("04-account-connected");
    const { rows } = await h.service.db.query<{ status: string }>(
      "SELECT status FROM instagram_accounts WHERE id = '17841400000000777'",
    );
    expect(rows).toEqual([{ status: "active" }]);
  });

  it("disconnects it", async () => {
    await page.getByRole("link", { name: "Disconnect @newbrand" }).click();
    await page.getByRole("heading", { name: "Disconnect @newbrand?" }).waitFor();
    await shot("05-disconnect-confirm");
    await page.getByRole("button", { name: "Disconnect @newbrand" }).click();
    await page.getByRole("status").filter({ hasText: "Disconnected @newbrand." }).waitFor();
    const row = page.getByRole("row", { name: /@newbrand/ });
    expect(await row.getByRole("cell").nth(0).textContent()).toBe("removed");
    expect(await row.getByRole("link", { name: "Reconnect @newbrand" }).count()).toBe(1);
    expect(h.login.subscriptions.has("17841400000000777")).toBe(false);
    await shot("06-account-disconnected");
  });

  it("opens a deletion status page", async () => {
    await h.service.db.query(
      `INSERT INTO data_requests (code, kind, status, requested_at) VALUES ('BROWSER23456', 'deletion', 'pending', now())`,
    );
    await page.getByRole("link", { name: "Deletion requests" }).click();
    await page.getByRole("heading", { name: "Data deletion requests" }).waitFor();
    await shot("07-deletion-requests");
    await page.getByRole("link", { name: "BROWSER23456" }).click();
    await page.getByRole("heading", { name: "Data deletion request" }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/privacy/deletion/BROWSER23456");
    expect(await page.textContent("body")).toContain("The deletion is in progress.");
    await shot("08-deletion-status");
  });

  it("shows every page at desktop and phone widths without the page scrolling sideways", async () => {
    const { conversation, commentThread } = await seedConsole(h.service.db, { extra: 3 });
    const parsed = parseRuleFile(BROWSER_RULES, "browser.yaml");
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    await importRules(
      h.service.db,
      parsed.file,
      "/etc/threadbridge/a-rather-long-directory-name/browser-rules.yaml",
    );
    const pages = [
      ...SECTION_PATHS,
      `/conversations/${conversation}`,
      `/comment-threads/${commentThread}`,
      `/accounts/${SEED_ACCOUNT}/route`,
      `/digest?account=${SEED_ACCOUNT}`,
      "/privacy/deletion/BROWSER23456",
    ];
    for (const { width, height } of [DESKTOP, PHONE]) {
      await page.setViewportSize({ width, height });
      for (const path of pages) {
        const answer = await page.goto(`${h.url}${path}`);
        expect(answer?.status(), path).toBe(200);
        await page.getByRole("heading", { level: 1 }).waitFor();
        const overflow = await sidewaysOverflow(page);
        expect(overflow, `${path} at ${width} px`).toEqual({ by: 0, past: [] });
        expect(await unnamedControls(page), path).toEqual([]);
        await shot(`20-${width}-${path.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "") || "accounts"}`);
      }
    }
    await page.setViewportSize(DESKTOP);
  });

  it("filters conversations, opens one and dry-runs the rules", async () => {
    await page.goto(`${h.url}/conversations`);
    await page.getByLabel("State").selectOption("waiting");
    await page.getByLabel("Username or message text").fill("lisbon");
    await page.getByRole("button", { name: "Show" }).click();
    await page.getByRole("link", { name: "@shopper" }).click();
    await page.getByRole("heading", { name: "@shopper on @seedbrand" }).waitFor();
    expect(await page.getByRole("img", { name: "Image sent in the conversation" }).count()).toBe(1);
    await page.goto(`${h.url}/conversations`);
    await page.getByLabel("Kind").selectOption("comment");
    await page.getByLabel("Username or message text").fill("saffr");
    await page.getByRole("button", { name: "Show" }).click();
    expect(await page.getByRole("row").count()).toBe(2);
    await page.getByRole("link", { name: "@commenter" }).click();
    await page.getByRole("heading", { name: "Comments of @commenter on @seedbrand" }).waitFor();
    expect(await page.getByRole("listitem").filter({ hasText: "And in Saffron?" }).count()).toBe(1);
    await shot("22-comment-thread");
    await page.goto(`${h.url}/rules`);
    await page
      .getByLabel("A webhook body, as Instagram sends it (JSON)")
      .fill(dmWebhook(SEED_ACCOUNT, "is it still available?"));
    await page.getByRole("button", { name: "Test the rules" }).click();
    await page.getByRole("heading", { name: "Result for the pasted webhook" }).waitFor();
    expect(await page.getByRole("listitem").filter({ hasText: "browser-faq: would fire" }).count()).toBe(1);
    await shot("21-rules-dry-run");
  });

  it("raised no error in the page (scripts, styles, content security policy)", () => {
    expect(b.problems).toEqual([]);
  });
});

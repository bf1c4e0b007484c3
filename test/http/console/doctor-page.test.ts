// The console's Doctor page (issue 19): `threadbridge doctor`'s checks run inside the service at
// each visit, for the operators signed in; read-only, so it holds no form.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAccount } from "../../../src/instagram/accounts.ts";
import { TokenCipher } from "../../../src/instagram/token-cipher.ts";
import { type ConsoleHarness, startConsoleHarness } from "../../helpers/console.ts";
import { TEST_KEY } from "../../helpers/service.ts";

let h: ConsoleHarness;

beforeAll(async () => {
  h = await startConsoleHarness({ LOG_LEVEL: "silent" });
  h.slack.setChannel("C0NOTIN", { name: "general", member: false });
  await addAccount(h.service.db, TokenCipher.fromConfig(TEST_KEY), {
    igUserId: "17841400000000601",
    username: "brand",
    token: "IGAA-doctor-page",
    chat: { platform: "slack", channel: "C0NOTIN" },
  });
});
afterAll(async () => {
  await h?.close();
});

describe("the Doctor page", () => {
  it("is for signed-in operators only", async () => {
    const anonymous = await h.client().get("/doctor");
    expect(anonymous.status).toBe(303);
    expect(anonymous.location).toMatch(/\/login/);
  });

  it("shows each check with its result and, where one fails, the fix", async () => {
    const browser = h.client();
    await browser.signIn();
    const page = await browser.get("/doctor");
    expect(page.status).toBe(200);
    expect(page.body).toContain('<a href="/doctor" aria-current="page">Doctor</a>');
    expect(page.body).toMatch(/<p role="status">\d+ of \d+ checks failing\./);
    const row = (check: string) =>
      new RegExp(
        `<td><span class="badge (ok|warn|bad)"><span aria-hidden="true">[^<]*</span> \\w+</span></td>\n<th scope="row">${check}</th>\n<td>([^\n]*)</td>`,
      ).exec(page.body);
    expect(row("database")?.[1]).toBe("ok");
    expect(row("webhook URL")?.[1]).toBe("ok");
    expect(row("slack: token")?.[1]).toBe("ok");
    const channel = row("slack: channel C0NOTIN \\(@brand\\)");
    expect(channel?.[1]).toBe("bad");
    expect(channel?.[2]).toBe(
      "not_in_channel: the bot is not in #general<br><strong>Fix:</strong> Invite the bot to the channel: type /invite @threadbridge in &lt;#C0NOTIN&gt;.",
    );
    // Read-only: nothing to submit.
    expect(page.body).not.toContain('<form method="post" action="/doctor');
  });

  it("shows a held destination with its reason and fix", async () => {
    await h.service.db.query(
      "INSERT INTO chat_destination_holds (platform, channel, reason, fix) VALUES ('slack', 'C0NOTIN', 'not_in_channel', 'Invite the bot to the channel.')",
    );
    try {
      const browser = h.client();
      await browser.signIn();
      const page = await browser.get("/doctor");
      expect(page.body).toMatch(
        /<td><span class="badge bad">[^\n]*<\/td>\n<th scope="row">slack: held C0NOTIN<\/th>\n<td>mirror work held since [^<]* \(not_in_channel\)<br><strong>Fix:<\/strong> Invite the bot to the channel\. The held work resumes by itself once the recheck passes\.<\/td>/,
      );
    } finally {
      await h.service.db.query("DELETE FROM chat_destination_holds");
    }
  });
});

// The console's Conversations, one conversation and the audit log (issue 20): filters, search and
// pages over what is stored; both directions of one conversation with its attachments, delivery
// states, window, rule firings and audit entries; the audit log with the CLI's filters. Everything
// shown is escaped.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleClient, type ConsoleHarness, startConsoleHarness } from "../../helpers/console.ts";
import { SEED_ACCOUNT, type Seeded, seedConsole } from "../../helpers/console-seed.ts";

let h: ConsoleHarness;
let seeded: Seeded;
let c: ConsoleClient;

beforeAll(async () => {
  h = await startConsoleHarness({ LOG_LEVEL: "silent" });
  seeded = await seedConsole(h.service.db, { extra: 52 });
  c = h.client();
  await c.signIn();
});
afterAll(async () => {
  await h?.close();
});

/** The customers listed on a conversations page, in order. */
const listed = (body: string) =>
  [...body.matchAll(/<th scope="row"><a href="\/conversations\/\d+">([^<]+)<\/a>/g)].map((m) => m[1]);

describe("the Conversations page", () => {
  it("is for signed-in operators only", async () => {
    expect(await h.client().get("/conversations")).toMatchObject({ status: 303, location: "/login" });
    expect(await h.client().get(`/conversations/${seeded.conversation}`)).toMatchObject({ status: 303 });
    expect(await h.client().get("/audit")).toMatchObject({ status: 303 });
  });

  it("lists every account's conversations, the latest activity first, a page at a time", async () => {
    const first = await c.get("/conversations");
    expect(first.status).toBe(200);
    expect(first.body).toContain('<a href="/conversations" aria-current="page">Conversations</a>');
    const names = listed(first.body);
    expect(names.slice(0, 3)).toEqual(["@shopper", "@answered", "@finished"]);
    expect(names).toHaveLength(50);
    const next = /<a href="\/conversations\?after=([^"]+)" rel="next">/.exec(first.body)?.[1];
    expect(next).toBeDefined();
    const second = await c.get(`/conversations?after=${next}`);
    expect(listed(second.body)).toEqual(["@bulk47", "@bulk48", "@bulk49", "@bulk50", "@bulk51"]);
    expect(second.body).not.toContain('rel="next"');
    expect(second.body).toContain('<a href="/conversations">Newest</a>');
  });

  it("filters by state, assignee and account", async () => {
    expect(listed((await c.get("/conversations?state=waiting")).body)).toEqual([
      "@shopper",
      ...Array.from({ length: 49 }, (_, i) => `@bulk${i}`),
    ]);
    expect(listed((await c.get("/conversations?state=closed")).body)).toEqual(["@finished"]);
    expect(listed((await c.get("/conversations?assignee=Alex")).body)).toEqual(["@shopper"]);
    expect(listed((await c.get("/conversations?assignee=-&state=open")).body).slice(0, 2)).toEqual([
      "@answered",
      "@bulk0",
    ]);
    expect(listed((await c.get("/conversations?account=17841400000000000")).body)).toEqual([]);
    const page = await c.get(`/conversations?account=${SEED_ACCOUNT}&state=closed`);
    expect(page.body).toContain(`<option value="${SEED_ACCOUNT}" selected>@seedbrand</option>`);
    expect(page.body).toContain('<option value="closed" selected>Closed</option>');
    expect(page.body).toContain('<option value="Blake">Blake</option>');
  });

  it("searches usernames and message text, taking what is typed literally", async () => {
    expect(listed((await c.get("/conversations?q=%40answ")).body)).toEqual(["@answered"]);
    expect(listed((await c.get("/conversations?q=blue%3E+mug")).body)).toEqual(["@shopper"]);
    expect(listed((await c.get("/conversations?q=%25")).body)).toEqual([]);
    const page = await c.get("/conversations?q=%3Cscript%3E");
    expect(page.body).toContain('value="&lt;script&gt;"');
    expect(page.body).toContain("No conversation matches.");
  });

  it("lists comment threads with the conversations, filtered and searched the same way", async () => {
    const thread = `<a href="/comment-threads/${seeded.commentThread}">@commenter</a>`;
    // Older than every conversation: the last row of the second page.
    const after = /<a href="\/conversations\?after=([^"]+)" rel="next">/.exec(
      (await c.get("/conversations")).body,
    )?.[1];
    expect((await c.get(`/conversations?after=${after}`)).body).toContain(thread);
    const comments = await c.get("/conversations?kind=comment");
    expect(comments.body).toContain(thread);
    expect(listed(comments.body)).toEqual([]);
    expect(comments.body).toContain('<option value="comment" selected>Comment threads</option>');
    expect(listed((await c.get("/conversations?kind=dm&q=lisbon")).body)).toEqual(["@shopper"]);
    // Another person's reply came after ours: waiting on us; assigned to Blake; on the seeded account.
    for (const query of [
      "state=waiting&kind=comment",
      "assignee=Blake&kind=comment",
      `account=${SEED_ACCOUNT}&kind=comment`,
    ])
      expect((await c.get(`/conversations?${query}`)).body, query).toContain(thread);
    expect((await c.get("/conversations?state=closed&kind=comment")).body).not.toContain(thread);
    // By a word of any comment, the start of one, or a commenter's username.
    for (const q of ["teapot", "saff", "GREEN", "%40comment", "in+saffron"])
      expect((await c.get(`/conversations?q=${q}`)).body, q).toContain(thread);
    expect((await c.get("/conversations?q=teapots")).body).not.toContain(thread);
  });
});

describe("one comment thread", () => {
  it("shows the post, the comments both ways with delivery states, moderation, the chat thread and audit entries", async () => {
    const page = await c.get(`/comment-threads/${seeded.commentThread}`);
    expect(page.status).toBe(200);
    const body = page.body;
    expect(body).toContain("<h1>Comments of @commenter on @seedbrand</h1>");
    expect(body).toContain(
      '<a href="https://www.instagram.com/p/SEEDPOST1/" rel="noreferrer noopener">Our new &lt;teapot&gt; collection</a>',
    );
    expect(body).toContain('<dt>Moderation</dt><dd><span class="badge warn">hidden</span>');
    expect(body).toContain("<dt>Assignee</dt><dd>Blake</dd>");
    expect(body).toMatch(
      /<dt>Chat thread<\/dt><dd>Slack <code>C0SEEDED1<\/code> thread <code>1700000601.000100<\/code>/,
    );
    expect(body).toMatch(/<p class="meta">@commenter · <time/);
    expect(body).toMatch(
      /<p class="meta">Agent Blake \(public reply\) · <time[^>]*>[^<]*<\/time> · <span class="badge ok">sent<\/span>/,
    );
    expect(body).toMatch(/<p class="meta">@lurker · <time/);
    // Oldest first.
    expect(body.indexOf("Does the teapot")).toBeLessThan(body.indexOf("It does, from March."));
    expect(body.indexOf("It does, from March.")).toBeLessThan(body.indexOf("And in Saffron?"));
    expect(body).toContain('<th scope="row">comment_hide</th>');
    expect(body).not.toContain("conversation_assigned");
  });

  it("answers 404 for a comment thread that is not stored", async () => {
    for (const id of ["999999", "abc"]) {
      const page = await c.get(`/comment-threads/${id}`);
      expect(page.status).toBe(404);
      expect(page.body).toContain("No such comment thread");
    }
  });
});

describe("one conversation", () => {
  it("shows both directions, attachments, delivery states with reasons, the window, rule firings and audit entries", async () => {
    const page = await c.get(`/conversations/${seeded.conversation}`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("img-src 'self' https:");
    expect(page.headers.get("content-security-policy")).not.toContain("script-src");
    const body = page.body;
    expect(body).toContain("<h1>@shopper on @seedbrand</h1>");
    expect(body).toContain("Sam &lt;Shopper&gt; @shopper");
    expect(body).toContain("<p>Do you ship the &lt;blue&gt; mug to Lisbon?</p>");
    expect(body).toMatch(
      /<li class="outbound" id="m\d+">\n<p class="meta">Agent · <time[^>]*>[^<]*<\/time> · <span class="badge bad">failed<\/span><br><span>Reason: the messaging window has closed<\/span><\/p>/,
    );
    expect(body).toContain(
      '<a href="https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1" rel="noreferrer noopener"><img class="thumb" src="https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1"',
    );
    expect(body).toContain('referrerpolicy="no-referrer"');
    expect(body).toContain(
      '<a href="https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=2" rel="noreferrer noopener">video</a>',
    );
    // The customer wrote 30 minutes ago: the standard window is open.
    expect(body).toMatch(
      /<dt>Window<\/dt><dd><span class="badge ok">open<\/span> anyone may reply until <time/,
    );
    expect(body).toContain("<dt>Assignee</dt><dd>Alex</dd>");
    // Slack gives no link without asking its API: the thread is named by its ids.
    expect(body).toMatch(
      /<dt>Chat thread<\/dt><dd>Slack <code>C0SEEDED1<\/code> thread <code>[\d.]+<\/code><\/dd>/,
    );
    expect(body).toContain(
      '<th scope="row"><a href="/rules#rule-shipping-faq">shipping-faq</a></th><td>77</td>',
    );
    expect(body).toContain('<th scope="row">conversation_assigned</th>');
    expect(body).not.toContain("auto_reply_sent");
    // Oldest first.
    expect(body.indexOf("Do you ship")).toBeLessThan(body.indexOf("We do, in 3 days."));
  });

  it("answers 404 for a conversation that is not stored", async () => {
    for (const id of ["999999", "abc"]) {
      const page = await c.get(`/conversations/${id}`);
      expect(page.status).toBe(404);
      expect(page.body).toContain("No such conversation");
    }
  });
});

describe("the audit log", () => {
  it("shows the entries newest first with the CLI's filters", async () => {
    const all = await c.get("/audit");
    expect(all.status).toBe(200);
    expect(all.body.indexOf("auto_reply_sent")).toBeLessThan(all.body.indexOf("conversation_assigned"));
    const byActor = await c.get("/audit?actor=slack%3A*&since=1h");
    expect(byActor.body).toContain("conversation_assigned");
    expect(byActor.body).not.toContain("auto_reply_sent");
    expect(byActor.body).toContain('value="slack:*"');
    const byAction = await c.get(`/audit?action=auto_*&account=${SEED_ACCOUNT}&limit=50`);
    expect(byAction.body).toContain("auto_reply_sent");
    expect(byAction.body).not.toContain("conversation_assigned");
    expect(byAction.body).toContain('<option value="50" selected>50</option>');
    expect((await c.get("/audit?account=17841400000000000")).body).toContain("No audit entry matches.");
    const bad = await c.get("/audit?since=yesterday");
    expect(bad.status).toBe(400);
    expect(bad.body).toContain("“yesterday” is not 30m, 24h, 7d, 2w or a date such as 2026-11-01.");
  });

  it("links a conversation's customer entries", async () => {
    const page = await c.get(`/conversations/${seeded.conversation}`);
    expect(page.body).toContain(`<a href="/audit?account=${SEED_ACCOUNT}">The account's whole audit log</a>`);
  });
});

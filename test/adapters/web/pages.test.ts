// How the inbox's pages render a message: stored text is only ever text, and only web addresses
// become links or pictures, whatever a customer's message carried.

import { describe, expect, it } from "vitest";
import { postHtml, threadItemHtml } from "../../../adapters/web/pages.ts";
import type { WebPost } from "../../../adapters/web/view.ts";

const session = { sid: "s", csrf: "token-1", user: "ana", exp: Date.now() + 60_000 };

const post = (view: Partial<WebPost["view"]>): WebPost => ({
  id: "7",
  channel: "support",
  thread: "5",
  author: { kind: "bridge" },
  view: { kind: "post", text: "", buttons: [], ...view },
  reactions: { "👍": ["ana", "bob"] },
  mark: "failed",
  edited: false,
  at: new Date("2026-12-01T10:00:00Z"),
});

describe("a message on the inbox's page", () => {
  it("escapes text and shows a non-web link as text, never as a link or a picture", () => {
    const out = postHtml(
      session,
      post({
        text: '<b>hi</b> "there"',
        links: [
          { label: "shop", url: "https://shop.example/x" },
          { label: "trap", url: "javascript:alert(1)" },
        ],
        images: [
          { url: "data:image/png;base64,AAAA", alt: "x" },
          { url: "https://cdn.example/p.jpg", alt: "photo" },
        ],
      }),
    ).value;
    expect(out).toContain("&lt;b&gt;hi&lt;/b&gt; &quot;there&quot;");
    expect(out).toContain('href="https://shop.example/x"');
    expect(out).not.toContain('href="javascript:');
    expect(out).toContain("trap: javascript:alert(1)");
    expect(out).not.toContain('src="data:');
    expect(out).toContain('src="https://cdn.example/p.jpg"');
  });

  it("shows the delivery mark, who reacted, and forms carrying the session's CSRF token", () => {
    const out = postHtml(
      session,
      post({ text: "ok", buttons: [{ id: "ig_retry", label: "Retry", value: "12" }] }),
    ).value;
    expect(out).toContain("mark-failed");
    expect(out).toContain("not delivered");
    expect(out).toContain('title="ana, bob"');
    expect(out).toContain('aria-pressed="true"');
    expect(out).toContain('action="/inbox/support/t/5/posts/7/press"');
    expect(out).toContain('value="ig_retry"');
    expect(out.match(/name="_csrf" value="token-1"/g)?.length).toBe(2);
  });

  it("lists a thread with its state, and when it started apart from the window's end", () => {
    const root: WebPost = {
      ...post({
        kind: "root",
        text: "x",
        summary: {
          title: "DM with @jo",
          status: "open",
          assignee: "ana",
          window: "Reply window open until 2026-12-02 10:00 UTC",
        },
      }),
      id: "5",
      thread: "5",
    };
    const out = threadItemHtml(root).value.replace(/<[^>]+>/g, "");
    expect(out).toContain("DM with @jo");
    expect(out).toMatch(
      /open · assigned to ana · Reply window open until 2026-12-02 10:00 UTC · started 2026-12-01 10:00/,
    );
  });
});

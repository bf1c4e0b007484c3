// `/ig find` on every platform (issue 21): threads of the channel's accounts by a customer's
// username (with or without @, by prefix) or by words of their messages (DMs and comments), each
// with its state, last activity and a link to the thread, told to the asker alone; a channel that
// mirrors no account finds nothing. The bound and the index are checked against the database in
// test/conversations/find.test.ts.

import { expect, it } from "vitest";
import { waitFor } from "../helpers/service.ts";
import { commentWebhook, dmText, postWebhook } from "../helpers/webhook.ts";
import { forEachPlatform } from "./for-each-platform.ts";
import { now } from "./scenario.ts";

forEachPlatform("finding threads", (h) => {
  async function customerWrites(customer: string, text: string) {
    await postWebhook(h.url(), dmText(h.account, customer, `m_find_${customer}_${now()}`, text, now()));
    const thread = await h.threadOf(customer);
    await h.posts(thread, 1);
    return thread;
  }

  const lineOf = (answer: string, who: string) => answer.split("\n").find((l) => l.includes(who));

  it("finds threads by username and by message text, each with its state and a link, for the asker alone", async () => {
    const order = await customerWrites("1000000000003101", "Where is my order 4412? It was due Monday");
    await customerWrites("1000000000003102", "hello there");
    await postWebhook(
      h.url(),
      commentWebhook(h.account, {
        id: "17950000000003103",
        text: "Do you ship to Lisbon?",
        from: { id: "1000000000003103", username: "lisbon_fan" },
      }),
    );
    const comment = await h.commentThreadOf("17950000000003103");

    // A username is known once the customer's profile is read, a moment after their thread opens.
    const byName = await waitFor(
      async () => {
        const text = (await h.command("find", { query: "@customer_3101" })).text;
        return text.includes("Customer 3101") ? text : undefined;
      },
      10_000,
      "the first customer's profile",
    );
    expect(byName).toMatch(/^Threads matching “@customer_3101”, latest activity first:/);
    const line = lineOf(byName, "Customer 3101");
    expect(line).toMatch(
      /Customer 3101 \(@customer_3101\) · new · last activity \d{4}-\d\d-\d\d \d\d:\d\d UTC/,
    );
    // The link opens the thread (Slack's permalink writes its ts without the dot).
    expect(line).toContain(order.replace(".", ""));
    expect(byName).not.toContain("Customer 3102");

    // Without @, a username prefix finds both customers; the words are looked for in messages too.
    const prefix = await waitFor(
      async () => {
        const text = (await h.command("find", { query: "customer_310" })).text;
        return text.includes("Customer 3102") ? text : undefined;
      },
      10_000,
      "the second customer's profile",
    );
    expect(prefix).toContain("Customer 3101");

    const byText = (await h.command("find", { query: "order 4412" })).text;
    expect(lineOf(byText, "Customer 3101")).toBeDefined();
    expect(byText).toContain("“Where is my order 4412? It was due Monday”");
    expect(byText).not.toContain("Customer 3102");

    // Comment threads too, by a word's start, whatever its case.
    const byComment = (await h.command("find", { query: "LISB" })).text;
    const commentLine = lineOf(byComment, "comment by @lisbon_fan");
    expect(commentLine).toMatch(/comment thread, open/);
    expect(commentLine).toContain(comment.replace(".", ""));

    expect((await h.command("find", { query: "zebra crossing" })).text).toBe(
      "No thread here matches “zebra crossing”.",
    );
    // Another channel's team finds nothing of this account.
    const elsewhere = await h.command("find", { query: "@customer_3101" }, { in: h.otherChannel });
    expect(elsewhere.text).toMatch(/mirrors no Instagram account/);
  });
});

// `comments` change values with a `verb`: "remove" becomes comment.removed (best effort: the
// reference does not document it for Instagram Login), "add" or none is a new comment, and any
// other verb is kept as unknown with a warning rather than mistaken for a comment.

import { describe, expect, it } from "vitest";
import type { ParseResult } from "../../src/instagram/webhook.ts";
import { parseWebhook } from "../../src/instagram/webhook.ts";

const ACC = "17841400000000001";
const CUS = "1234567890123456";

function change(value: Record<string, unknown>, field = "comments") {
  return { object: "instagram", entry: [{ id: ACC, time: 1776339591, changes: [{ field, value }] }] };
}

function ok(result: ParseResult) {
  if (!result.ok) throw new Error(`expected ok, got: ${result.reason}`);
  return result;
}

describe("parseWebhook: comments with a verb", () => {
  it("verb remove on a reply: comment.removed in its top-level comment's stream", () => {
    const value = {
      verb: "remove",
      id: "17850000000000902",
      parent_id: "17850000000000901",
      from: { id: CUS, username: "jane" },
      media: { id: "17900000000000901", media_product_type: "FEED" },
    };
    const { records, warnings } = ok(parseWebhook(change(value)));
    expect(warnings).toEqual([]);
    expect(records).toEqual([
      {
        event: {
          type: "comment.removed",
          accountId: ACC,
          occurredAt: 1776339591000,
          commentId: "17850000000000902",
          parentId: "17850000000000901",
          media: { id: "17900000000000901", productType: "FEED" },
          from: { id: CUS, username: "jane" },
        },
        dedupeKey: "comment.removed:17850000000000902",
        threadKey: "comment:17850000000000901",
        raw: { field: "comments", value },
      },
    ]);
  });

  it("verb remove with only the comment id (FB-Login spelling too) is still understood", () => {
    const { records } = ok(parseWebhook(change({ verb: "remove", comment_id: "17850000000000903" })));
    expect(records[0]?.event).toEqual({
      type: "comment.removed",
      accountId: ACC,
      occurredAt: 1776339591000,
      commentId: "17850000000000903",
    });
    expect(records[0]?.threadKey).toBe("comment:17850000000000903");
  });

  it("a removal and the comment it removes are not taken for each other's redelivery", () => {
    const added = ok(
      parseWebhook(change({ id: "17850000000000904", text: "hi", from: { id: CUS }, media: { id: "1790" } })),
    );
    const removed = ok(parseWebhook(change({ verb: "remove", id: "17850000000000904" })));
    expect(added.records[0]?.dedupeKey).not.toBe(removed.records[0]?.dedupeKey);
    expect(added.records[0]?.threadKey).toBe(removed.records[0]?.threadKey);
  });

  it('verb "add" is a new comment', () => {
    const { records } = ok(
      parseWebhook(
        change({
          verb: "add",
          id: "17850000000000905",
          text: "hi",
          from: { id: CUS },
          media: { id: "1790" },
        }),
      ),
    );
    expect(records[0]?.event).toMatchObject({ type: "comment", commentId: "17850000000000905", text: "hi" });
  });

  it("any other verb is stored as unknown, with a warning naming it", () => {
    const value = {
      verb: "edited",
      id: "17850000000000906",
      text: "x",
      from: { id: CUS },
      media: { id: "1790" },
    };
    const { records, warnings } = ok(parseWebhook(change(value)));
    expect(records[0]?.event).toMatchObject({
      type: "unknown",
      field: "comments",
      reason: 'value.verb: expected "add" or "remove", got "edited"',
    });
    expect(records[0]?.threadKey).toBe("account");
    expect(warnings).toEqual(['entry[0].changes[0].value.verb: expected "add" or "remove", got "edited"']);
    const odd = ok(parseWebhook(change({ verb: 7, id: "17850000000000907" })));
    expect(odd.records[0]?.event).toMatchObject({
      type: "unknown",
      reason: 'value.verb: expected "add" or "remove", got a number',
    });
  });

  it("a removal without a comment id is unknown", () => {
    const { records, warnings } = ok(parseWebhook(change({ verb: "remove", media: { id: "1790" } })));
    expect(records[0]?.event).toMatchObject({ type: "unknown", field: "comments" });
    expect(warnings).toHaveLength(1);
  });

  it("live_comments removals parse the same way", () => {
    const { records } = ok(
      parseWebhook(change({ verb: "remove", id: "17850000000000908" }, "live_comments")),
    );
    expect(records[0]?.event).toMatchObject({ type: "comment.removed", commentId: "17850000000000908" });
  });
});

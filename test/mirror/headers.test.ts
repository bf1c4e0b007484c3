import { describe, expect, it } from "vitest";
import {
  type AccountRow,
  type ConversationRow,
  dmHeader,
  headerDigest,
  WINDOW_SHOWN_STEP_MS,
} from "../../src/mirror/headers.ts";

const account: AccountRow = {
  id: "17841400000000001",
  username: "brand",
  picture_url: null,
  status: "active",
  chat_platform: "slack",
  chat_channel: "C1",
  settings: {},
};

function convo(lastCustomerMessageAt: string): ConversationRow {
  return {
    id: 1,
    account_id: account.id,
    customer_id: "900",
    status: "open",
    assignee: null,
    consent: "unknown",
    profile: null,
    profile_fetched_at: null,
    last_customer_message_at: new Date(lastCustomerMessageAt),
    last_seen_at: null,
    chat_platform: "slack",
    chat_channel: "C1",
    chat_thread: "1.1",
    chat_header_digest: null,
  };
}

const header = (last: string, now: string, humanAgent = true) =>
  dmHeader(account, convo(last), new Date(now), humanAgent, undefined);

describe("the window a root shows", () => {
  it("ends on the quarter hour at or before the real end", () => {
    const h = header("2026-11-24T10:07:30Z", "2026-11-24T10:08:00Z");
    expect(h.window).toEqual({ kind: "open", until: new Date("2026-11-25T10:00:00Z") });
    expect(WINDOW_SHOWN_STEP_MS).toBe(15 * 60_000);
    const tagged = header("2026-11-20T10:14:59Z", "2026-11-22T09:00:00Z");
    expect(tagged.window).toEqual({ kind: "human_agent", until: new Date("2026-11-27T10:00:00Z") });
  });

  it("keeps the root as it is while messages only move the end within the quarter hour", () => {
    const a = header("2026-11-24T10:00:05Z", "2026-11-24T10:00:06Z");
    const b = header("2026-11-24T10:14:50Z", "2026-11-24T10:14:51Z");
    const c = header("2026-11-24T10:15:00Z", "2026-11-24T10:15:01Z");
    expect(headerDigest(a)).toBe(headerDigest(b));
    expect(headerDigest(c)).not.toBe(headerDigest(b));
  });

  it("still turns from open to closed at the real end, not the shown one", () => {
    expect(header("2026-11-24T10:14:00Z", "2026-11-25T10:10:00Z", false).window.kind).toBe("open");
    expect(header("2026-11-24T10:14:00Z", "2026-11-25T10:14:00Z", false).window.kind).toBe("closed");
  });
});

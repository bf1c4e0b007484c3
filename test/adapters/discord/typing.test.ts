// An agent typing in a mirrored thread (TYPING_START through the real gateway client) reaches the
// core as typing activity, which it turns into Instagram's typing indicator; Discord repeats the
// event while someone types, and one indicator per thread every few seconds is enough.

import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { ThreadRef } from "../../../src/chat/chat-port.ts";
import { AGENT, type DiscordHarness, startWithThread, TEXT } from "./harness.ts";

let h: DiscordHarness;
let thread: ThreadRef;

beforeAll(async () => {
  ({ h, thread } = await startWithThread());
});

afterAll(async () => {
  await h?.close();
});

it("hands an agent's typing in a mirrored thread to the core, once while they keep typing", async () => {
  await h.discord.userTyping(thread.thread, AGENT);
  await vi.waitFor(() => expect(h.inbox.activities).toHaveLength(1));
  expect(h.inbox.activities[0]).toMatchObject({
    agent: { platform: "discord", id: AGENT },
    thread,
    kind: "typing",
  });
  // Discord's repeat while the agent keeps typing, then a message as a barrier: still one.
  await h.discord.userTyping(thread.thread, AGENT);
  await h.discord.userMessage(thread.thread, { authorId: AGENT, content: "done typing" });
  await vi.waitFor(() => expect(h.inbox.messages).toHaveLength(1));
  expect(h.inbox.activities).toHaveLength(1);
});

it("ignores typing outside mirrored threads", async () => {
  await h.discord.userTyping(TEXT, AGENT);
  await h.discord.userMessage(thread.thread, { authorId: AGENT, content: "barrier" });
  await vi.waitFor(() => expect(h.inbox.messages).toHaveLength(2));
  expect(h.inbox.activities).toHaveLength(1);
});

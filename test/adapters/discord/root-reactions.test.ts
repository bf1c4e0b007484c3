// ✅ and 👀 on a thread's header, through the real gateway client with a recording core: who
// reacted reaches the core with their roles (for privileged checks, as buttons and commands do),
// and a refusal is said in the thread to the person who reacted, since a reaction has no private
// answer.

import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { ThreadRef } from "../../../src/chat/chat-port.ts";
import { AGENT, type DiscordHarness, ROLE_MOD, startWithThread, TEXT } from "./harness.ts";

let h: DiscordHarness;
let thread: ThreadRef;

beforeAll(async () => {
  ({ h, thread } = await startWithThread());
});

afterAll(async () => {
  await h?.close();
});

it("hands ✅ on the header to the core as the reactor's close, with their name and roles", async () => {
  const header = h.discord.messages(thread.thread)[0];
  await h.discord.userReact(thread.thread, header?.id as string, "✅", AGENT);
  await vi.waitFor(() => expect(h.inbox.actions).toHaveLength(1));
  expect(h.inbox.actions[0]).toEqual({
    agent: { platform: "discord", id: AGENT, name: "Ana Lima", roles: [ROLE_MOD] },
    thread,
    channel: TEXT,
    action: { kind: "conversation", change: { op: "close" } },
  });
});

it("says a refusal in the thread, to the person who reacted", async () => {
  h.inbox.result = { ok: false, text: "That conversation is gone." };
  const header = h.discord.messages(thread.thread)[0];
  await h.discord.userReact(thread.thread, header?.id as string, "👀", AGENT);
  const refusal = await vi.waitFor(() => {
    const found = h.discord
      .messages(thread.thread)
      .find((m) => m.content.includes("That conversation is gone."));
    expect(found).toBeDefined();
    return found;
  });
  expect(refusal?.content).toContain(`<@${AGENT}>`);
  expect(h.inbox.actions.at(-1)?.action).toEqual({ kind: "conversation", change: { op: "take" } });
});

// Fuzzing what Discord sends through the gateway: agents' thread messages with odd content, and
// /ig with random subcommands and option values. Every interaction is answered (Discord shows
// "the application did not respond" otherwise), nothing is left unhandled, and the thread still
// sends a normal reply afterwards.

import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN,
  AGENT,
  type DiscordHarness,
  startDiscordHarness,
  TEXT_ACCOUNT,
} from "../helpers/discord-bridge.ts";
import { dmText, postWebhook } from "../helpers/webhook.ts";
import { hugeString, oddString, RUNS } from "./arbitraries.ts";
import { sendsDrain } from "./sends-drain.ts";
import { fuzzParams, watchUnhandled } from "./watch.ts";

let h: DiscordHarness;
let thread: string;
const unhandled = watchUnhandled();
const params = fuzzParams(Math.max(5, Math.floor(RUNS / 2)));

beforeAll(async () => {
  h = await startDiscordHarness({ LOG_LEVEL: "silent" });
  await postWebhook(h.url(), dmText(TEXT_ACCOUNT, "1000000000000778", "m_fzd_1", "hello", Date.now()));
  thread = await h.threadOf(TEXT_ACCOUNT, "1000000000000778");
  await h.posts(thread, 1);
});

afterAll(async () => {
  await h?.close();
});

// `forget` is left out: an admin's forget of this thread's customer deletes the thread under test.
const SUBCOMMANDS = [
  "pause",
  "resume",
  "status",
  "hide",
  "reply",
  "comments-off",
  "consent",
  "export",
  "digest",
  "assign",
  "snooze",
  "close",
  "nonsense",
];
const OPTIONS = ["account", "target", "text", "user", "state", "who", "duration", "span", "id"];

describe("Discord inputs under fuzzing", () => {
  it("takes any agent message in a thread", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          oddString,
          hugeString.map((s) => s.slice(0, 4000)),
          fc.constantFrom("!", "!snooze 0m", ">>", "!assign"),
        ),
        async (content) => {
          await h.agentSays(thread, content === "" ? "·" : content);
        },
      ),
      params,
    );
  });

  it("answers /ig with any subcommand and option values", async () => {
    const option = fc.record({
      name: fc.constantFrom(...OPTIONS),
      type: fc.constant(3),
      value: fc.oneof(oddString, fc.string()),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SUBCOMMANDS),
        fc.array(option, { maxLength: 3 }),
        fc.constantFrom(AGENT.id, ADMIN.id),
        async (name, options, user) => {
          const unique = options.filter((o, i) => options.findIndex((x) => x.name === o.name) === i);
          const call = await h.discord.slashCommand(thread, "ig", [{ name, type: 1, options: unique }], user);
          const answers = await call.waitForResponse(10_000);
          expect(answers).toBeDefined();
        },
      ),
      params,
    );
  }, 120_000);

  it("leaves nothing unhandled and the thread still sends a reply", async () => {
    // Undo what the fuzzing may have switched: sending paused, consent revoked (>> confirms).
    for (const options of [[], [{ name: "account", type: 3, value: "brand" }]])
      await (
        await h.discord.slashCommand(thread, "ig", [{ name: "resume", type: 1, options }], ADMIN.id)
      ).waitForResponse();
    // The fuzzed messages go out first, in order (however many a long run queued).
    await sendsDrain(h.service.db);
    const said = await h.agentSays(thread, ">> still here");
    await h.settled(said.id, "sent");
    expect(unhandled).toEqual([]);
  }, 600_000);
});

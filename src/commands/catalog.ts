// Every command, once. `/ig` typed as text or picked with options, the `!commands` of threads,
// every help text and the platforms' manifests (manifest/) are read from this list (run
// `npm run manifests` after changing it). A new command is one entry here.

import {
  account,
  choice,
  customer,
  duration,
  label,
  member,
  optionalText,
  ruleId,
  snippetName,
  target,
  text,
} from "./args.ts";
import { defineCommand } from "./define.ts";
import { CommandRegistry } from "./registry.ts";

/** The platforms' slash command: its name and the one-line description the manifests carry. */
export const SLASH_COMMAND = {
  name: "ig",
  description: "Instagram bridge: moderation, sending, data requests for this channel's accounts",
} as const;

const reply = text({
  placeholder: "text…",
  description: "The public reply",
  missing: "needs the public reply's text",
  maxLength: 2200,
});

// ——— channel commands: by link or id, for the accounts routed to the channel ———

const moderateBy = (name: string, action: "hide" | "unhide" | "delete", summary: string, admin = false) =>
  defineCommand({
    name,
    summary,
    where: "channel",
    admin,
    args: { target: target("comment") },
    handler: async ({ asked, core, scope }, a) =>
      core.moderation.moderate(asked.agent, action, a.target, undefined, await scope()),
  });

const commentsSwitch = (name: string, action: "comments_off" | "comments_on", summary: string) =>
  defineCommand({
    name,
    summary,
    where: "channel",
    args: { target: target("post") },
    handler: async ({ asked, core, scope }, a) =>
      core.moderation.moderate(asked.agent, action, a.target, undefined, await scope()),
  });

const sendingSwitch = (kind: "pause" | "resume", summary: string) =>
  defineCommand({
    name: kind,
    summary,
    where: "channel",
    admin: true,
    args: { account: account() },
    handler: async ({ asked, core, scope }, a) =>
      core.pauseSwitch(asked.agent, kind, a.account, await scope()),
  });

const rulesToggle = (enabled: boolean) =>
  defineCommand({
    name: enabled ? "rules enable" : "rules disable",
    summary: enabled ? "turn a rule on" : "turn a rule off",
    where: "channel",
    admin: true,
    args: { id: ruleId() },
    handler: async ({ asked, core, scope }, a) =>
      core.ruleActions.toggle(asked.agent, a.id, enabled, await scope()),
  });

// ——— thread commands: the conversation or comment thread they are used in ———

/** The thread's own comment; a success shows as the moderation notice, so it answers nothing. */
const moderateHere = (name: string, action: "hide" | "unhide" | "delete", summary: string, admin = false) =>
  defineCommand({
    name,
    summary,
    where: "thread",
    admin,
    args: {},
    handler: async ({ asked, core, thread }) => {
      if (thread.kind !== "comment") return { ok: false, text: `${name} works in a comment thread.` };
      const result = await core.moderation.comment(asked.agent, action, thread.rootCommentId, undefined);
      return result.ok ? { ok: true, text: "" } : result;
    },
  });

export const COMMANDS = new CommandRegistry(
  [
    moderateBy("hide", "hide", "hide a comment from everyone but its author"),
    moderateBy("unhide", "unhide", "show a hidden comment again"),
    moderateBy("delete", "delete", "delete a comment on Instagram for good", true),
    defineCommand({
      name: "reply",
      summary: "answer a comment publicly, under it",
      where: "channel",
      args: { target: target("comment"), text: reply },
      handler: async ({ asked, core, scope }, a) =>
        core.moderation.moderate(asked.agent, "reply", a.target, a.text, await scope()),
    }),
    commentsSwitch("comments-off", "comments_off", "turn comments off for a post or reel"),
    commentsSwitch("comments-on", "comments_on", "turn comments back on for a post or reel"),
    sendingSwitch("pause", "hold replies to Instagram: one account, or every account of this channel"),
    sendingSwitch("resume", "send held replies and go on sending"),
    defineCommand({
      name: "status",
      summary: "accounts, sending state and queues of this channel",
      where: "channel",
      args: {},
      handler: async ({ asked, core, scope }) => core.channelStatus(asked.agent, await scope()),
    }),
    defineCommand({
      name: "consent",
      summary: "record a customer's consent; revoked stops every automated message",
      where: "channel",
      admin: true,
      args: {
        user: customer(),
        state: choice({
          choices: [
            { value: "granted", label: "granted" },
            { value: "revoked", label: "revoked" },
          ],
          description: "granted or revoked",
        }),
      },
      handler: async ({ asked, core }, a) => core.dataRequests.consent(asked, a.user, a.state),
    }),
    defineCommand({
      name: "forget",
      summary: "erase everything stored about one Instagram user and their mirrored messages",
      where: "channel",
      admin: true,
      args: { user: customer() },
      handler: async ({ asked, core }, a) => core.dataRequests.forget(asked, a.user),
    }),
    defineCommand({
      name: "export",
      summary: "every row stored about one Instagram user, as a JSON file only you see",
      where: "channel",
      admin: true,
      args: { user: customer() },
      handler: async ({ asked, core }, a) => core.dataRequests.export(asked, a.user),
    }),
    defineCommand({
      name: "digest",
      summary: "post the managers' digest of this channel's accounts here now",
      where: "channel",
      admin: true,
      args: {
        span: choice({
          choices: [
            { value: "24h", label: "last 24 hours" },
            { value: "7d", label: "last 7 days" },
          ],
          description: "The last 24 hours (default) or 7 days",
          fallback: "24h",
        }),
      },
      handler: async ({ asked, core }, a) => core.digest(asked, a.span),
    }),
    defineCommand({
      name: "queue",
      summary: "open conversations, oldest first, with the time left to answer (only you see it)",
      where: "channel",
      args: {
        which: choice({
          choices: [
            { value: "all", label: "all" },
            { value: "mine", label: "mine" },
            { value: "unassigned", label: "unassigned" },
          ],
          description: "All open conversations (default), yours, or the unassigned ones",
          fallback: "all",
        }),
      },
      handler: async ({ asked, core, scope }, a) =>
        core.ownership.queueText(asked.agent, await scope(), a.which),
    }),
    defineCommand({
      name: "find",
      summary: "threads by customer @username or words of their messages (only you see it)",
      where: "channel",
      args: {
        query: text({
          placeholder: "@username|text…",
          description: "A customer's @username, or words their messages hold",
          missing: "needs a @username or words to look for",
          maxLength: 200,
        }),
      },
      handler: async ({ asked, core, scope }, a) => core.find(asked.agent, await scope(), a.query),
    }),
    defineCommand({
      name: "away",
      summary: "get no new conversations assigned until you say back",
      where: "channel",
      args: {},
      handler: async ({ asked, core }) => core.ownership.setAway(asked.agent, true),
    }),
    defineCommand({
      name: "back",
      summary: "get new conversations assigned again",
      where: "channel",
      args: {},
      handler: async ({ asked, core }) => core.ownership.setAway(asked.agent, false),
    }),
    defineCommand({
      name: "rules list",
      summary: "the auto-reply rules of this channel's accounts",
      where: "channel",
      args: {},
      handler: async ({ asked, core }) => core.ruleActions.list(asked.channel),
    }),
    rulesToggle(true),
    rulesToggle(false),
    defineCommand({
      name: "rules test",
      summary: "which rules would answer a text (nothing is sent)",
      where: "channel",
      args: {
        text: text({
          placeholder: '"text"',
          description: "A message a customer might write",
          missing: "needs a text to try, in quotes",
          maxLength: 1000,
        }),
      },
      handler: async ({ core, asked }, a) => core.ruleActions.test(asked.channel, a.text),
    }),
    defineCommand({
      name: "snippets list",
      summary: "the saved replies this channel's accounts can send",
      where: "channel",
      args: {},
      handler: async ({ asked, core, scope }) => core.snippets.list(asked, await scope()),
    }),
    defineCommand({
      name: "snippets remove",
      summary: "remove one account's saved reply",
      where: "channel",
      admin: true,
      args: { name: snippetName(), account: account() },
      handler: async ({ asked, core, scope }, a) =>
        core.snippets.remove(asked, await scope(), a.name, a.account),
    }),

    defineCommand({
      name: "status",
      summary: "the conversation's window, held and failed replies",
      where: "thread",
      args: {},
      handler: async ({ core, thread }) => ({ ok: true, text: await core.threadStatus(thread) }),
    }),
    defineCommand({
      name: "snippet",
      summary: "send a saved reply as your reply (or type !!name)",
      where: "thread",
      args: {
        name: snippetName(),
        text: optionalText({
          placeholder: "text",
          description: "A line to add after the saved reply",
          maxLength: 1000,
        }),
      },
      handler: async ({ asked, core, thread, ref, message }, a) => {
        const result = await core.snippets.sendFromCommand({
          thread,
          ref,
          agent: asked.agent,
          name: a.name,
          extra: a.text,
          ...(message ? { message } : {}),
        });
        if (!result.ok) return { ...result, privately: true };
        // Someone else owns the conversation: the reply goes, and the agent alone is told.
        const told = await core.afterReply(thread, asked.agent);
        if (told) return { ok: true, text: told, privately: true };
        // Typed as !snippet, a success shows as the post; a refusal is the agent's alone.
        return { ...result, text: message ? "" : result.text };
      },
    }),
    defineCommand({
      name: "retry",
      summary: "send the thread's last failed reply again",
      where: "thread",
      args: {},
      handler: async ({ core, thread }) => ({ ok: true, text: await core.retryLast(thread) }),
    }),
    defineCommand({
      name: "close",
      summary: "close the conversation, now or after a while (the customer writing reopens or cancels)",
      where: "thread",
      args: {
        after: duration({
          optional: true,
          description: "Close later: 30m, 4h, 1d… (unless the customer writes)",
        }),
      },
      handler: async ({ asked, core, thread }, a) =>
        a.after > 0
          ? { ...(await core.timers.closeLater(thread, asked.agent, a.after)), announce: true }
          : {
              ok: true,
              text: await core.conversations.setStatus(thread, asked.agent, "closed"),
              announce: true,
            },
    }),
    defineCommand({
      name: "reopen",
      summary: "open the conversation again",
      where: "thread",
      args: {},
      handler: async ({ asked, core, thread }) => ({
        ok: true,
        text: await core.conversations.setStatus(thread, asked.agent, "open"),
        announce: true,
      }),
    }),
    defineCommand({
      name: "followup",
      summary: "send a reply later, unless the customer writes first (refused past the window)",
      where: "thread",
      args: {
        after: duration(),
        text: text({
          placeholder: "text…",
          description: "The reply to send then",
          missing: "needs the follow-up's text",
          maxLength: 1000,
        }),
      },
      handler: async ({ asked, core, thread, message }, a) => {
        const result = await core.timers.followup(thread, asked.agent, a.after, a.text, message);
        return result.ok ? { ...result, announce: true } : { ...result, privately: true };
      },
    }),
    defineCommand({
      name: "take",
      summary: "assign the conversation to yourself",
      where: "thread",
      args: {},
      handler: async ({ asked, core, thread }) => ({
        ok: true,
        text: await core.conversations.assign(thread, asked.agent, asked.agent.name, { take: true }),
        announce: true,
      }),
    }),
    defineCommand({
      name: "control",
      summary: "Instagram thread control: take it, request it, or pass to the inbox",
      where: "thread",
      args: {
        action: choice({
          choices: [
            { value: "take", label: "Take control from the app holding it" },
            { value: "request", label: "Ask the app holding it to pass it back" },
            { value: "inbox", label: "Pass it to the Instagram inbox" },
          ],
          description: "What to do with control of the conversation",
        }),
      },
      handler: async ({ asked, core, thread }, a) => ({
        ...(await core.conversations.control(thread, asked.agent, a.action)),
        announce: true,
      }),
    }),
    defineCommand({
      name: "assign",
      summary: "give the conversation to someone",
      where: "thread",
      args: { who: member() },
      handler: async ({ asked, core, thread }, a) => ({
        ok: true,
        text: a.who.self
          ? await core.conversations.assign(thread, asked.agent, asked.agent.name, { self: true })
          : await core.conversations.assign(thread, asked.agent, a.who.name),
        announce: true,
      }),
    }),
    defineCommand({
      name: "note",
      summary: "keep a note about this customer, shown on every thread of theirs",
      where: "thread",
      args: {
        text: text({
          placeholder: "text…",
          description: "The note",
          missing: "needs the note's text",
          maxLength: 1000,
        }),
      },
      handler: async ({ asked, core, thread }, a) => ({
        ...(await core.conversations.note(thread, asked.agent, a.text)),
        announce: true,
      }),
    }),
    defineCommand({
      name: "label",
      summary: "label this customer (e.g. vip); rules and the digest can use it",
      where: "thread",
      args: { label: label() },
      handler: async ({ asked, core, thread }, a) => ({
        ...(await core.conversations.label(thread, asked.agent, a.label, true)),
        announce: true,
      }),
    }),
    defineCommand({
      name: "unlabel",
      summary: "remove a label from this customer",
      where: "thread",
      args: { label: label() },
      handler: async ({ asked, core, thread }, a) => ({
        ...(await core.conversations.label(thread, asked.agent, a.label, false)),
        announce: true,
      }),
    }),
    defineCommand({
      name: "snooze",
      summary: "set the conversation aside for a while; the customer's next message ends it",
      where: "thread",
      args: { duration: duration() },
      handler: async ({ asked, core, thread }, a) => ({
        ok: true,
        text: await core.conversations.setStatus(
          thread,
          asked.agent,
          "snoozed",
          new Date(Date.now() + a.duration),
        ),
        announce: true,
      }),
    }),
    moderateHere("hide", "hide", "hide this thread's comment"),
    moderateHere("unhide", "unhide", "show this thread's comment again"),
    moderateHere("delete", "delete", "delete this thread's comment on Instagram for good", true),
    defineCommand({
      name: "reply",
      summary: "answer this thread's comment publicly, under it",
      where: "thread",
      args: { text: reply },
      handler: async ({ asked, core, thread }, a) => {
        if (thread.kind !== "comment") return { ok: false, text: "reply works in a comment thread." };
        const result = await core.moderation.comment(
          asked.agent,
          "reply_public",
          thread.rootCommentId,
          a.text,
        );
        return result.ok ? { ok: true, text: "" } : result;
      },
    }),
  ],
  { rules: "the auto-reply rules", snippets: "saved replies" },
  // Discord allows 25 subcommands and groups per command: where commands are picked as named
  // options, these thread commands sit in groups (`/ig conversation close`); typed, they keep
  // their own names (`!close`).
  {
    conversation: {
      summary: "close, reopen, take, assign, snooze or follow up the conversation",
      members: ["close", "reopen", "take", "assign", "snooze", "followup"],
    },
    customer: {
      summary: "notes and labels about this customer",
      members: ["note", "label", "unlabel"],
    },
  },
);

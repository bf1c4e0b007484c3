// The contract harness on Slack: the service's real Bolt app and Web API client against the fake
// Slack (test/fakes/slack-server.ts), through test/helpers/bridge.ts. People act the way Slack
// tells the service: signed events, slash commands and block actions.

import { expect } from "vitest";
import type { FakeMessage } from "../../fakes/slack-server.ts";
import { ADMIN, AGENT, CHANNEL, SECRET, startBridgeHarness } from "../../helpers/bridge.ts";
import { waitFor } from "../../helpers/service.ts";
import { postSlackCommand, postSlackInteraction } from "../../helpers/slack.ts";
import type { Answer, ChatHarness, ChatPerson, ContractPlatform, Mark, Posted } from "../harness.ts";

/** Slack's reaction names for the emoji scenarios use. */
const EMOJI: Record<string, string> = {
  "✅": "white_check_mark",
  "✔️": "heavy_check_mark",
  "👀": "eyes",
  "🎉": "tada",
  "❤️": "heart",
  "👍": "+1",
};

const MARKS: Record<Mark, string> = {
  pending: "hourglass_flowing_sand",
  held: "double_vertical_bar",
  sent: "white_check_mark",
  failed: "warning",
};

const plainText = (text: string) => text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

type Element = { action_id?: string };

function posted(m: FakeMessage): Posted {
  const blocks = (m.blocks ?? []) as { elements?: Element[]; accessory?: Element }[];
  return {
    id: m.ts,
    text: m.text ?? "",
    shows: `${m.text ?? ""}\n${JSON.stringify(m.blocks ?? [])}`,
    ...(m.username ? { author: { name: m.username, ...(m.icon_url ? { icon: m.icon_url } : {}) } } : {}),
    edited: m.edited === true,
    fromBridge: m.bot_id !== undefined,
    actions: blocks.flatMap((b) =>
      [...(b.elements ?? []), ...(b.accessory ? [b.accessory] : [])].flatMap((e) =>
        e.action_id ? [e.action_id] : [],
      ),
    ),
  };
}

/** The user group the scenarios use as an assignment pool. */
const POOL = "S0POOL0001";

export const slack: ContractPlatform = {
  name: "slack",
  async start(options = {}) {
    const b = await startBridgeHarness(options.env ?? {}, {}, options.backend);
    b.slack.setUserGroup(POOL, [AGENT.id, ADMIN.id]);
    const agent: ChatPerson = { id: AGENT.id, name: AGENT.display_name ?? AGENT.name };
    const admin: ChatPerson = { id: ADMIN.id, name: ADMIN.display_name ?? ADMIN.name };
    const slackUser = (p: ChatPerson) =>
      p.id === ADMIN.id ? ADMIN : p.id === AGENT.id ? AGENT : { id: p.id, name: p.name };
    let asked = 0;
    let files = 0;
    // Slack's gesture: the "Quote in reply" shortcut on the message, then its modal's Send; the
    // reply is the message the bridge posts for it.
    const quoteInReply = async (
      thread: string,
      quoted: string,
      text: string,
      user: { id: string; name: string },
    ) => {
      const target = b.slack.message(CHANNEL, quoted);
      const opened = b.slack.callsOf("views.open").length;
      const shortcut = await postSlackInteraction(b.url(), SECRET, {
        type: "message_action",
        callback_id: "ig_quote",
        trigger_id: `${++asked}.trigger`,
        message_ts: quoted,
        response_url: b.slack.responseUrl(`quote-${asked}`),
        message: { type: "message", text: target?.text ?? "", ts: quoted, thread_ts: thread },
        user: { id: user.id, name: user.name },
        channel: { id: CHANNEL, name: "ig-inbox" },
        team: { id: "T0FAKE", domain: "fake" },
        token: "legacy",
        action_ts: "7.7",
      });
      if (shortcut.status !== 200) throw new Error(`the quote shortcut answered ${shortcut.status}`);
      const call = await waitFor(
        async () => b.slack.callsOf("views.open")[opened],
        10_000,
        "the quote modal",
      );
      const view = call.args.view as { callback_id: string; private_metadata: string };
      const before = new Set(b.slack.thread(CHANNEL, thread).map((m) => m.ts));
      await postSlackInteraction(b.url(), SECRET, {
        type: "view_submission",
        team: { id: "T0FAKE", domain: "fake" },
        user: { id: user.id, username: user.name, name: user.name, team_id: "T0FAKE" },
        api_app_id: "A0APP",
        token: "legacy",
        trigger_id: `${++asked}.trigger`,
        view: {
          id: "V1",
          type: "modal",
          callback_id: view.callback_id,
          private_metadata: view.private_metadata,
          state: { values: { reply: { text: { type: "plain_text_input", value: text } } } },
        },
      });
      const posted = await waitFor(
        async () => b.slack.thread(CHANNEL, thread).find((m) => !before.has(m.ts) && m.text?.includes(text)),
        10_000,
        "the quoted reply in the thread",
      );
      return posted.ts;
    };
    const h: ChatHarness = {
      platform: "slack",
      account: "17841400000000001",
      channel: CHANNEL,
      otherChannel: "C0OTHERBRAND",
      agent,
      admin,
      pool: POOL,
      erasesPeoplesMessages: false,
      cannotQuote: undefined,
      commandsInThreads: false,
      graph: b.graph,
      t: b.t,
      get service() {
        return b.service;
      },
      url: () => b.url(),
      restart: () => b.restart(),
      close: () => b.close(),
      key: (p) => `slack:${p.id}`,
      sends: () => b.sends(),
      threadOf: (customer) => b.rootOf(customer),
      commentThreadOf: (root) => b.commentRootOf(root),
      root(thread) {
        const m = b.slack.message(CHANNEL, thread);
        return m ? posted(m) : undefined;
      },
      posts: (thread, n) =>
        waitFor(
          async () => {
            const r = b.slack.thread(CHANNEL, thread).filter((m) => m.ts !== thread);
            return r.length >= n ? r.map(posted) : undefined;
          },
          10_000,
          `${n} replies in ${thread}`,
        ),
      messages: (thread) => b.slack.thread(CHANNEL, thread).map(posted),
      message(_thread, id) {
        const m = b.slack.message(CHANNEL, id);
        return m ? posted(m) : undefined;
      },
      threadCount: () => b.slack.topLevel(CHANNEL).length,
      threadsOpened: (text) =>
        b.slack
          .callsOf("chat.postMessage")
          .filter(
            (c) =>
              c.args.channel === CHANNEL &&
              c.args.thread_ts === undefined &&
              String(c.args.text).includes(text),
          ).length,
      said: (text) => expect.stringMatching(new RegExp(`${RegExp.escape(text)}$`)),
      reactions: (_thread, message) =>
        Object.entries(b.slack.reactions(CHANNEL, message))
          .filter(([, who]) => who.length > 0)
          .map(([name]) => name),
      marked: (_thread, message, mark) => (b.slack.reactions(CHANNEL, message)[MARKS[mark]]?.length ?? 0) > 0,

      async agentSays(thread, text, options = {}) {
        if (options.quoting)
          return quoteInReply(thread, options.quoting, text, slackUser(options.as ?? agent));
        const extra: Record<string, unknown> = {};
        if (options.files?.length) {
          extra.subtype = "file_share";
          extra.files = options.files.map((f) => {
            const id = `F0UPLOAD${++files}`;
            b.slack.addFile({ id, name: f.name, mimetype: f.mimeType, content: f.data });
            return { id, name: f.name, mimetype: f.mimeType, size: f.data.length };
          });
        }
        const { ts } = await b.agentSays(thread, text, extra, options.as?.id ?? AGENT.id);
        return ts;
      },
      press: (_thread, message, actionId, options = {}) =>
        b.act(message, actionId, slackUser(options.as ?? agent), options.pick),
      async react(_thread, message, emoji, as = agent) {
        const name = EMOJI[emoji];
        if (!name) throw new Error(`no Slack name for ${emoji}`);
        await b.react(message, name, as === "bridge" ? b.slack.botUserId : as.id);
      },
      async unreact(_thread, message, emoji, as = agent) {
        const name = EMOJI[emoji];
        if (!name) throw new Error(`no Slack name for ${emoji}`);
        await b.unreact(message, name, as.id);
      },
      async command(name, args = {}, options = {}) {
        if (options.in !== undefined && options.in !== CHANNEL && options.in !== h.otherChannel)
          throw new Error("Slack runs no custom command in a thread");
        const user = slackUser(options.as ?? agent);
        const id = `contract-${++asked}`;
        const uploads = b.slack.uploads.length;
        const text = [name, ...Object.values(args)].join(" ");
        const res = await postSlackCommand(b.url(), SECRET, {
          command: "/ig",
          text,
          user_id: user.id,
          user_name: user.name,
          channel_id: options.in ?? CHANNEL,
          response_url: b.slack.responseUrl(id),
        });
        expect(res.status).toBe(200);
        // A usage error is the acknowledgement itself; anything else comes through response_url.
        const acked = res.body ? (JSON.parse(res.body) as { text?: string }).text : undefined;
        const raw =
          acked ??
          (await waitFor(
            async () => b.slack.responses.find((r) => r.id === id)?.body.text as string | undefined,
            10_000,
            `the answer to /ig ${text}`,
          ));
        const answer: Answer = { text: plainText(raw) };
        const upload = b.slack.uploads.slice(uploads)[0];
        if (upload) {
          const members = upload.channel ? b.slack.directMessage(upload.channel) : undefined;
          const others = members?.filter((m) => m !== b.slack.botUserId) ?? [];
          answer.file = {
            name: upload.name,
            mimeType: upload.mimetype,
            content: upload.bytes.toString("utf8"),
            onlyFor: members && others.length === 1 ? others[0] : undefined,
          };
        }
        return answer;
      },
      toldPrivately: (person) =>
        b.slack
          .callsOf("chat.postEphemeral")
          .filter((c) => c.args.user === person.id)
          .map((c) => String(c.args.text)),
      stateOf: (ref) => b.stateOf(ref),
      settled: (ref, state) => b.settled(ref, state),
    };
    return h;
  },
};

// The App Home tab (issue 21): when an agent opens the app's Home, it shows their own queue, the
// open conversations assigned to them (oldest wait first, with queue state, account, customer, time
// left to answer and a link to the thread), and a bounded list of the unassigned ones in the
// channels they are in. The core (ChatInbox.homeView) says what; this file only draws it. It is
// redrawn each time the tab is opened: Slack keeps the last view published for the person.

import type { App } from "@slack/bolt";
import type { HomeEntry, HomeSection, HomeView } from "../../src/chat/chat-port.ts";
import { QUEUE_BADGES } from "../../src/chat/header-text.ts";
import { context, type KnownBlock, mrkdwn, plain, section, slackDate } from "./blocks.ts";
import { agentIdentity, type ListenerDeps } from "./listener-deps.ts";
import { escapeText, link } from "./mrkdwn.ts";
import { errorFields } from "./slack-errors.ts";

/** Entries per section: two full sections and their headings stay well under Slack's 100 blocks. */
export const HOME_ENTRIES = 20;
/** The unassigned section is a glance, not a second queue. */
export const HOME_UNASSIGNED = 10;
/** users.conversations pages (200 channels each) read for the unassigned section. */
const CHANNEL_PAGES = 5;

/** The channels `user` is in, as the bot may see them (public ones, and private ones it shares),
 * at most CHANNEL_PAGES pages: the unassigned section's scope. */
async function channelsOf(deps: ListenerDeps, user: string): Promise<string[]> {
  const channels: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < CHANNEL_PAGES; page++) {
    const res = await deps.client.users.conversations({
      user,
      types: "public_channel,private_channel",
      exclude_archived: true,
      limit: 200,
      ...(cursor ? { cursor } : {}),
    });
    for (const c of res.channels ?? []) if (c.id) channels.push(c.id);
    cursor = res.response_metadata?.next_cursor || undefined;
    if (!cursor) break;
  }
  return channels;
}

function entryBlock(e: HomeEntry, permalink: string | undefined): KnownBlock {
  const waited = e.since ? ` · last message ${slackDate(e.since)}` : "";
  return section(
    `*${link(permalink, e.customer)}*${e.kind === "comment" ? " (comment)" : ""} · ${escapeText(e.account)}\n${QUEUE_BADGES[e.state]} · ${escapeText(e.left)}${waited}`,
  );
}

function more(n: number, where: string): KnownBlock[] {
  return n > 0 ? [context(mrkdwn(`…and ${n} more ${where}.`))] : [];
}

/** The Home tab's blocks; `links`: each shown entry's thread link, in order, where Slack gave one. */
export function renderHome(
  view: HomeView,
  links: { mine: (string | undefined)[]; unassigned: (string | undefined)[] },
): KnownBlock[] {
  const list = (s: HomeSection, shown: (string | undefined)[]) =>
    s.entries.map((e, i) => entryBlock(e, shown[i]));
  return [
    { type: "header", text: plain("Your conversations") },
    context(mrkdwn(`Open and assigned to you, the longest waiting first · as of ${slackDate(new Date())}`)),
    ...(view.mine.entries.length === 0
      ? [section("Nothing is assigned to you right now.")]
      : list(view.mine, links.mine)),
    ...more(view.mine.more, "assigned to you: `/ig queue` in a channel lists them"),
    { type: "divider" },
    { type: "header", text: plain("Unassigned") },
    context(mrkdwn("Open conversations nobody owns, of the accounts routed to channels you are in")),
    ...(view.unassigned.entries.length === 0
      ? [section("Every open conversation in your channels has an owner.")]
      : list(view.unassigned, links.unassigned)),
    ...more(view.unassigned.more, "unassigned: `/ig queue unassigned` in a channel lists them"),
  ];
}

/** Each entry's thread link (chat.getPermalink, no scope needed); undefined where Slack gave none. */
function permalinks(deps: ListenerDeps, section: HomeSection): Promise<(string | undefined)[]> {
  return Promise.all(
    section.entries.map(async (e) => {
      if (!e.thread) return undefined;
      try {
        return await deps.adapter.threadLink(e.thread);
      } catch (err) {
        deps.log.warn({ channel: e.thread.channel, err: errorFields(err) }, "slack home: no thread link");
        return undefined;
      }
    }),
  );
}

/** Builds and publishes `user`'s Home view. */
export async function publishHome(deps: ListenerDeps, user: string): Promise<void> {
  const homeView = deps.inbox.homeView?.bind(deps.inbox);
  if (!homeView) return;
  const [agent, channels] = await Promise.all([agentIdentity(deps, user), channelsOf(deps, user)]);
  const view = await homeView({ agent, channels, limit: HOME_ENTRIES });
  view.unassigned = {
    entries: view.unassigned.entries.slice(0, HOME_UNASSIGNED),
    more: view.unassigned.more + Math.max(0, view.unassigned.entries.length - HOME_UNASSIGNED),
  };
  const [mine, unassigned] = await Promise.all([
    permalinks(deps, view.mine),
    permalinks(deps, view.unassigned),
  ]);
  await deps.client.views.publish({
    user_id: user,
    view: { type: "home", blocks: renderHome(view, { mine, unassigned }) },
  });
}

export function registerHome(app: App, deps: ListenerDeps): void {
  app.event("app_home_opened", async ({ event }) => {
    // The Messages and About tabs raise the event too; only Home shows this view.
    if (event.tab !== "home") return;
    // Acked at once: the channels, the queue and the links take more than Slack's 3 s at times.
    deps.background("app_home_opened", () => publishHome(deps, event.user));
  });
}

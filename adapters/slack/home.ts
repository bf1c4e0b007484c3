// The App Home tab (issue 21): when an agent opens the app's Home, it shows their own queue, the
// open conversations assigned to them (oldest wait first, with queue state, account, customer, time
// left to answer and a link to the thread), and a bounded list of the unassigned ones in the
// channels they are in. The core (ChatInbox.homeView) says what; this file only draws it. It is
// drawn when the tab is opened and kept current for a while after (HomeRefresher): Slack shows the
// last view published for the person until another one is.

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

/** What a published view showed, for telling whether a refresh would change it: the entries and
 * counts, not the clock-driven words ("5h 20m left", "as of") that change every minute anyway. */
function shownKey(view: HomeView): string {
  const entries = (sec: HomeSection) =>
    sec.entries.map((e) => [e.kind, e.account, e.customer, e.state, e.since?.getTime(), e.thread?.thread]);
  return JSON.stringify([entries(view.mine), view.mine.more, entries(view.unassigned), view.unassigned.more]);
}

/** Builds `user`'s Home view for the channels given, and publishes it unless it shows what `last`
 * (the key of the view published before) did. Returns the key of what is on the tab now. */
async function publishHomeFor(
  deps: ListenerDeps,
  homeView: NonNullable<ListenerDeps["inbox"]["homeView"]>,
  user: string,
  channels: readonly string[],
  last?: string,
): Promise<string> {
  const agent = await agentIdentity(deps, user);
  const view = await homeView({ agent, channels, limit: HOME_ENTRIES });
  view.unassigned = {
    entries: view.unassigned.entries.slice(0, HOME_UNASSIGNED),
    more: view.unassigned.more + Math.max(0, view.unassigned.entries.length - HOME_UNASSIGNED),
  };
  const key = shownKey(view);
  if (key === last) return key;
  const [mine, unassigned] = await Promise.all([
    permalinks(deps, view.mine),
    permalinks(deps, view.unassigned),
  ]);
  await deps.client.views.publish({
    user_id: user,
    view: { type: "home", blocks: renderHome(view, { mine, unassigned }) },
  });
  return key;
}

/** People whose Home tab is kept current, at most: beyond it the longest unopened are dropped. */
export const HOME_WATCHED = 200;
/** How long after someone last opened the tab it is still kept current. */
const WATCH_MS = 8 * 3_600_000;

interface Watched {
  openedAt: number;
  /** The channels read when they opened it: read again at the next opening, not at each refresh
   * (users.conversations allows about 50 calls a minute for the whole workspace). */
  channels: readonly string[];
  /** What the tab shows now (shownKey). */
  shown: string;
}

/**
 * Keeps the Home tabs of the people who opened theirs recently current: Slack shows the last view
 * published until someone publishes another, so an assignment made meanwhile would wait for the
 * next opening. Every `everyMs` each watched person's view is built again and published only when
 * it shows something else (a new assignment, one closed, the unassigned list changing). Bounded:
 * at most HOME_WATCHED people, each for WATCH_MS after their last opening; one person at a time.
 * Each web process keeps the people whose openings it received.
 */
export class HomeRefresher {
  readonly #deps: ListenerDeps;
  readonly #everyMs: number;
  readonly #watched = new Map<string, Watched>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(deps: ListenerDeps, everyMs: number) {
    this.#deps = deps;
    this.#everyMs = everyMs;
  }

  /** Someone opened their tab: publish it now and keep it current from here on. */
  async opened(user: string): Promise<void> {
    const homeView = this.#deps.inbox.homeView?.bind(this.#deps.inbox);
    if (!homeView) return;
    const channels = await channelsOf(this.#deps, user);
    const shown = await publishHomeFor(this.#deps, homeView, user, channels);
    if (this.#everyMs <= 0) return;
    // Map order is insertion order: deleting first moves them to the newest end.
    this.#watched.delete(user);
    this.#watched.set(user, { openedAt: Date.now(), channels, shown });
    for (const oldest of this.#watched.keys()) {
      if (this.#watched.size <= HOME_WATCHED) break;
      this.#watched.delete(oldest);
    }
    this.#timer ??= setInterval(() => {
      this.#running ??= this.#refresh().finally(() => {
        this.#running = undefined;
      });
    }, this.#everyMs).unref();
  }

  async #refresh(): Promise<void> {
    const homeView = this.#deps.inbox.homeView?.bind(this.#deps.inbox);
    if (!homeView) return;
    const since = Date.now() - WATCH_MS;
    for (const [user, w] of [...this.#watched]) {
      if (w.openedAt < since) {
        this.#watched.delete(user);
        continue;
      }
      try {
        w.shown = await publishHomeFor(this.#deps, homeView, user, w.channels, w.shown);
      } catch (err) {
        // The next round tries again; a failure here costs only a stale tab meanwhile.
        this.#deps.log.warn({ user, err: errorFields(err) }, "slack home: refresh failed");
      }
    }
  }

  /** Stops refreshing and waits for a round under way. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#watched.clear();
    await this.#running;
  }
}

export function registerHome(app: App, deps: ListenerDeps, refresher: HomeRefresher): void {
  app.event("app_home_opened", async ({ event }) => {
    // The Messages and About tabs raise the event too; only Home shows this view.
    if (event.tab !== "home") return;
    // Acked at once: the channels, the queue and the links take more than Slack's 3 s at times.
    deps.background("app_home_opened", () => refresher.opened(event.user));
  });
}

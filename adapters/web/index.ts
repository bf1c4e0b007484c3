// The web inbox as the core sees it (src/chat/platform.ts): a chat platform for teams without a
// chat workspace, served by this service itself. Its threads live in this database (store.ts,
// migrations/20261223000000_web_inbox.ts); the console's signed-in users read and answer them at
// /inbox, live (router.ts). On with WEB_INBOX=on; an account is routed to an inbox by name
// (`accounts add … --web-channel support`).

import { z } from "zod";
import { definePlatform, type PlatformRuntime } from "../../src/chat/platform.ts";
import { credential, intInRange, variable } from "../../src/config/env-schema.ts";
import type { WebAdapter } from "./adapter.ts";
import type { LiveHub } from "./live.ts";
import { PLATFORM } from "./view.ts";

const webEnv = {
  WEB_INBOX: variable(z.literal("on", { error: "expected on (leave it unset for off)" }), {
    doc: "`on` turns on the web inbox: a chat platform inside the console (`/inbox`) for teams without Slack or Discord",
    example: "on",
  }),
  WEB_INBOX_STREAMS_PER_SESSION: variable(intInRange(1, 50, "streams"), {
    doc: "live event streams one console session may hold open (browser tabs on the inbox)",
    default: "6",
  }),
  WEB_INBOX_HEARTBEAT_SECONDS: variable(intInRange(1, 300, "seconds"), {
    doc: "how often an open inbox page's stream is pinged and its sign-in rechecked (a signed-out session's streams close then)",
    default: "20",
  }),
};

export interface WebSettings {
  streamsPerSession: number;
  heartbeatMs: number;
}

/** Hooks for the tests: what the platform made, once it is made. */
export interface WebPlatformHooks {
  created?(made: { adapter: WebAdapter; live: LiveHub }): void;
}

const CHANNEL = /^[a-z0-9][a-z0-9-]{0,39}$/;

export function webPlatform(hooks: WebPlatformHooks = {}) {
  return definePlatform<WebSettings, typeof webEnv>({
    name: PLATFORM,
    label: "Web inbox",
    env: webEnv,
    credentials: ["WEB_INBOX"],
    // Served by this service itself, with the console's sign-in: the demo's chat.
    demo: { env: { WEB_INBOX: "on" } },
    channel: {
      pattern: CHANNEL,
      example: "support",
      hint: "a name for the inbox, lower case letters, digits and dashes, such as support: it is made when an account is routed to it.",
    },
    // The groups of members.ts (named console users by role), fixed: `accounts settings` checks them.
    poolGroups: ["all", "admins", "agents"],
    refs: {
      user: {
        prefix: PLATFORM,
        example: "admin",
        what: "a console user (as signed in: a named user's name, `admin` for the shared password, the proxy's user name); named users of the role admin are admins without it",
      },
    },
    settings: (e) => {
      credential(e.WEB_INBOX, "WEB_INBOX");
      return {
        streamsPerSession: e.WEB_INBOX_STREAMS_PER_SESSION ?? 6,
        heartbeatMs: (e.WEB_INBOX_HEARTBEAT_SECONDS ?? 20) * 1000,
      };
    },
    summary: (_s, { publicUrl }) =>
      `threads in this database; the inbox at ${publicUrl}/inbox for console users`,
    async create(s, { db, log, inbox, roles, console }) {
      const { WebStore } = await import("./store.ts");
      const { LiveHub } = await import("./live.ts");
      const { WebAdapter } = await import("./adapter.ts");
      const store = new WebStore(db);
      const live = new LiveHub(db, store, log);
      const adapter = new WebAdapter(store, live);
      const { consoleUserDirectory } = await import("./members.ts");
      hooks.created?.({ adapter, live });
      const runtime: PlatformRuntime = {
        adapter,
        files: adapter,
        members: consoleUserDirectory(db),
        stored: {
          purge: (before) => store.purge(before),
          export: (threads, leaveOut) => store.export(threads, leaveOut),
        },
        close: () => live.close(),
      };
      if (!roles.web) return runtime;
      // Only the web role holds pages open: it alone listens for the other processes' changes.
      await live.listen();
      const { WebPeople } = await import("./people.ts");
      const { webRouter } = await import("./router.ts");
      const people = new WebPeople({ store, adapter, live, inbox });
      const { router, hangUp } = webRouter({
        store,
        live,
        people,
        gate: console,
        channel: CHANNEL,
        log,
        streamsPerSession: s.streamsPerSession,
        streamsMax: 1000,
        heartbeatMs: s.heartbeatMs,
      });
      return { ...runtime, router, hangUp, consolePages: [{ href: "/inbox", label: "Inbox" }] };
    },
  });
}

export const web = webPlatform();

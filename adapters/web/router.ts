import { readFileSync } from "node:fs";
import express from "express";
import type { ConsoleGate } from "../../src/chat/platform.ts";
import { problemPage, setupPage } from "../../src/http/console/layout.ts";
import { secured } from "../../src/http/console/middleware.ts";
import type { ConsoleSession } from "../../src/http/console/session.ts";
import type { Logger } from "../../src/log/logger.ts";
import type { LiveEvent, LiveHub } from "./live.ts";
import { inboxesPage, inboxPage, postHtml, threadItemHtml, threadPage, toldPage } from "./pages.ts";
import { EMOJI, type Told, type Upload, WebPeople } from "./people.ts";
import type { WebStore } from "./store.ts";
import { BASE, threadHref, type WebPost } from "./view.ts";

// The web inbox's HTTP side (the descriptor's `router`), for the console's signed-in users: the
// inbox's pages, the live stream of what changes in them (Server-Sent Events), and the forms people
// use (a reply, a button, an emoji, `/ig`). The forms work without the page's script (a POST answered
// with a page); with it (inbox.js) they are sent as JSON and answered with JSON.

export interface WebRouterOptions {
  store: WebStore;
  live: LiveHub;
  people: WebPeople;
  gate: ConsoleGate | undefined;
  channel: RegExp;
  log: Logger;
  /** Open event streams one session may hold (tabs); past it the answer is 429. */
  streamsPerSession: number;
  /** All open streams of this process. */
  streamsMax: number;
  /** How often a stream is sent a comment (keeping proxies from closing it) and its session rechecked. */
  heartbeatMs: number;
}

const STATIC = {
  js: readFileSync(new URL("./inbox.js", import.meta.url), "utf8"),
  css: readFileSync(new URL("./inbox.css", import.meta.url), "utf8"),
};
// The console's policy, with the inbox's own script and live stream, and Instagram's pictures.
const POLICY = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self' https:",
  "script-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");
const MAX_TEXT = 4000;
const MAX_UPLOAD = 8 * 1024 * 1024;

const policy: express.RequestHandler = (_req, res, next) => {
  res.set("content-security-policy", POLICY);
  next();
};
const bodies = [
  express.json({ limit: Math.ceil(MAX_UPLOAD * 1.4) }),
  express.urlencoded({ extended: false, limit: "16kb", parameterLimit: 20 }),
];

/** The script's requests ask for JSON; a plain form post gets a page. */
const wantsJson = (req: express.Request) => req.is("application/json") === "application/json";
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

interface Stream {
  session: ConsoleSession;
  end(): void;
}

export function webRouter(o: WebRouterOptions): { router: express.Router; hangUp(): void } {
  const router = express.Router();
  const streams = new Set<Stream>();
  const perSession = new Map<string, number>();

  router.get(`${BASE}/inbox.js`, (_req, res) => {
    res.type("js").set("cache-control", "no-cache").send(STATIC.js);
  });
  router.get(`${BASE}/inbox.css`, (_req, res) => {
    res.type("css").set("cache-control", "no-cache").send(STATIC.css);
  });

  /** The signed-in session, or the answer is sent (as the console answers) and undefined returned. */
  const signedIn = async (req: express.Request, res: express.Response) => {
    if (!o.gate) {
      res.status(503).type("html").send(setupPage());
      return undefined;
    }
    return o.gate.signedIn(req, res);
  };

  /** A POST of a signed-in user with the session's CSRF token. */
  const poster = async (req: express.Request, res: express.Response) => {
    const session = await signedIn(req, res);
    if (!session) return undefined;
    if (!o.gate?.csrfOk(req, session)) {
      o.log.warn({ user: session.user, path: req.path }, "web inbox: CSRF check failed");
      if (wantsJson(req))
        res
          .status(403)
          .json({ ok: false, error: "csrf", told: "The page had expired. Reload it and try again." });
      else
        res
          .status(403)
          .type("html")
          .send(
            problemPage(
              "Not done",
              "The page had expired. Reload it and try again.",
              { href: BASE, label: "Back to the inbox" },
              session,
            ),
          );
      return undefined;
    }
    return { session, user: WebPeople.agent(session) };
  };

  const channelOf = (req: express.Request, res: express.Response, session: ConsoleSession) => {
    const channel = str(req.params.channel) ?? "";
    if (o.channel.test(channel)) return channel;
    res
      .status(404)
      .type("html")
      .send(
        problemPage(
          "No such inbox",
          `“${channel}” is not an inbox name.`,
          { href: BASE, label: "Back to the inbox" },
          session,
        ),
      );
    return undefined;
  };

  /** The thread's root in the request's channel, or a 404 sent. */
  const rootOf = async (req: express.Request, res: express.Response, session: ConsoleSession) => {
    const channel = channelOf(req, res, session);
    if (!channel) return undefined;
    const root = await o.store.get(str(req.params.thread) ?? "");
    if (root && root.channel === channel && root.thread === root.id) return root;
    if (wantsJson(req)) res.status(404).json({ ok: false, error: "no_thread" });
    else
      res
        .status(404)
        .type("html")
        .send(
          problemPage(
            "No such thread",
            "It may have been erased.",
            { href: BASE, label: "Back to the inbox" },
            session,
          ),
        );
    return undefined;
  };

  /** A post of the request's thread, or a 404 sent. */
  const postOf = async (req: express.Request, res: express.Response, session: ConsoleSession) => {
    const root = await rootOf(req, res, session);
    if (!root) return undefined;
    const post = await o.store.get(str(req.params.post) ?? "");
    if (post && post.thread === root.id) return post;
    if (wantsJson(req)) res.status(404).json({ ok: false, error: "no_message" });
    else
      res
        .status(404)
        .type("html")
        .send(
          problemPage(
            "No such message",
            "It may have been deleted.",
            { href: BASE, label: "Back to the inbox" },
            session,
          ),
        );
    return undefined;
  };

  const answer = (
    req: express.Request,
    res: express.Response,
    session: ConsoleSession,
    back: string,
    told: Told | undefined,
    extra: Record<string, unknown> = {},
  ) => {
    if (wantsJson(req)) res.json({ ok: true, ...extra, ...(told ? { told } : {}) });
    // A file (an export) for a plain form: the answer is the download itself.
    else if (told?.file) res.type(told.file.mimeType).attachment(told.file.name).send(told.file.content);
    else if (told?.text) res.type("html").send(toldPage(session, told.text, back));
    else res.redirect(303, back);
  };

  router.get(BASE, secured, policy, async (req, res) => {
    const session = await signedIn(req, res);
    if (!session) return;
    const channels = await o.store.channels("web");
    if (channels.length === 1) res.redirect(303, `${BASE}/${encodeURIComponent(channels[0] as string)}`);
    else res.type("html").send(inboxesPage(session, channels));
  });

  router.get(`${BASE}/files/:id`, secured, async (req, res) => {
    const session = await signedIn(req, res);
    if (!session) return;
    const file = await o.store.file(str(req.params.id) ?? "");
    if (!file) {
      res
        .status(404)
        .type("html")
        .send(
          problemPage(
            "No such file",
            "It may have been erased.",
            { href: BASE, label: "Back to the inbox" },
            session,
          ),
        );
      return;
    }
    // Sent as a download under a neutral type: a file someone attached is never run as a page here.
    res
      .type(/^image\/(png|jpeg|gif|webp)$/.test(file.mimeType) ? file.mimeType : "application/octet-stream")
      .attachment(file.name)
      .send(file.data);
  });

  router.get(`${BASE}/:channel`, secured, policy, async (req, res) => {
    const session = await signedIn(req, res);
    if (!session) return;
    const channel = channelOf(req, res, session);
    if (!channel) return;
    res
      .type("html")
      .send(inboxPage(session, channel, await o.store.roots(channel), await o.store.topLevel(channel)));
  });

  router.get(`${BASE}/:channel/t/:thread`, secured, policy, async (req, res) => {
    const session = await signedIn(req, res);
    if (!session) return;
    const root = await rootOf(req, res, session);
    if (!root) return;
    res.type("html").send(threadPage(session, await o.store.thread(root.id)));
    // Opening a conversation is reading it: Instagram's seen mark for the customer.
    if (session.user && root.view.kind === "root") await o.people.opened(WebPeople.agent(session), root);
  });

  router.post(`${BASE}/:channel/t/:thread/messages`, secured, ...bodies, async (req, res) => {
    const who = await poster(req, res);
    if (!who) return;
    const root = await rootOf(req, res, who.session);
    if (!root) return;
    const text = (str(req.body?.text) ?? "").slice(0, MAX_TEXT);
    const uploads = uploadsOf(req.body?.files);
    if (!text.trim() && uploads.length === 0) {
      answer(req, res, who.session, threadHref(root.channel, root.id), { text: "Write something first." });
      return;
    }
    // A quote names a message of this same thread (people.say checks), never another's.
    const said = await o.people.say(who.user, root, text, uploads, str(req.body?.quote));
    answer(
      req,
      res,
      who.session,
      threadHref(root.channel, root.id),
      said.told,
      said.id ? { id: said.id } : {},
    );
  });

  router.post(`${BASE}/:channel/t/:thread/posts/:post/press`, secured, ...bodies, async (req, res) => {
    const who = await poster(req, res);
    if (!who) return;
    const post = await postOf(req, res, who.session);
    if (!post) return;
    const told = await o.people.press(who.user, post, str(req.body?.action) ?? "", {
      pick: str(req.body?.pick),
      text: str(req.body?.text)?.slice(0, MAX_TEXT),
    });
    answer(req, res, who.session, threadHref(post.channel, post.thread ?? post.id), told);
  });

  router.post(`${BASE}/:channel/t/:thread/posts/:post/react`, secured, ...bodies, async (req, res) => {
    const who = await poster(req, res);
    if (!who) return;
    const post = await postOf(req, res, who.session);
    if (!post) return;
    const emoji = str(req.body?.emoji) ?? "";
    const told = (EMOJI as readonly string[]).includes(emoji)
      ? await o.people.react(who.user, post, emoji)
      : { text: "That emoji is not offered here." };
    answer(req, res, who.session, threadHref(post.channel, post.thread ?? post.id), told);
  });

  router.post(`${BASE}/:channel/t/:thread/posts/:post/delete`, secured, ...bodies, async (req, res) => {
    const who = await poster(req, res);
    if (!who) return;
    const post = await postOf(req, res, who.session);
    if (!post) return;
    answer(
      req,
      res,
      who.session,
      threadHref(post.channel, post.thread ?? post.id),
      await o.people.delete(who.user, post),
    );
  });

  router.post(`${BASE}/:channel/commands`, secured, ...bodies, async (req, res) => {
    const who = await poster(req, res);
    if (!who) return;
    const channel = channelOf(req, res, who.session);
    if (!channel) return;
    const line = (str(req.body?.text) ?? "")
      .trim()
      .replace(/^\/ig\s*/i, "")
      .slice(0, MAX_TEXT);
    let root: WebPost | undefined;
    const thread = str(req.body?.thread);
    if (thread) {
      root = await o.store.get(thread);
      if (!root || root.channel !== channel || root.thread !== root.id) {
        answer(req, res, who.session, `${BASE}/${encodeURIComponent(channel)}`, { text: "No such thread." });
        return;
      }
    }
    const told = await o.people.command(who.user, channel, root, line);
    answer(req, res, who.session, `${BASE}/${encodeURIComponent(channel)}`, told);
  });

  // The live stream of one inbox (or one thread of it): each change as an event whose data is the
  // changed message rendered for this session, or what was told to this user alone.
  router.get(`${BASE}/:channel/events`, secured, async (req, res) => {
    const session = await signedIn(req, res);
    if (!session) return;
    const channel = channelOf(req, res, session);
    if (!channel) return;
    const thread = str(req.query.thread);
    const open = perSession.get(session.sid) ?? 0;
    if (open >= o.streamsPerSession || streams.size >= o.streamsMax) {
      res
        .status(429)
        .set("retry-after", "30")
        .json({ error: "too_many_streams", detail: "close another inbox tab" });
      return;
    }
    perSession.set(session.sid, open + 1);
    res.status(200).set({
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      // nginx and the like would otherwise hold events back.
      "x-accel-buffering": "no",
    });
    res.flushHeaders();
    res.write("retry: 3000\n\n");
    const send = (event: string, data: unknown) =>
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const onEvent = (e: LiveEvent) => {
      if (e.kind === "post") {
        if (e.post.channel !== channel) return;
        if (thread && e.post.thread !== thread) return;
        if (!thread && e.post.thread !== undefined && e.post.thread !== e.post.id) {
          send("activity", { thread: e.post.thread });
          return;
        }
        send("post", {
          id: e.post.id,
          thread: e.post.thread ?? null,
          html: postHtml(session, e.post).value,
          ...(e.post.thread === e.post.id ? { item: threadItemHtml(e.post).value } : {}),
        });
      } else if (e.kind === "gone") {
        if (e.channel === channel && (!thread || e.thread === thread))
          send("gone", { id: e.post, thread: e.thread ?? null });
      } else if (e.to === session.user && e.channel === channel && (!thread || e.thread === thread))
        send("told", { text: e.text });
    };
    const unsubscribe = o.live.subscribe(onEvent);
    let ended = false;
    const stream: Stream = {
      session,
      end: () => {
        if (ended) return;
        ended = true;
        clearInterval(beat);
        unsubscribe();
        streams.delete(stream);
        const n = (perSession.get(session.sid) ?? 1) - 1;
        if (n > 0) perSession.set(session.sid, n);
        else perSession.delete(session.sid);
        res.end();
      },
    };
    streams.add(stream);
    const beat = setInterval(() => {
      void (async () => {
        if (await o.gate?.ended(session).catch(() => false)) {
          send("signedout", {});
          stream.end();
        } else res.write(": ping\n\n");
      })();
    }, o.heartbeatMs);
    beat.unref();
    req.on("close", () => stream.end());
  });

  return {
    router,
    hangUp() {
      for (const s of [...streams]) s.end();
    },
  };
}

function uploadsOf(raw: unknown): Upload[] {
  if (!Array.isArray(raw)) return [];
  const out: Upload[] = [];
  let total = 0;
  for (const f of raw.slice(0, 4)) {
    if (!f || typeof f !== "object") continue;
    const { name, mimeType, data } = f as Record<string, unknown>;
    if (typeof name !== "string" || typeof mimeType !== "string" || typeof data !== "string") continue;
    const bytes = Buffer.from(data, "base64");
    total += bytes.length;
    if (total > MAX_UPLOAD) break;
    out.push({
      name: name.slice(0, 200),
      mimeType: /^[\w.+-]+\/[\w.+-]+$/.test(mimeType) ? mimeType : "application/octet-stream",
      data: bytes,
    });
  }
  return out;
}

// Discord's REST API as the fake answers it: routing, auth, the limits Discord enforces, programmed
// faults and rate limits. Error bodies and codes follow Discord's (`{code, message}`, 50035 with
// `errors`), because @discordjs/rest turns them into DiscordAPIError with those fields.

import type { IncomingMessage, ServerResponse } from "node:http";
import {
  asString,
  CHANNEL_FORUM,
  CHANNEL_PRIVATE_THREAD,
  CHANNEL_PUBLIC_THREAD,
  CHANNEL_TEXT,
  type FakeAttachment,
  type FakeChannel,
  type FakeMessage,
  type FakeWebhook,
  formError,
  isObject,
  isThread,
  type Json,
  snowflake,
  userPayload,
} from "./model.ts";
import {
  type DiscordState,
  type InteractionRecord,
  PERMISSION,
  PostError,
  type RecordedFile,
  responseMessage,
} from "./state.ts";
import {
  type Answer,
  autoArchive,
  commandJson,
  forumTagsError,
  guildUnknown,
  type MessageInput,
  messageInput,
  ok,
  parseBody,
  prefixErrors,
  threadNameError,
  tooMany,
  webhookNameError,
} from "./validate.ts";

export interface RecordedCall {
  method: string;
  /** The route after `/api/v10` (e.g. `/channels/1/messages`), or `/attachments/…` for file fetches. */
  path: string;
  query: Record<string, string>;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** Parsed JSON, or `payload_json` of a multipart body; undefined when there was none. */
  body: unknown;
  files: RecordedFile[];
  /** The status the fake answered (0 until answered). */
  status: number;
  at: number;
}

interface RateLimit {
  pattern: RegExp;
  limit: number;
  retryAfterMs: number;
  used: number;
  resetAt: number;
  bucket: string;
}

interface Fault {
  remaining: number;
  status: 500 | 502 | 429;
  path?: RegExp;
}

interface Ctx {
  method: string;
  path: string;
  query: URLSearchParams;
  body: Json;
  /** The parsed body before object narrowing (command lists are arrays). */
  raw: unknown;
  files: RecordedFile[];
}

type Handler = (ctx: Ctx, params: string[]) => Answer;

const EPHEMERAL = 64;
const LOADING = 128;

const noContent = (): Answer => ({ status: 204 });
const unknownChannel = (): Answer => ok({ code: 10003, message: "Unknown Channel" }, 404);
const unknownMessage = (): Answer => ok({ code: 10008, message: "Unknown Message" }, 404);
const unknownWebhook = (): Answer => ok({ code: 10015, message: "Unknown Webhook" }, 404);
const unknownInteraction = (): Answer => ok({ code: 10062, message: "Unknown interaction" }, 404);
const badRequest = (body: Json): Answer => ok(body, 400);
const missingAccess = (): Answer => ok({ code: 50001, message: "Missing Access" }, 403);
const missingPermissions = (): Answer => ok({ code: 50013, message: "Missing Permissions" }, 403);

export class Rest {
  readonly calls: RecordedCall[] = [];
  readonly rateLimits: RateLimit[] = [];
  readonly faults: Fault[] = [];
  /** Ephemeral interaction messages: real messages that only their user sees, so not in channels. */
  readonly ephemeral = new Map<string, FakeMessage>();
  /** Direct message channels the bot opened (POST /users/@me/channels): their recipient and the
   * bot's messages in them. The bot has no DIRECT_MESSAGES intent, so nothing is dispatched. */
  readonly dms = new Map<string, { recipientId: string; messages: FakeMessage[] }>();
  readonly #state: DiscordState;
  readonly #routes: Array<{ method: string; re: RegExp; handler: Handler; auth: boolean }> = [];
  gatewayUrl = "";

  constructor(state: DiscordState) {
    this.#state = state;
    this.#register();
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? "/", "http://fake");
    const method = (req.method ?? "GET").toUpperCase();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = String(v);
    const call: RecordedCall = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      body: undefined,
      files: [],
      status: 0,
      at: Date.now(),
    };
    this.calls.push(call);
    const send = (answer: Answer): void => {
      call.status = answer.status;
      const out: Record<string, string> = { ...answer.headers };
      if (answer.body === undefined) {
        res.writeHead(answer.status, out).end();
        return;
      }
      // A length rather than chunked encoding: one write per answer.
      const body = Buffer.isBuffer(answer.body) ? answer.body : Buffer.from(JSON.stringify(answer.body));
      if (!Buffer.isBuffer(answer.body)) out["content-type"] = "application/json";
      out["content-length"] = String(body.length);
      res.writeHead(answer.status, out).end(body);
    };

    const file = /^\/attachments\/\d+\/(\d+)\//.exec(url.pathname);
    if (file) {
      const found = this.#state.files.get(file[1] ?? "");
      send(
        found
          ? { status: 200, body: found.data, headers: { "content-type": found.contentType } }
          : { status: 404, body: Buffer.from("Not Found"), headers: { "content-type": "text/plain" } },
      );
      return;
    }
    const api = /^\/api\/v\d+(\/.*)$/.exec(url.pathname);
    if (!api?.[1]) {
      send(ok({ code: 0, message: "404: Not Found" }, 404));
      return;
    }
    // Routes.user("@me") arrives percent-encoded, which Discord reads as the "@me" it means.
    const path = api[1].replace(/%40/gi, "@");
    call.path = path;

    let parsed: { body: Json; files: RecordedFile[]; raw: unknown };
    try {
      parsed = await parseBody(raw, headers["content-type"] ?? "");
    } catch {
      send(ok({ code: 50109, message: "The request body contains invalid JSON." }, 400));
      return;
    }
    call.body = parsed.raw;
    call.files = parsed.files;

    const fault = this.#takeFault(path);
    if (fault) {
      send(fault);
      return;
    }
    for (const route of this.#routes) {
      if (route.method !== method) continue;
      const match = route.re.exec(path);
      if (!match) continue;
      if (route.auth && headers.authorization !== `Bot ${this.#state.token}`) {
        send(ok({ code: 0, message: "401: Unauthorized" }, 401));
        return;
      }
      const limited = this.#rateLimit(path);
      if (limited) {
        send(limited);
        return;
      }
      const params = match.slice(1).map((p) => decodeURIComponent(p ?? ""));
      try {
        send(
          route.handler(
            {
              method,
              path,
              query: url.searchParams,
              body: parsed.body,
              raw: parsed.raw,
              files: parsed.files,
            },
            params,
          ),
        );
      } catch (err) {
        if (err instanceof PostError) send(ok(err.body, err.status));
        else send(ok({ code: 0, message: `fake discord: ${String(err)}` }, 500));
      }
      return;
    }
    send(ok({ code: 0, message: "404: Not Found" }, 404));
  }

  setRateLimit(pattern: RegExp, opts: { remainingBeforeLimit: number; retryAfterMs: number }): void {
    this.rateLimits.push({
      pattern,
      limit: opts.remainingBeforeLimit,
      retryAfterMs: opts.retryAfterMs,
      used: 0,
      resetAt: 0,
      bucket: `fake-bucket-${this.rateLimits.length}`,
    });
  }

  failNext(n: number, opts: { status: 500 | 502 | 429; path?: RegExp }): void {
    const fault: Fault = { remaining: n, status: opts.status };
    if (opts.path) fault.path = opts.path;
    this.faults.push(fault);
  }

  #takeFault(path: string): Answer | undefined {
    const fault = this.faults.find((f) => f.remaining > 0 && (!f.path || f.path.test(path)));
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.status === 429) return tooMany(50, "fake-fault", false);
    return ok(
      { code: 0, message: fault.status === 500 ? "500: Internal Server Error" : "502: Bad Gateway" },
      fault.status,
    );
  }

  // Successful calls carry no X-RateLimit headers, so @discordjs/rest can't see the limit coming
  // and meets the 429 itself, like it does with Discord's undisclosed sub-limits.
  #rateLimit(path: string): Answer | undefined {
    const limit = this.rateLimits.find((l) => l.pattern.test(path));
    if (!limit) return undefined;
    const now = Date.now();
    if (now >= limit.resetAt) {
      limit.used = 0;
      limit.resetAt = now + limit.retryAfterMs;
    }
    if (limit.used < limit.limit) {
      limit.used += 1;
      return undefined;
    }
    return tooMany(Math.max(1, limit.resetAt - now), limit.bucket, true, limit.limit);
  }

  #route(method: string, pattern: string, handler: Handler, auth = true): void {
    const re = new RegExp(`^${pattern.replaceAll(":id", "([^/]+)")}$`);
    this.#routes.push({ method, re, handler, auth });
  }

  #channel(id: string): FakeChannel | undefined {
    return this.#state.channels.get(id);
  }

  /** Discord's refusal when the bot lacks a permission in `channel` (its parent's, for a thread):
   * Missing Access without View Channel, else Missing Permissions. The main guild's only. */
  #refuse(channel: FakeChannel, ...needed: bigint[]): Answer | undefined {
    const s = this.#state;
    if (s.guildOf(channel) !== s.guildId) return undefined;
    const perms = s.botPermissionsIn(channel);
    if ((perms & PERMISSION.ViewChannel) === 0n) return missingAccess();
    return needed.some((bit) => (perms & bit) === 0n) ? missingPermissions() : undefined;
  }

  #register(): void {
    const s = this.#state;
    const r = (m: string, p: string, h: Handler, auth = true): void => this.#route(m, p, h, auth);

    r("GET", "/gateway/bot", () =>
      ok({
        url: this.gatewayUrl,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 },
      }),
    );
    r("GET", "/gateway", () => ok({ url: this.gatewayUrl }), false);
    r("GET", "/users/@me", () => ok(userPayload(s.bot)));
    r("POST", "/users/@me/channels", (c) => {
      const recipient = s.users.get(asString(c.body.recipient_id) ?? "");
      if (!recipient) return ok({ code: 10013, message: "Unknown User" }, 404);
      let id = [...this.dms].find(([, dm]) => dm.recipientId === recipient.id)?.[0];
      if (!id) {
        id = snowflake();
        this.dms.set(id, { recipientId: recipient.id, messages: [] });
      }
      return ok({ id, type: 1, last_message_id: null, flags: 0, recipients: [userPayload(recipient)] });
    });
    r("GET", "/users/:id", (_c, [id]) => {
      const user = s.users.get(id ?? "");
      return user ? ok(userPayload(user)) : ok({ code: 10013, message: "Unknown User" }, 404);
    });
    const application = (): Answer =>
      ok({
        id: s.applicationId,
        name: "threadbridge",
        icon: null,
        description: "",
        bot_public: false,
        bot_require_code_grant: false,
        verify_key: "0".repeat(64),
        flags: s.applicationFlags(),
        bot: userPayload(s.bot),
        owner: { id: "1", username: "owner", discriminator: "0", avatar: null, global_name: null },
      });
    r("GET", "/applications/@me", application);
    r("GET", "/oauth2/applications/@me", application);

    r("GET", "/guilds/:id", (_c, [gid]) => (gid === s.guildId ? ok(s.guildJson()) : guildUnknown()));
    r("GET", "/guilds/:id/channels", (_c, [gid]) =>
      gid === s.guildId
        ? ok([...s.channels.values()].filter((c) => !isThread(c)).map((c) => s.channelJson(c)))
        : guildUnknown(),
    );
    r("GET", "/guilds/:id/threads/active", () => {
      const threads = [...s.channels.values()].filter((c) => isThread(c) && !c.archived);
      return ok({ threads: threads.map((c) => s.channelJson(c)), members: [] });
    });
    r("GET", "/guilds/:id/roles", () => ok((s.guildJson().roles as unknown[]) ?? []));
    // List Guild Members: sorted by user id, `limit` (1–1000, default 1) after the user id `after`.
    r("GET", "/guilds/:id/members", (c, [gid]) => {
      if (gid !== s.guildId) return guildUnknown();
      const limit = Math.min(1000, Math.max(1, Number(c.query.get("limit") ?? "1")));
      const after = BigInt(c.query.get("after") ?? "0");
      const members = [s.bot, ...s.users.values()]
        .filter((u) => BigInt(u.id) > after)
        .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1))
        .slice(0, limit);
      return ok(members.map((u) => s.memberJson(u)));
    });
    r("GET", "/guilds/:id/members/:id", (_c, [, uid]) => {
      const user = s.users.get(uid ?? "");
      return user ? ok(s.memberJson(user)) : ok({ code: 10007, message: "Unknown Member" }, 404);
    });

    r("GET", "/channels/:id", (_c, [id]) => {
      const channel = this.#channel(id ?? "");
      if (!channel) return unknownChannel();
      return this.#refuse(channel) ?? ok(s.channelJson(channel));
    });
    r("PATCH", "/channels/:id", (c, [id]) => this.#patchChannel(c, id ?? ""));
    r("DELETE", "/channels/:id", (_c, [id]) => {
      const channel = this.#channel(id ?? "");
      if (!channel) return unknownChannel();
      s.channels.delete(channel.id);
      s.dispatch(isThread(channel) ? "THREAD_DELETE" : "CHANNEL_DELETE", s.channelJson(channel));
      return ok(s.channelJson(channel));
    });
    r("GET", "/channels/:id/threads/archived/public", (_c, [id]) => {
      const threads = [...s.channels.values()].filter((c) => c.parentId === id && c.archived);
      return ok({ threads: threads.map((c) => s.channelJson(c)), members: [], has_more: false });
    });
    r("PUT", "/channels/:id/thread-members/@me", noContent);
    r("DELETE", "/channels/:id/thread-members/@me", noContent);
    r("POST", "/channels/:id/typing", noContent);
    r("POST", "/channels/:id/threads", (c, [id]) => this.#createThread(c, id ?? ""));
    r("POST", "/channels/:id/messages/:id/threads", (c, [id, mid]) => {
      const channel = this.#channel(id ?? "");
      if (!channel) return unknownChannel();
      const message = s.message(channel.id, mid ?? "");
      if (!message || message.deleted) return unknownMessage();
      const name = asString(c.body.name) ?? "";
      const nameError = threadNameError(name);
      if (nameError) return badRequest(nameError);
      const thread = s.createThread(channel, {
        id: message.id,
        name,
        type: CHANNEL_PUBLIC_THREAD,
        ownerId: s.botUserId,
        ...autoArchive(c.body),
      });
      return ok(s.channelJson(thread), 201);
    });

    r("GET", "/channels/:id/messages", (c, [id]) => {
      const channel = this.#channel(id ?? "");
      if (!channel) return unknownChannel();
      const refused = this.#refuse(channel);
      if (refused) return refused;
      // Without Read Message History Discord answers with no messages rather than an error.
      if (this.#refuse(channel, PERMISSION.ReadMessageHistory)) return ok([]);
      return ok(this.#listMessages(channel.id, c.query));
    });
    r("GET", "/channels/:id/messages/:id", (_c, [id, mid]) => {
      if (!this.#channel(id ?? "")) return unknownChannel();
      const message = s.message(id ?? "", mid ?? "");
      return message && !message.deleted ? ok(s.messageJson(message)) : unknownMessage();
    });
    r("POST", "/channels/:id/messages", (c, [id]) => {
      const dm = this.dms.get(id ?? "");
      if (dm) return this.#directMessage(c, id ?? "", dm);
      const channel = this.#channel(id ?? "");
      if (!channel) return unknownChannel();
      const refused = this.#refuse(
        channel,
        isThread(channel) ? PERMISSION.SendMessagesInThreads : PERMISSION.SendMessages,
        ...(c.files.length > 0 ? [PERMISSION.AttachFiles] : []),
      );
      if (refused) return refused;
      const input = messageInput(c, true);
      if ("error" in input) return badRequest(input.error);
      if (input.replyTo && !s.message(channel.id, input.replyTo)) {
        return badRequest(
          formError("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"),
        );
      }
      const message = s.postMessage(channel, { ...input, author: s.bot });
      return ok(s.messageJson(message));
    });
    r("PATCH", "/channels/:id/messages/:id", (c, [id, mid]) => {
      if (!this.#channel(id ?? "")) return unknownChannel();
      const message = s.message(id ?? "", mid ?? "");
      if (!message || message.deleted) return unknownMessage();
      if (message.author.id !== s.botUserId || message.webhookId) {
        return ok({ code: 50005, message: "Cannot edit a message authored by another user" }, 403);
      }
      return this.#edit(message, c);
    });
    r("DELETE", "/channels/:id/messages/:id", (_c, [id, mid]) => {
      if (!this.#channel(id ?? "")) return unknownChannel();
      const message = s.message(id ?? "", mid ?? "");
      if (!message || message.deleted) return unknownMessage();
      s.deleteMessage(message);
      return noContent();
    });

    const reaction =
      (add: boolean, who: "me" | "param"): Handler =>
      (_c, [id, mid, emoji, uid]) => {
        const channel = this.#channel(id ?? "");
        if (!channel) return unknownChannel();
        const refused = this.#refuse(
          channel,
          PERMISSION.ReadMessageHistory,
          ...(add ? [PERMISSION.AddReactions] : []),
        );
        if (refused) return refused;
        const message = s.message(id ?? "", mid ?? "");
        if (!message || message.deleted) return unknownMessage();
        if (!emoji) return ok({ code: 10014, message: "Unknown Emoji" }, 400);
        s.react(message, emoji, who === "me" ? s.botUserId : (uid ?? ""), add);
        return noContent();
      };
    r("PUT", "/channels/:id/messages/:id/reactions/:id/@me", reaction(true, "me"));
    r("DELETE", "/channels/:id/messages/:id/reactions/:id/@me", reaction(false, "me"));
    r("DELETE", "/channels/:id/messages/:id/reactions/:id/:id", reaction(false, "param"));
    r("GET", "/channels/:id/messages/:id/reactions/:id", (_c, [id, mid, emoji]) => {
      const message = s.message(id ?? "", mid ?? "");
      if (!message || message.deleted) return unknownMessage();
      const users = [...(message.reactions.get(emoji ?? "") ?? [])];
      return ok(users.map((u) => userPayload(s.user(u))));
    });
    r("DELETE", "/channels/:id/messages/:id/reactions", (_c, [id, mid]) => {
      const message = s.message(id ?? "", mid ?? "");
      if (!message || message.deleted) return unknownMessage();
      message.reactions.clear();
      s.dispatch("MESSAGE_REACTION_REMOVE_ALL", { channel_id: id, message_id: mid, guild_id: s.guildId });
      return noContent();
    });

    r("POST", "/channels/:id/webhooks", (c, [id]) => {
      const channel = this.#channel(id ?? "");
      if (!channel) return unknownChannel();
      const refused = this.#refuse(channel, PERMISSION.ManageWebhooks);
      if (refused) return refused;
      if (isThread(channel))
        return badRequest({ code: 50024, message: "Cannot execute action on this channel type" });
      const name = asString(c.body.name) ?? "";
      const error = webhookNameError(name, "name");
      if (error) return badRequest(error);
      const webhook: FakeWebhook = {
        id: snowflake(),
        token: `wh-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`,
        channelId: channel.id,
        name,
        avatar: null,
      };
      s.webhooks.set(webhook.id, webhook);
      s.dispatch("WEBHOOKS_UPDATE", { guild_id: s.guildId, channel_id: channel.id });
      return ok(this.#webhookJson(webhook));
    });
    r("GET", "/channels/:id/webhooks", (_c, [id]) => {
      const channel = this.#channel(id ?? "");
      if (!channel) return unknownChannel();
      const refused = this.#refuse(channel, PERMISSION.ManageWebhooks);
      if (refused) return refused;
      return ok([...s.webhooks.values()].filter((w) => w.channelId === id).map((w) => this.#webhookJson(w)));
    });
    r("GET", "/guilds/:id/webhooks", () => ok([...s.webhooks.values()].map((w) => this.#webhookJson(w))));
    r("GET", "/webhooks/:id", (_c, [wid]) => {
      const webhook = s.webhooks.get(wid ?? "");
      return webhook ? ok(this.#webhookJson(webhook)) : unknownWebhook();
    });
    r("DELETE", "/webhooks/:id", (_c, [wid]) =>
      s.webhooks.delete(wid ?? "") ? noContent() : unknownWebhook(),
    );
    r(
      "GET",
      "/webhooks/:id/:id",
      (_c, [wid, token]) => {
        const webhook = s.webhooks.get(wid ?? "");
        return webhook && webhook.token === token ? ok(this.#webhookJson(webhook)) : unknownWebhook();
      },
      false,
    );
    r(
      "POST",
      "/webhooks/:id/:id",
      (c, [wid, token]) => this.#executeWebhook(c, wid ?? "", token ?? ""),
      false,
    );
    r(
      "GET",
      "/webhooks/:id/:id/messages/:id",
      (c, [wid, token, mid]) => this.#webhookMessage(c, wid, token, mid, "GET"),
      false,
    );
    r(
      "PATCH",
      "/webhooks/:id/:id/messages/:id",
      (c, [wid, token, mid]) => this.#webhookMessage(c, wid, token, mid, "PATCH"),
      false,
    );
    r(
      "DELETE",
      "/webhooks/:id/:id/messages/:id",
      (c, [wid, token, mid]) => this.#webhookMessage(c, wid, token, mid, "DELETE"),
      false,
    );

    r(
      "POST",
      "/interactions/:id/:id/callback",
      (c, [iid, token]) => this.#callback(c, iid ?? "", token ?? ""),
      false,
    );

    const commandsOf = (guildId: string | null): Answer =>
      ok(s.commands.filter((cmd) => cmd.guildId === guildId).map((cmd) => commandJson(s.applicationId, cmd)));
    const putCommands = (c: Ctx, appId: string, guildId: string | null): Answer => {
      if (appId !== s.applicationId) return ok({ code: 10002, message: "Unknown Application" }, 404);
      const list = Array.isArray(c.raw) ? c.raw : [];
      // A permission set is a bitfield in a string (or null: everyone); Discord refuses the rest.
      const badPermissions = list.findIndex(
        (body) =>
          isObject(body) &&
          body.default_member_permissions !== undefined &&
          body.default_member_permissions !== null &&
          !(
            typeof body.default_member_permissions === "string" &&
            /^\d+$/.test(body.default_member_permissions)
          ),
      );
      if (badPermissions >= 0)
        return ok(
          formError(
            `${badPermissions}.default_member_permissions`,
            "BASE_TYPE_BAD_TYPE",
            "Must be a permission set in a string, or null.",
          ),
          400,
        );
      const kept = s.commands.filter((cmd) => cmd.guildId !== guildId);
      s.commands.length = 0;
      s.commands.push(...kept);
      for (const body of list) {
        if (!isObject(body)) continue;
        const previous = kept.find((k) => k.body.name === body.name);
        s.commands.push({ id: previous?.id ?? snowflake(), guildId, body });
      }
      return commandsOf(guildId);
    };
    const postCommand = (c: Ctx, guildId: string | null): Answer => {
      const existing = s.commands.find((cmd) => cmd.guildId === guildId && cmd.body.name === c.body.name);
      if (existing) {
        existing.body = c.body;
        return ok(commandJson(s.applicationId, existing));
      }
      const cmd = { id: snowflake(), guildId, body: c.body };
      s.commands.push(cmd);
      return ok(commandJson(s.applicationId, cmd), 201);
    };
    const deleteCommand = (cid: string): Answer => {
      const i = s.commands.findIndex((cmd) => cmd.id === cid);
      if (i < 0) return ok({ code: 10063, message: "Unknown application command" }, 404);
      s.commands.splice(i, 1);
      return noContent();
    };
    r("GET", "/applications/:id/commands", () => commandsOf(null));
    r("PUT", "/applications/:id/commands", (c, [appId]) => putCommands(c, appId ?? "", null));
    r("POST", "/applications/:id/commands", (c) => postCommand(c, null));
    r("DELETE", "/applications/:id/commands/:id", (_c, [, cid]) => deleteCommand(cid ?? ""));
    r("GET", "/applications/:id/guilds/:id/commands", (_c, [, gid]) => commandsOf(gid ?? ""));
    r("PUT", "/applications/:id/guilds/:id/commands", (c, [appId, gid]) =>
      putCommands(c, appId ?? "", gid ?? ""),
    );
    r("POST", "/applications/:id/guilds/:id/commands", (c, [, gid]) => postCommand(c, gid ?? ""));
    r("DELETE", "/applications/:id/guilds/:id/commands/:id", (_c, [, , cid]) => deleteCommand(cid ?? ""));
  }

  #directMessage(c: Ctx, channelId: string, dm: { recipientId: string; messages: FakeMessage[] }): Answer {
    const s = this.#state;
    if (s.users.get(dm.recipientId)?.dmsClosed)
      return ok({ code: 50007, message: "Cannot send messages to this user" }, 403);
    const input = messageInput(c, true);
    if ("error" in input) return badRequest(input.error);
    const message: FakeMessage = {
      id: snowflake(),
      channelId,
      content: input.content ?? "",
      embeds: input.embeds ?? [],
      components: input.components ?? [],
      author: s.bot,
      reactions: new Map(),
      attachments: [],
      flags: 0,
      postedAt: Date.now(),
    };
    dm.messages.push(message);
    return ok({ ...s.messageJson(message), guild_id: undefined });
  }

  #webhookJson(w: FakeWebhook): Json {
    return {
      id: w.id,
      type: 1,
      guild_id: this.#state.guildId,
      channel_id: w.channelId,
      name: w.name,
      avatar: w.avatar,
      token: w.token,
      application_id: this.#state.applicationId,
      user: userPayload(this.#state.bot),
      url: `${this.#state.origin}/api/webhooks/${w.id}/${w.token}`,
    };
  }

  #patchChannel(c: Ctx, id: string): Answer {
    const s = this.#state;
    const channel = this.#channel(id);
    if (!channel) return unknownChannel();
    const b = c.body;
    // A thread's creator may rename and reopen it; anyone else needs Manage Threads, and changing
    // a channel (a forum's tags) needs Manage Channels.
    const refused = isThread(channel)
      ? this.#refuse(channel, ...(channel.ownerId === s.botUserId ? [] : [PERMISSION.ManageThreads]))
      : this.#refuse(channel, PERMISSION.ManageChannels);
    if (refused) return refused;
    if (b.name !== undefined) {
      const name = asString(b.name) ?? "";
      const error = isThread(channel)
        ? threadNameError(name)
        : name.length < 1 || name.length > 100
          ? formError("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
          : undefined;
      if (error) return badRequest(error);
      channel.name = name;
    }
    if (isThread(channel)) {
      if (typeof b.archived === "boolean") s.setArchived(channel, b.archived);
      if (typeof b.locked === "boolean") channel.locked = b.locked;
      if (typeof b.auto_archive_duration === "number") channel.autoArchiveDuration = b.auto_archive_duration;
      if (Array.isArray(b.applied_tags)) {
        const parent = this.#channel(channel.parentId ?? "");
        const tags = b.applied_tags.map(String);
        if (tags.length > 5)
          return badRequest(
            formError("applied_tags", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length."),
          );
        const unknown = tags.find((t) => !parent?.availableTags.some((a) => a.id === t));
        if (unknown) return badRequest(formError("applied_tags", "TAG_INVALID", `Unknown tag ${unknown}`));
        channel.appliedTags = tags;
      }
    } else if (channel.type === CHANNEL_FORUM && Array.isArray(b.available_tags)) {
      if (b.available_tags.length > 20) {
        return badRequest(
          formError("available_tags", "BASE_TYPE_MAX_LENGTH", "Must be 20 or fewer in length."),
        );
      }
      channel.availableTags = b.available_tags.filter(isObject).map((t) => ({
        id: asString(t.id) ?? snowflake(),
        name: asString(t.name) ?? "",
        moderated: t.moderated === true,
        emoji_id: asString(t.emoji_id) ?? null,
        emoji_name: asString(t.emoji_name) ?? null,
      }));
    }
    s.updateChannel(channel);
    return ok(s.channelJson(channel));
  }

  #createThread(c: Ctx, parentId: string): Answer {
    const s = this.#state;
    const parent = this.#channel(parentId);
    if (!parent) return unknownChannel();
    // A forum post is a message; a text channel's thread needs Create Public Threads.
    const refused = this.#refuse(
      parent,
      parent.type === CHANNEL_FORUM ? PERMISSION.SendMessages : PERMISSION.CreatePublicThreads,
    );
    if (refused) return refused;
    const name = asString(c.body.name) ?? "";
    const nameError = threadNameError(name);
    if (nameError) return badRequest(nameError);
    if (parent.type === CHANNEL_TEXT) {
      const type = c.body.type === CHANNEL_PUBLIC_THREAD ? CHANNEL_PUBLIC_THREAD : CHANNEL_PRIVATE_THREAD;
      const thread = s.createThread(parent, { name, type, ownerId: s.botUserId, ...autoArchive(c.body) });
      return ok(s.channelJson(thread), 201);
    }
    if (parent.type !== CHANNEL_FORUM)
      return badRequest({ code: 50024, message: "Cannot execute action on this channel type" });
    const message = c.body.message;
    if (!isObject(message))
      return badRequest(formError("message", "BASE_TYPE_REQUIRED", "This field is required"));
    const tags = Array.isArray(c.body.applied_tags) ? c.body.applied_tags.map(String) : [];
    const tagError = forumTagsError(parent, tags);
    if (tagError) return badRequest(tagError);
    const input = messageInput({ ...c, body: message }, true);
    if ("error" in input) return badRequest(prefixErrors(input.error, "message"));
    const id = snowflake();
    const thread = s.createThread(parent, {
      id,
      name,
      type: CHANNEL_PUBLIC_THREAD,
      ownerId: s.botUserId,
      appliedTags: tags,
      ...autoArchive(c.body),
    });
    const starter = s.postMessage(thread, { ...input, id, author: s.bot });
    return ok({ ...s.channelJson(thread), message: s.messageJson(starter) }, 201);
  }

  #listMessages(channelId: string, query: URLSearchParams): Json[] {
    const limit = Math.min(100, Math.max(1, Number(query.get("limit") ?? 50) || 50));
    const live = this.#state.messages(channelId).filter((m) => !m.deleted);
    const after = query.get("after");
    const before = query.get("before");
    const around = query.get("around");
    let picked: FakeMessage[];
    if (after) picked = live.filter((m) => BigInt(m.id) > BigInt(after)).slice(0, limit);
    else if (before) picked = live.filter((m) => BigInt(m.id) < BigInt(before)).slice(-limit);
    else if (around) {
      const i = Math.max(
        0,
        live.findIndex((m) => BigInt(m.id) >= BigInt(around)),
      );
      const start = Math.max(0, i - Math.floor(limit / 2));
      picked = live.slice(start, start + limit);
    } else picked = live.slice(-limit);
    return picked.reverse().map((m) => this.#state.messageJson(m));
  }

  #edit(message: FakeMessage, c: Ctx): Answer {
    const input = messageInput(c, false);
    if ("error" in input) return badRequest(input.error);
    const patch: Parameters<DiscordState["editMessage"]>[1] = {};
    if ("content" in c.body) patch.content = input.content ?? "";
    if ("embeds" in c.body) patch.embeds = input.embeds ?? [];
    if ("components" in c.body) patch.components = input.components ?? [];
    if ("attachments" in c.body || c.files.length > 0) patch.attachments = this.#keptAttachments(message, c);
    this.#state.editMessage(message, patch);
    return ok(this.#state.messageJson(message));
  }

  /** Edits list the attachments to keep by id; new files arrive as `files[n]`. */
  #keptAttachments(message: FakeMessage, c: Ctx): FakeAttachment[] {
    const listed = Array.isArray(c.body.attachments) ? c.body.attachments.filter(isObject) : [];
    const keepIds = new Set(listed.map((a) => asString(a.id)));
    const kept = message.attachments.filter((a) => keepIds.has(a.id));
    const added = c.files.map((f) => this.#state.storeFile(message.channelId, f));
    return [...kept, ...added];
  }

  #executeWebhook(c: Ctx, webhookId: string, token: string): Answer {
    const s = this.#state;
    if (webhookId === s.applicationId) return this.#followup(c, token);
    const webhook = s.webhooks.get(webhookId);
    if (!webhook || webhook.token !== token) return unknownWebhook();
    const parent = this.#channel(webhook.channelId);
    if (!parent) return unknownChannel();
    const input = messageInput(c, true);
    if ("error" in input) return badRequest(input.error);
    const username = c.body.username;
    if (username !== undefined) {
      const error = webhookNameError(asString(username) ?? "", "username");
      if (error) return badRequest(error);
    }
    const author = { id: webhook.id, username: asString(username) ?? webhook.name, bot: true };
    const base = {
      ...input,
      author,
      webhookId: webhook.id,
      ...(typeof username === "string" ? { username } : {}),
      ...(typeof c.body.avatar_url === "string" ? { avatarUrl: c.body.avatar_url } : {}),
    };
    const threadId = c.query.get("thread_id");
    const threadName = asString(c.body.thread_name);
    let target: FakeChannel;
    let message: FakeMessage;
    if (threadId) {
      const thread = this.#channel(threadId);
      if (!thread || !isThread(thread) || thread.parentId !== parent.id) return unknownChannel();
      target = thread;
      message = s.postMessage(target, base);
    } else if (parent.type === CHANNEL_FORUM) {
      if (!threadName) {
        return badRequest({
          code: 220001,
          message: "Webhooks posted to forum channels must have a thread_name or thread_id",
        });
      }
      const nameError = threadNameError(threadName);
      if (nameError) return badRequest(prefixErrors(nameError, "thread_name"));
      const tags = Array.isArray(c.body.applied_tags) ? c.body.applied_tags.map(String) : [];
      const tagError = forumTagsError(parent, tags);
      if (tagError) return badRequest(tagError);
      const id = snowflake();
      target = s.createThread(parent, {
        id,
        name: threadName,
        type: CHANNEL_PUBLIC_THREAD,
        ownerId: webhook.id,
        appliedTags: tags,
      });
      message = s.postMessage(target, { ...base, id });
    } else {
      if (threadName)
        return badRequest({ code: 220003, message: "Webhooks can only create threads in forum channels" });
      target = parent;
      message = s.postMessage(target, base);
    }
    return c.query.get("wait") === "true" ? ok(s.messageJson(message)) : noContent();
  }

  #webhookMessage(
    c: Ctx,
    webhookId: string | undefined,
    token: string | undefined,
    messageId: string | undefined,
    method: string,
  ): Answer {
    const s = this.#state;
    if (webhookId === s.applicationId)
      return this.#interactionMessage(c, token ?? "", messageId ?? "", method);
    const webhook = s.webhooks.get(webhookId ?? "");
    if (!webhook || webhook.token !== token) return unknownWebhook();
    const channelId = c.query.get("thread_id") ?? webhook.channelId;
    const message = s.message(channelId, messageId ?? "");
    if (!message || message.deleted || message.webhookId !== webhook.id) return unknownMessage();
    if (method === "GET") return ok(s.messageJson(message));
    if (method === "DELETE") {
      s.deleteMessage(message);
      return noContent();
    }
    return this.#edit(message, c);
  }

  #interaction(token: string): InteractionRecord | undefined {
    const record = this.#state.interactions.get(token);
    // Interaction tokens live 15 minutes.
    return record && Date.now() - record.createdAt < 15 * 60_000 ? record : undefined;
  }

  #callback(c: Ctx, interactionId: string, token: string): Answer {
    const s = this.#state;
    const record = this.#interaction(token);
    if (!record || record.id !== interactionId) return unknownInteraction();
    if (record.responses.some((r) => r.kind === "callback")) {
      return badRequest({ code: 40060, message: "Interaction has already been acknowledged." });
    }
    const type = typeof c.body.type === "number" ? c.body.type : 0;
    const data = isObject(c.body.data) ? c.body.data : {};
    const channel = this.#channel(record.channelId);
    if (!channel) return unknownChannel();
    let resource: Json | undefined;
    let answered: FakeMessage | undefined;
    if (type === 4 || type === 5) {
      const input = messageInput({ ...c, body: data }, type === 4);
      if ("error" in input) return badRequest(prefixErrors(input.error, "data"));
      const flags = typeof data.flags === "number" ? data.flags : 0;
      record.ephemeral = (flags & EPHEMERAL) !== 0;
      const message = this.#interactionPost(record, channel, {
        ...input,
        flags: type === 5 ? flags | LOADING : flags,
      });
      record.originalMessageId = message.id;
      answered = message;
      resource = { type, message: s.messageJson(message) };
    } else if (type === 6 || type === 7) {
      if (!record.sourceMessageId) return badRequest({ code: 50035, message: "Invalid Form Body" });
      record.originalMessageId = record.sourceMessageId;
      if (type === 7) {
        const source = s.message(record.channelId, record.sourceMessageId);
        if (!source) return unknownMessage();
        const result = this.#edit(source, { ...c, body: data });
        if (result.status !== 200) return result;
        answered = source;
      }
      resource = { type };
    } else if (type === 8) {
      // Autocomplete results: only to an autocomplete interaction, at most 25 choices.
      if (record.type !== 4) return badRequest({ code: 50035, message: "Invalid Form Body" });
      const choices = Array.isArray(data.choices) ? data.choices : [];
      if (choices.length > 25)
        return badRequest(
          formError("data.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."),
        );
      const bad = choices.findIndex(
        (ch) =>
          !isObject(ch) ||
          typeof ch.name !== "string" ||
          ch.name.length < 1 ||
          ch.name.length > 100 ||
          (typeof ch.value !== "string" && typeof ch.value !== "number") ||
          String(ch.value).length > 100,
      );
      if (bad >= 0)
        return badRequest(
          formError(`data.choices.${bad}`, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."),
        );
      resource = { type };
    } else if (type === 9) {
      if (typeof data.custom_id !== "string" || typeof data.title !== "string") {
        return badRequest(formError("data.custom_id", "BASE_TYPE_REQUIRED", "This field is required"));
      }
      resource = { type };
    } else {
      return badRequest(
        formError("type", "BASE_TYPE_CHOICES", `Value must be one of {1, 4, 5, 6, 7, 8, 9, 10, 12}.`),
      );
    }
    s.recordResponse(record, {
      kind: "callback",
      type,
      data,
      files: c.files,
      ...(answered ? { message: responseMessage(answered) } : {}),
    });
    if (c.query.get("with_response") !== "true") return noContent();
    return ok({
      interaction: {
        id: record.id,
        type: record.type,
        response_message_id: record.originalMessageId,
        response_message_loading: type === 5,
        response_message_ephemeral: record.ephemeral,
      },
      resource,
    });
  }

  #interactionPost(record: InteractionRecord, channel: FakeChannel, input: MessageInput): FakeMessage {
    const s = this.#state;
    const base = { ...input, author: s.bot, interactionId: record.id };
    if (((input.flags ?? 0) & EPHEMERAL) === 0) return s.postMessage(channel, base);
    const message: FakeMessage = {
      id: snowflake(),
      channelId: channel.id,
      content: input.content ?? "",
      embeds: input.embeds ?? [],
      components: input.components ?? [],
      author: s.bot,
      reactions: new Map(),
      attachments: (input.attachments ?? []).map((a) => s.storeFile(channel.id, a)),
      flags: input.flags ?? EPHEMERAL,
      interactionId: record.id,
      postedAt: Date.now(),
    };
    this.ephemeral.set(message.id, message);
    return message;
  }

  #followup(c: Ctx, token: string): Answer {
    const s = this.#state;
    const record = this.#interaction(token);
    if (!record) return unknownWebhook();
    if (!record.responses.some((r) => r.kind === "callback")) return unknownWebhook();
    const channel = this.#channel(record.channelId);
    if (!channel) return unknownChannel();
    const input = messageInput(c, true);
    if ("error" in input) return badRequest(input.error);
    const message = this.#interactionPost(record, channel, input);
    s.recordResponse(record, {
      kind: "followup",
      type: null,
      data: c.body,
      files: c.files,
      message: responseMessage(message),
    });
    return ok(s.messageJson(message));
  }

  #interactionMessage(c: Ctx, token: string, messageId: string, method: string): Answer {
    const s = this.#state;
    const record = this.#interaction(token);
    if (!record) return unknownWebhook();
    const id = messageId === "@original" ? record.originalMessageId : messageId;
    if (!id) return unknownMessage();
    const message = this.ephemeral.get(id) ?? s.message(record.channelId, id);
    if (!message || message.deleted) return unknownMessage();
    const original = messageId === "@original" || id === record.originalMessageId;
    if (method === "GET") return ok(s.messageJson(message));
    if (method === "DELETE") {
      if (this.ephemeral.has(id)) message.deleted = true;
      else s.deleteMessage(message);
      s.recordResponse(record, {
        kind: original ? "delete_original" : "delete_followup",
        type: null,
        data: {},
        files: [],
      });
      return noContent();
    }
    const input = messageInput(c, false);
    if ("error" in input) return badRequest(input.error);
    if (this.ephemeral.has(id)) {
      if ("content" in c.body) message.content = input.content ?? "";
      if ("embeds" in c.body) message.embeds = input.embeds ?? [];
      if ("components" in c.body) message.components = input.components ?? [];
      if ("attachments" in c.body || c.files.length > 0)
        message.attachments = this.#keptAttachments(message, c);
      message.flags &= ~LOADING;
      message.editedAt = Date.now();
    } else {
      message.flags &= ~LOADING;
      const result = this.#edit(message, c);
      if (result.status !== 200) return result;
    }
    s.recordResponse(record, {
      kind: original ? "edit_original" : "edit_followup",
      type: null,
      data: c.body,
      files: c.files,
      message: responseMessage(message),
    });
    return ok(s.messageJson(message));
  }
}

// A real local HTTP server standing in for graph.instagram.com: it records every request and
// answers from a per-test script (a queue of responses, consumed in order).

import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, the raw text when it is not JSON, undefined when empty. */
  body: unknown;
  /** When it arrived (Date.now()). */
  at: number;
}

export interface ScriptedResponse {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait this long before answering (for timeouts). */
  delayMs?: number;
}

export interface GraphServer {
  url: string;
  requests: RecordedRequest[];
  /** Queues responses for the next requests; an unscripted request gets a 599. */
  script(...responses: ScriptedResponse[]): void;
  close(): Promise<void>;
}

/** Answers requests no script is queued for (tests that need a whole Graph API, not one call). */
export type GraphResponder = (req: RecordedRequest) => ScriptedResponse | undefined;

export async function startGraphServer(respond?: GraphResponder): Promise<GraphServer> {
  const requests: RecordedRequest[] = [];
  const queue: ScriptedResponse[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown;
      try {
        body = text === "" ? undefined : JSON.parse(text);
      } catch {
        body = text;
      }
      const url = new URL(req.url ?? "/", "http://localhost");
      const recorded: RecordedRequest = {
        method: req.method ?? "",
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body,
        at: Date.now(),
      };
      requests.push(recorded);
      const next = queue.shift() ??
        respond?.(recorded) ?? { status: 599, body: { error: { message: "unscripted request" } } };
      const answer = () => {
        res.writeHead(next.status ?? 200, { "content-type": "application/json", ...next.headers });
        res.end(next.body === undefined ? "" : JSON.stringify(next.body));
      };
      if (next.delayMs) {
        const t = setTimeout(() => {
          timers.delete(t);
          if (!res.destroyed) answer();
        }, next.delayMs);
        timers.add(t);
      } else answer();
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (...responses) => {
      queue.push(...responses);
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface InstagramResponderOptions {
  /** Tokens Instagram no longer accepts (password changed, app removed): every call made with one
   * gets error 190. Tests add to it as they go. */
  invalidTokens?: ReadonlySet<string>;
  /** The accounts behind tokens: `GET /me` answers with the account, `GET /me/subscribed_apps` with
   * its webhook subscription (none: an empty `data`). A token not listed gets error 190 there. */
  accounts?: ReadonlyMap<
    string,
    {
      userId: string;
      username: string;
      subscribedFields: readonly string[];
      /** Answer its `GET /me/subscribed_apps` with this Graph error code (a permission missing: 10). */
      subscriptionError?: number;
    }
  >;
  /** The Conversations API (reference 4.2) by account id: its conversations, newest first, each
   * with its messages newest first. Tests change it as they go. */
  conversations?: Map<string, FakeConversation[]>;
  /** Answer a conversation's messages with `id` and `created_time` only (the documented form),
   * so each message must be read on its own; default: the inline fields are honoured. */
  conversationsIdsOnly?: boolean;
  /** Conversations per page of `GET /{IG_ID}/conversations`; default 2, so paging is used. */
  conversationsPageSize?: number;
  /** Each token's account's messaging profile (`/me/messenger_profile`, reference 2.9): the fields
   * set, as Instagram keeps them. Tests seed it and read it back; default: a fresh map. */
  messengerProfiles?: Map<string, Record<string, unknown>>;
  /** Each token's account's welcome message flows (`/me/welcome_message_flows`), as the list
   * answers them (`flow_id`, `name`, `welcome_message_flow`, `eligible_platforms`,
   * `last_update_time`, `is_used_in_ad`). Tests seed it and read it back; default: a fresh map. */
  welcomeFlows?: Map<string, Record<string, unknown>[]>;
  /** Flows per page of the list (Graph's cursor paging); default 25. */
  welcomeFlowsPageSize?: number;
  /** Answer the several-image form (`message.attachments`) with error 100, as an API version or
   * an account without it would; default: accepted (generally available since May 2026). */
  refuseSeveralImages?: boolean;
}

/** Why Instagram would refuse a generic template (reference 2.8), or undefined (also for any other
 * attachment). */
function templateProblem(attachment: unknown): string | undefined {
  const a = attachment as { type?: unknown; payload?: Record<string, unknown> } | undefined;
  if (a?.type !== "template") return undefined;
  if (a.payload?.template_type !== "generic") return "(#100) payload.template_type must be generic";
  const elements = a.payload.elements;
  if (!Array.isArray(elements) || elements.length === 0 || elements.length > 10)
    return "(#100) elements: 1 to 10";
  const text = (v: unknown) => typeof v === "string" && v !== "" && [...v].length <= 80;
  for (const e of elements as Record<string, unknown>[]) {
    if (!text(e.title)) return "(#100) element title: 1 to 80 characters";
    if (e.subtitle !== undefined && !text(e.subtitle)) return "(#100) element subtitle: 1 to 80 characters";
    const { title: _t, ...rest } = e;
    if (Object.keys(rest).length === 0) return "(#100) an element needs a property besides title";
    const known = ["subtitle", "image_url", "default_action", "buttons"];
    const unknown = Object.keys(rest).find((k) => !known.includes(k));
    if (unknown) return `(#100) element: unknown field ${unknown}`;
    const action = e.default_action as { type?: unknown; url?: unknown; title?: unknown } | undefined;
    if (action && (action.type !== "web_url" || typeof action.url !== "string" || action.title !== undefined))
      return "(#100) default_action: a web_url with a url and no title";
    const buttons = e.buttons;
    if (buttons === undefined) continue;
    if (!Array.isArray(buttons) || buttons.length === 0 || buttons.length > 3)
      return "(#100) buttons: 1 to 3";
    for (const b of buttons as Record<string, unknown>[]) {
      if (typeof b.title !== "string" || b.title === "") return "(#100) a button needs a title";
      if (
        b.type === "web_url"
          ? typeof b.url !== "string"
          : b.type === "postback"
            ? typeof b.payload !== "string"
            : true
      )
        return "(#100) buttons: web_url with a url or postback with a payload only";
    }
  }
  return undefined;
}

/** Why Instagram would refuse a send body's content (reference 2.2, 2.5), or undefined. */
function sendProblem(body: Record<string, unknown>): string | undefined {
  const message = body.message as Record<string, unknown> | undefined;
  const several = message?.attachments;
  if (several !== undefined) {
    if (!Array.isArray(several) || several.length === 0 || several.length > 10)
      return "(#100) attachments: 1 to 10 images";
    const image = (a: unknown) => {
      const item = a as { type?: unknown; payload?: { url?: unknown; attachment_id?: unknown } } | null;
      return (
        item?.type === "image" &&
        (typeof item.payload?.url === "string" || typeof item.payload?.attachment_id === "string")
      );
    };
    if (!several.every(image)) return "(#100) attachments: images only, each with a url or an attachment_id";
    if (message?.attachment !== undefined || message?.text !== undefined)
      return "(#100) attachments goes alone in a message";
  }
  const template = templateProblem(message?.attachment);
  if (template) return template;
  const action = body.sender_action;
  if (action === "react" || action === "unreact") {
    const payload = body.payload as { message_id?: unknown; reaction?: unknown } | undefined;
    if (typeof payload?.message_id !== "string" || payload.message_id === "")
      return "(#100) payload.message_id is required";
    if (action === "react" && (typeof payload.reaction !== "string" || payload.reaction === ""))
      return "(#100) payload.reaction is required";
    if (action === "unreact" && payload.reaction !== undefined) return "(#100) unreact takes no reaction";
    if (body.message !== undefined) return "(#100) a sender action goes without a message";
  } else if (action !== undefined && body.payload !== undefined)
    return "(#100) only react and unreact take a payload";
  return undefined;
}

/** A conversation as the Conversations API describes it. */
export interface FakeConversation {
  id: string;
  updated_time: string;
  messages: {
    id: string;
    created_time: string;
    from: { id: string; username?: string };
    to: { data: { id: string; username?: string }[] };
    message?: string;
    attachments?: { data: Record<string, unknown>[] };
  }[];
}

/** The webhook fields an Instagram-Login account can subscribe to (reference 1.15). */
const EVERY_FIELD = [
  "comments",
  "live_comments",
  "messages",
  "message_reactions",
  "messaging_optins",
  "messaging_postbacks",
  "messaging_referral",
  "messaging_seen",
  "messaging_handover",
  "standby",
];

const MESSENGER_PROFILE_FIELDS = new Set(["ice_breakers", "persistent_menu"]);

function graphError(code: number, message: string) {
  return {
    status: 400,
    body: { error: { message, type: "OAuthException", code, fbtrace_id: "AfakeTraceMP" } },
  };
}

/** `/me/messenger_profile` as Instagram answers it: a read lists the asked fields that are set
 * inside `data` (the Messenger Platform's shape; `{"data":[]}` when none is), a POST needs
 * `platform: instagram` and sets the fields it carries (at most 4 ice breakers per locale), a
 * DELETE removes the fields its body names; both answer `{"success":true}`. */
function messengerProfile(req: RecordedRequest, profile: Record<string, unknown>) {
  if (req.method === "GET") {
    const asked = (req.query.fields ?? "").split(",").filter((f) => profile[f] !== undefined);
    return { body: { data: asked.length ? [Object.fromEntries(asked.map((f) => [f, profile[f]]))] : [] } };
  }
  const body = (typeof req.body === "object" && req.body !== null ? req.body : {}) as Record<string, unknown>;
  if (req.method === "DELETE") {
    const fields = Array.isArray(body.fields) ? (body.fields as unknown[]) : [];
    if (fields.length === 0 || !fields.every((f) => typeof f === "string" && MESSENGER_PROFILE_FIELDS.has(f)))
      return graphError(100, "(#100) Invalid fields parameter");
    for (const f of fields) delete profile[f as string];
    return { body: { success: true } };
  }
  if (body.platform !== "instagram") return graphError(100, "(#100) platform must be instagram");
  const set = Object.keys(body).filter((k) => k !== "platform");
  if (set.length === 0 || !set.every((k) => MESSENGER_PROFILE_FIELDS.has(k)))
    return graphError(100, "(#100) Invalid keys in messenger profile");
  const tooMany = ((body.ice_breakers as { call_to_actions?: unknown[] }[] | undefined) ?? []).some(
    (b) => (b.call_to_actions?.length ?? 0) > 4,
  );
  if (tooMany) return graphError(100, "(#100) ice_breakers: at most 4 questions");
  for (const k of set) profile[k] = body[k];
  return { body: { success: true } };
}

let nextFlowId = 900_000_001;

/** `/me/welcome_message_flows` as Meta's page documents it: GET lists the flows in `data` (one
 * when `flow_id` is asked; `pageSize` at a time, with Graph's cursors and `next`), POST without `flow_id` creates one (`eligible_platforms: ["instagram"]`,
 * a name and at least one message with text) answering `{"flow_id"}`, POST with `flow_id` changes
 * the properties it carries, DELETE with `flow_id` removes it. */
function welcomeMessageFlows(req: RecordedRequest, flows: Record<string, unknown>[], pageSize: number) {
  const body = (typeof req.body === "object" && req.body !== null ? req.body : {}) as Record<string, unknown>;
  const now = new Date().toISOString();
  if (req.method === "GET") {
    const id = req.query.flow_id;
    if (id !== undefined) return { body: { data: flows.filter((f) => f.flow_id === id) } };
    const start = Number(req.query.after ?? 0);
    const more = start + pageSize < flows.length;
    return {
      body: {
        data: flows.slice(start, start + pageSize),
        paging: {
          cursors: { before: String(start), after: String(start + pageSize) },
          ...(more ? { next: `${req.path}?after=${start + pageSize}` } : {}),
        },
      },
    };
  }
  const id = req.method === "DELETE" ? (body.flow_id ?? req.query.flow_id) : body.flow_id;
  const at = flows.findIndex((f) => f.flow_id === id);
  if (id !== undefined && at < 0) return graphError(100, "(#100) Unknown flow_id");
  if (req.method === "DELETE") {
    if (id === undefined) return graphError(100, "(#100) flow_id is required");
    flows.splice(at, 1);
    return { body: { success: true } };
  }
  if (body.eligible_platforms !== undefined) {
    const p = body.eligible_platforms;
    if (!Array.isArray(p) || p.length !== 1 || p[0] !== "instagram")
      return graphError(100, '(#100) eligible_platforms must be ["instagram"]');
  }
  const messages = body.welcome_message_flow;
  if (messages !== undefined) {
    const ok =
      Array.isArray(messages) &&
      messages.length > 0 &&
      messages.every((m) => typeof (m as { message?: { text?: unknown } })?.message?.text === "string");
    if (!ok) return graphError(100, "(#100) welcome_message_flow: messages with text");
  }
  if (body.name !== undefined && (typeof body.name !== "string" || body.name === ""))
    return graphError(100, "(#100) name must be a string");
  if (id !== undefined) {
    const flow = flows[at] as Record<string, unknown>;
    if (body.name !== undefined) flow.name = body.name;
    if (messages !== undefined) flow.welcome_message_flow = messages;
    flow.last_update_time = now;
    return { body: { success: true } };
  }
  if (body.eligible_platforms === undefined || body.name === undefined || messages === undefined)
    return graphError(100, "(#100) eligible_platforms, name and welcome_message_flow are required");
  const flowId = String(nextFlowId++);
  flows.push({
    flow_id: flowId,
    name: body.name,
    welcome_message_flow: messages,
    eligible_platforms: ["instagram"],
    last_update_time: now,
    is_used_in_ad: false,
  });
  return { body: { flow_id: flowId } };
}

const INVALID_TOKEN = {
  status: 400,
  body: {
    error: {
      message: "Invalid OAuth access token - Cannot parse access token",
      type: "OAuthException",
      code: 190,
      fbtrace_id: "AfakeTrace190b",
    },
  },
};

/** A Graph API that answers every call the bridge makes the way Instagram does: sends get unique
 * message ids, profiles and media have plausible fields, moderation succeeds, long-lived tokens
 * are refreshed into new ones. */
export function instagramResponder(options: InstagramResponderOptions = {}): GraphResponder {
  let seq = 0;
  const profiles = options.messengerProfiles ?? new Map<string, Record<string, unknown>>();
  const welcomeFlows = options.welcomeFlows ?? new Map<string, Record<string, unknown>[]>();
  const subscriptions = new Map<string, string[]>();
  return (req) => {
    const token = req.query.access_token ?? req.headers.authorization?.replace(/^Bearer /, "");
    if (token !== undefined && options.invalidTokens?.has(token))
      return {
        status: 400,
        body: {
          error: {
            message:
              "Error validating access token: The session has been invalidated because the user changed their password.",
            type: "OAuthException",
            code: 190,
            error_subcode: 460,
            fbtrace_id: "AfakeTrace190",
          },
        },
      };
    if (options.accounts && req.method === "GET" && /^\/v[\d.]+\/me(\/subscribed_apps)?$/.test(req.path)) {
      const account = token === undefined ? undefined : options.accounts.get(token);
      if (!account) return INVALID_TOKEN;
      if (req.path.endsWith("/subscribed_apps") && account.subscriptionError !== undefined)
        return graphError(
          account.subscriptionError,
          "(#10) Application does not have permission for this action",
        );
      if (req.path.endsWith("/subscribed_apps"))
        return {
          body: {
            data: account.subscribedFields.length
              ? [
                  {
                    id: "1234567890123456",
                    name: "threadbridge",
                    subscribed_fields: account.subscribedFields,
                  },
                ]
              : [],
          },
        };
      return {
        body: { user_id: account.userId, username: account.username, id: `app-scoped-${account.userId}` },
      };
    }
    // Without `accounts`, every token's account is subscribed to every field (the state a test
    // that is not about subscriptions expects); a POST still replaces the list.
    if (!options.accounts && token !== undefined && /^\/v[\d.]+\/me\/subscribed_apps$/.test(req.path)) {
      if (req.method === "POST") {
        const fields = (req.query.subscribed_fields ?? "").split(",").filter((f) => f !== "");
        if (fields.length === 0) return graphError(100, "(#100) subscribed_fields is required");
        subscriptions.set(token, fields);
        return { body: { success: true } };
      }
      if (req.method === "GET")
        return {
          body: {
            data: [{ id: "1234567890123456", subscribed_fields: subscriptions.get(token) ?? EVERY_FIELD }],
          },
        };
    }
    // Turning delivery on (reference 5.5): the fields given replace the account's list.
    if (options.accounts && req.method === "POST" && /^\/v[\d.]+\/me\/subscribed_apps$/.test(req.path)) {
      const account = token === undefined ? undefined : options.accounts.get(token);
      if (!account || token === undefined) return INVALID_TOKEN;
      const fields = (req.query.subscribed_fields ?? "").split(",").filter((f) => f !== "");
      if (fields.length === 0) return graphError(100, "(#100) subscribed_fields is required");
      if (options.accounts instanceof Map)
        options.accounts.set(token, { ...account, subscribedFields: fields });
      return { body: { success: true } };
    }
    if (/^\/v[\d.]+\/me\/messenger_profile$/.test(req.path) && token !== undefined) {
      const profile = profiles.get(token) ?? {};
      profiles.set(token, profile);
      return messengerProfile(req, profile);
    }
    if (/^\/v[\d.]+\/me\/welcome_message_flows$/.test(req.path) && token !== undefined) {
      const flows = welcomeFlows.get(token) ?? [];
      welcomeFlows.set(token, flows);
      return welcomeMessageFlows(req, flows, options.welcomeFlowsPageSize ?? 25);
    }
    // Reference 5.4: at the host's root, the token in the query.
    if (
      req.method === "GET" &&
      req.path === "/refresh_access_token" &&
      req.query.grant_type === "ig_refresh_token"
    )
      return token
        ? { body: { access_token: `IGAA-refreshed-${++seq}`, token_type: "bearer", expires_in: 5_183_944 } }
        : undefined;
    // The Conversations API (reference 4.2): pages of conversations, a conversation's messages,
    // one message.
    const listed = /^\/v[\d.]+\/(\d+|me)\/conversations$/.exec(req.path);
    if (req.method === "GET" && listed && options.conversations) {
      const all = options.conversations.get(listed[1] ?? "") ?? [];
      const size = options.conversationsPageSize ?? 2;
      const start = Number(req.query.after ?? 0);
      const page = all.slice(start, start + size);
      const more = start + size < all.length;
      return {
        body: {
          data: page.map((c) => ({ id: c.id, updated_time: c.updated_time })),
          paging: {
            cursors: { before: String(start), after: String(start + size) },
            ...(more ? { next: `${req.path}?after=${start + size}` } : {}),
          },
        },
      };
    }
    const convs = [...(options.conversations?.values() ?? [])].flat();
    const last = req.path.slice(req.path.lastIndexOf("/") + 1);
    const conversation = req.method === "GET" ? convs.find((c) => c.id === last) : undefined;
    if (conversation)
      return {
        body: {
          id: conversation.id,
          messages: {
            data: conversation.messages.map((m) =>
              options.conversationsIdsOnly ? { id: m.id, created_time: m.created_time } : m,
            ),
          },
        },
      };
    const message =
      req.method === "GET" ? convs.flatMap((c) => c.messages).find((m) => m.id === last) : undefined;
    if (message) return { body: message };
    // Conversation Routing (the handover protocol's calls): take, request and pass succeed.
    if (req.method === "POST" && /\/me\/(take|pass|request)_thread_control$/.test(req.path))
      return { body: { success: true } };
    if (req.method === "POST" && req.path.endsWith("/messages")) {
      seq += 1;
      const body = req.body as {
        recipient: { id?: string; comment_id?: string };
        reply_to?: unknown;
        sender_action?: unknown;
      };
      // The Message Replies API: a quote names one message by its mid, and only in a conversation.
      if (body.reply_to !== undefined) {
        const mid = (body.reply_to as { mid?: unknown } | null)?.mid;
        if (typeof mid !== "string" || mid === "" || body.recipient.id === undefined)
          return { status: 400, body: graphError(100, "Invalid parameter reply_to") };
      }
      const problem = sendProblem(body as Record<string, unknown>);
      if (problem) return graphError(100, problem);
      if (
        options.refuseSeveralImages &&
        (body as { message?: { attachments?: unknown } }).message?.attachments
      )
        return graphError(100, "(#100) Param message[attachments] is not supported");
      // Sender actions answer with the recipient alone (reference 2.5).
      if (body.sender_action !== undefined)
        return { body: { recipient_id: body.recipient.id ?? "1234567890123456" } };
      return { body: { recipient_id: body.recipient.id ?? "1234567890123456", message_id: `m_sent_${seq}` } };
    }
    // Mentions (reference 1.14): read as fields of the account.
    const fields = req.query.fields ?? "";
    const mentioned = /^mentioned_(comment|media)\.(?:comment|media)_id\((\d+)\)/.exec(fields);
    if (req.method === "GET" && mentioned) {
      const [, kind, id] = mentioned;
      const media = {
        id: kind === "media" ? id : "17900000000000099",
        caption: "Our trip, thanks @brand!",
        permalink: `https://www.instagram.com/p/Mx${(id ?? "").slice(-6)}/`,
        media_type: "IMAGE",
        media_url: "https://cdn.example/mention.jpg",
        username: "traveller",
      };
      return kind === "comment"
        ? {
            body: {
              id: req.path.slice(req.path.lastIndexOf("/") + 1),
              mentioned_comment: {
                id,
                text: "@brand do you ship to Porto?",
                timestamp: "2026-12-01T10:00:00+0000",
                username: "jane_doe",
                media,
              },
            },
          }
        : { body: { id: req.path.slice(req.path.lastIndexOf("/") + 1), mentioned_media: media } };
    }
    if (req.method === "GET" && /\/\d{16}$/.test(req.path))
      return {
        body: {
          name: `Customer ${req.path.slice(-4)}`,
          username: `customer_${req.path.slice(-4)}`,
          profile_pic: "https://cdn.example/pic.jpg",
          is_user_follow_business: true,
          follower_count: 42,
        },
      };
    if (req.method === "GET" && req.path.includes("/1790")) {
      // Each post its own link, so a pasted link finds one post: the shortcode ends with the id.
      const id = req.path.slice(req.path.lastIndexOf("/") + 1);
      return {
        body: {
          id,
          caption: "Summer drop",
          permalink: `https://www.instagram.com/p/Px${id.slice(-6)}/`,
          media_type: "IMAGE",
          media_url: "https://cdn.example/post.jpg",
        },
      };
    }
    if (req.method === "POST" && req.path.endsWith("/replies")) return { body: { id: `reply_${++seq}` } };
    // Moderation: hide/unhide and delete a comment, comments off/on for a media (reference 3).
    if (req.query.hide !== undefined || req.query.comment_enabled !== undefined || req.method === "DELETE")
      return { body: { success: true } };
    return undefined;
  };
}

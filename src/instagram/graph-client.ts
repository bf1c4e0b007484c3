// A small typed client for the Instagram Graph API calls threadbridge makes (reference 2, 3, 4.1,
// 5.4, 5.5). API failures come back as values, never thrown. The access token travels in the
// Authorization header (in the query only for the refresh endpoint, as documented) and is scrubbed
// from any error returned.

import { requestFetch } from "../net/request-fetch.ts";
import { inSpan, SpanKind, SpanStatusCode } from "../tracing/spans.ts";
import { classifyGraphError, classifyNetworkError, type GraphError, isNeverSent } from "./graph-errors.ts";
import { parseUsage, type Usage } from "./usage.ts";

export type Result<T> =
  | { ok: true; value: T; usage?: Usage }
  | { ok: false; error: GraphError; usage?: Usage };

export interface GraphClientOptions {
  /** e.g. https://graph.instagram.com */
  baseUrl: string;
  /** e.g. v25.0 */
  apiVersion: string;
  /** Per-attempt timeout; default 15 s. */
  timeoutMs?: number;
  /** Retries after the first attempt, for retryable errors only; default 3. */
  maxRetries?: number;
  fetch?: typeof fetch;
  /** Backoff base; default 500 ms. */
  retryBaseMs?: number;
  /** Backoff cap, and the longest Meta-requested wait the client sleeps through itself; default 30 s. */
  retryCapMs?: number;
}

export type SendRecipient = { id: string } | { comment_id: string };

export type QuickReply =
  | { content_type: "text"; title: string; payload: string }
  | { content_type: "user_phone_number" | "user_email"; title?: string; payload?: string };

export type AttachmentType = "image" | "audio" | "video" | "file";

/** A button of a generic template: a page, or a postback (the only kinds Instagram takes, 2.8). */
export type GenericButton =
  | { type: "web_url"; url: string; title: string }
  | { type: "postback"; title: string; payload: string };

/** One card of a generic template (reference 2.8). */
export interface GenericElement {
  title: string;
  subtitle?: string;
  image_url?: string;
  default_action?: { type: "web_url"; url: string };
  buttons?: GenericButton[];
}

export type SendMessageContent =
  | { text: string; quick_replies?: QuickReply[] }
  | { attachment: { type: AttachmentType; payload: { url: string } }; quick_replies?: QuickReply[] }
  /** Several images in one message (reference 2.2, generally available May 2026): 2 to
   * IMAGES_PER_MESSAGE, images only. */
  | { attachments: { type: "image"; payload: { url: string } }[] }
  /** A generic template: a carousel of 1 to 10 cards (reference 2.8). */
  | { attachment: { type: "template"; payload: { template_type: "generic"; elements: GenericElement[] } } };

/** The Send API body as Meta expects it (reference 2.2, 2.3, 2.6, 2.7). */
export type SendBody = {
  recipient: SendRecipient;
  message: SendMessageContent;
  /** Quotes a message of the conversation (the Message Replies API, reference platform-changes
   * 2026): beside `message`, as in Messenger's samples. */
  reply_to?: { mid: string };
} & (
  | { messaging_type?: "RESPONSE" | "UPDATE"; tag?: never }
  | { messaging_type: "MESSAGE_TAG"; tag: "HUMAN_AGENT" }
);

export interface SendResult {
  recipientId: string;
  messageId: string;
}

export interface UserProfile {
  name?: string;
  username?: string;
  profilePic?: string;
  followerCount?: number;
  isUserFollowBusiness?: boolean;
  isBusinessFollowUser?: boolean;
  isVerifiedUser?: boolean;
}

export interface MediaInfo {
  id: string;
  caption?: string;
  permalink?: string;
  mediaType?: string;
  mediaProductType?: string;
  /** Image of the post: `thumbnail_url` for videos, `media_url` otherwise. */
  thumbnailUrl?: string;
}

/** What a mention is (reference 1.14): the comment that mentions the account and its media, or
 * the media whose caption does. */
export interface Mention {
  /** The comment's text, or the caption when the mention is in a caption. */
  text?: string;
  /** Who wrote it: the comment's author, or the media's owner. */
  username?: string;
  authorId?: string;
  timestamp?: string;
  media: MediaInfo;
}

export interface Me {
  /** The IG_ID webhooks use. */
  userId: string;
  username: string;
  /** The app-scoped id. */
  id?: string;
  name?: string;
  accountType?: string;
  profilePictureUrl?: string;
}

/** A refreshed long-lived token (reference 5.4): a secret to seal at once, never to log. */
export interface RefreshedToken {
  accessToken: string;
  /** Seconds from now until it expires (about 60 days). */
  expiresIn: number;
}

const PROFILE_FIELDS =
  "name,username,profile_pic,follower_count,is_user_follow_business,is_business_follow_user,is_verified_user";
const MEDIA_FIELDS = "id,caption,permalink,media_type,media_product_type,media_url,thumbnail_url";
const ME_FIELDS = "user_id,username,name,account_type,profile_picture_url";
const MENTIONED_MEDIA_FIELDS = "id,caption,permalink,media_type,media_url,thumbnail_url,timestamp,username";

type Json = Record<string, unknown>;
type Parser<T> = (json: Json) => T | undefined;

interface Call<T> {
  method: "GET" | "POST" | "DELETE";
  path: string[];
  query?: Record<string, string>;
  body?: unknown;
  /** False for requests whose repetition is visible to a customer (sends, public replies). */
  idempotent: boolean;
  parse: Parser<T>;
  /** The token endpoints live at the host's root, outside the versioned API. */
  unversioned?: boolean;
  /** Sent as `access_token` in the query, where the endpoint documents it, instead of the header. */
  tokenInQuery?: boolean;
  /** The answer carries a credential: an unexpected one is reported without its body. */
  secretAnswer?: boolean;
}

function isRecord(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const idStr = (v: unknown): string | undefined =>
  typeof v === "string" && v !== "" ? v : typeof v === "number" ? String(v) : undefined;
const numOf = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
const boolOf = (v: unknown): boolean | undefined => (typeof v === "boolean" ? v : undefined);

/** Drops undefined properties so results stay tidy for equality checks and logs. */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** One conversation of the account (Conversations API, reference 4.2). */
export interface ConversationSummary {
  id: string;
  updatedTime?: string;
}

/** A message as the Conversations API returns it: less than the webhook (shares and stories come
 * back empty, reference 4.2), and only for the 20 most recent messages of a conversation. */
export interface ConversationMessage {
  id: string;
  createdTime?: string;
  from?: { id: string; username?: string };
  /** The recipients' ids (`to.data[].id`). */
  to: string[];
  text?: string;
  /** Media links, when the API gives them (`attachments.data[]`: image_data, video_data, file_url). */
  attachments: { type: "image" | "video" | "file"; url: string; name?: string }[];
}

/** The fields asked of each message; the inline form is UNCERTAIN on Instagram Login, so a message
 * returned without them is read again on its own. */
const MESSAGE_FIELDS = "id,created_time,from,to,message,attachments";

function conversationMessage(j: Json): ConversationMessage | undefined {
  const id = idStr(j.id);
  if (!id) return undefined;
  const from = isRecord(j.from) ? j.from : undefined;
  const fromId = from ? idStr(from.id) : undefined;
  const toList = isRecord(j.to) && Array.isArray(j.to.data) ? j.to.data : [];
  const attachments: ConversationMessage["attachments"] = [];
  const list = isRecord(j.attachments) && Array.isArray(j.attachments.data) ? j.attachments.data : [];
  for (const a of list) {
    if (!isRecord(a)) continue;
    const image = isRecord(a.image_data) ? str(a.image_data.url) : undefined;
    const video = isRecord(a.video_data) ? str(a.video_data.url) : undefined;
    const file = str(a.file_url);
    const name = str(a.name);
    if (image) attachments.push({ type: "image", url: image });
    else if (video) attachments.push({ type: "video", url: video });
    else if (file) attachments.push(compact({ type: "file" as const, url: file, name }));
  }
  return compact({
    id,
    createdTime: str(j.created_time),
    from: fromId ? compact({ id: fromId, username: from ? str(from.username) : undefined }) : undefined,
    to: toList.flatMap((t) => (isRecord(t) && idStr(t.id) ? [idStr(t.id) as string] : [])),
    text: str(j.message),
    attachments,
  });
}

/** A welcome message flow as Graph takes it: its name and its messages, in order. */
export interface WelcomeFlowBody {
  name: string;
  welcome_message_flow: {
    message: { text: string; quick_replies?: { content_type: "text"; title: string; payload: string }[] };
  }[];
}

const parseSuccess: Parser<{ success: true }> = (j) => (j.success === true ? { success: true } : undefined);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class GraphClient {
  readonly #options: GraphClientOptions;
  readonly #baseUrl: string;
  readonly #apiVersion: string;
  readonly #timeoutMs: number;
  readonly #maxRetries: number;
  readonly #fetch: typeof fetch;
  readonly #baseMs: number;
  readonly #capMs: number;

  constructor(options: GraphClientOptions) {
    this.#options = options;
    this.#baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#apiVersion = options.apiVersion;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
    this.#maxRetries = options.maxRetries ?? 3;
    // undici's request API, not the WHATWG fetch over it: the Send API's calls are the worker's
    // busiest (src/net/request-fetch.ts).
    this.#fetch = options.fetch ?? requestFetch();
    this.#baseMs = options.retryBaseMs ?? 500;
    this.#capMs = options.retryCapMs ?? 30_000;
  }

  /** The same client with another retry count: `withRetries(0)` makes one attempt per call, for a
   * caller that retries by itself (the gateway, which takes a rate-limit turn for every attempt). */
  withRetries(maxRetries: number): GraphClient {
    return new GraphClient({ ...this.#options, maxRetries });
  }

  /**
   * How long to wait before retrying after the `attempt`-th retry (0 for the first attempt) failed
   * with `error`, or undefined when it must not be retried in place: not retryable, possibly
   * delivered, out of retries, or Meta asked for a wait longer than the backoff cap (calling again
   * would extend the block, so it goes back to the caller's queue).
   */
  retryDelay(attempt: number, error: GraphError): number | undefined {
    if (error.kind !== "retryable" || error.maybeDelivered || attempt >= this.#maxRetries) return undefined;
    const backoff = Math.random() * Math.min(this.#capMs, this.#baseMs * 2 ** attempt);
    const wait = Math.max(error.retryAfterMs ?? 0, backoff);
    return wait > this.#capMs ? undefined : wait;
  }

  /** A sender action (reference 2.5): only `recipient` and `sender_action` in the body, and for a
   * reaction its `payload` (`{message_id, reaction}` to react, `{message_id}` to take it back). */
  senderAction(
    token: string,
    igUserId: string,
    customer: string,
    action: "mark_seen" | "typing_on" | "typing_off" | "react" | "unreact",
    payload?: { message_id: string; reaction?: string },
  ): Promise<Result<{ recipientId: string }>> {
    return this.#call(token, {
      method: "POST",
      path: [igUserId, "messages"],
      body: { recipient: { id: customer }, sender_action: action, ...(payload ? { payload } : {}) },
      idempotent: true,
      parse: (j) => ({ recipientId: idStr(j.recipient_id) ?? customer }),
    });
  }

  /** Send API (reference 2): a DM, or a private reply when `recipient` is `{comment_id}`. Never retried blind. */
  sendMessage(token: string, igUserId: string, body: SendBody): Promise<Result<SendResult>> {
    const fallback = "id" in body.recipient ? body.recipient.id : undefined;
    return this.#call(token, {
      method: "POST",
      path: [igUserId, "messages"],
      body,
      idempotent: false,
      parse: (j) => {
        const messageId = str(j.message_id);
        const recipientId = idStr(j.recipient_id) ?? fallback;
        return messageId && recipientId ? { recipientId, messageId } : undefined;
      },
    });
  }

  /**
   * Conversation Routing (reference platform-changes-2026): `take` moves control of the customer's
   * thread to this app (allowed to the default app), `request` asks the app holding it to pass it,
   * `pass` hands it to `targetAppId` (the Instagram inbox, another app). The calls are the
   * handover protocol's (`POST /me/<action>_thread_control`, `{recipient: {id}, metadata}`), which
   * the routing API kept; an answer other than `{success: true}` is an error.
   */
  threadControl(
    token: string,
    action: "take" | "request" | "pass",
    igsid: string,
    options: { metadata?: string; targetAppId?: string } = {},
  ): Promise<Result<{ success: true }>> {
    return this.#call(token, {
      method: "POST",
      path: ["me", `${action}_thread_control`],
      body: {
        recipient: { id: igsid },
        ...(options.targetAppId ? { target_app_id: options.targetAppId } : {}),
        ...(options.metadata ? { metadata: options.metadata } : {}),
      },
      idempotent: true,
      parse: parseSuccess,
    });
  }

  /** A page of the account's conversations, newest first (reference 4.2); `after` is the cursor
   * the previous page returned. */
  listConversations(
    token: string,
    igUserId: string,
    after?: string,
  ): Promise<Result<{ conversations: ConversationSummary[]; after?: string }>> {
    return this.#call(token, {
      method: "GET",
      path: [igUserId, "conversations"],
      query: { platform: "instagram", fields: "id,updated_time", ...(after ? { after } : {}) },
      idempotent: true,
      parse: (j) => {
        if (!Array.isArray(j.data)) return undefined;
        const conversations = j.data.flatMap((c) =>
          isRecord(c) && idStr(c.id)
            ? [compact({ id: idStr(c.id) as string, updatedTime: str(c.updated_time) })]
            : [],
        );
        const paging = isRecord(j.paging) ? j.paging : {};
        const cursor = isRecord(paging.cursors) ? str(paging.cursors.after) : undefined;
        // A cursor without a next page is the last page's.
        return compact({ conversations, after: paging.next ? cursor : undefined });
      },
    });
  }

  /** The messages of one conversation the API still details (the 20 most recent), newest first. */
  conversationMessages(token: string, conversationId: string): Promise<Result<ConversationMessage[]>> {
    return this.#call(token, {
      method: "GET",
      path: [conversationId],
      query: { fields: `messages{${MESSAGE_FIELDS}}` },
      idempotent: true,
      parse: (j) => {
        const messages = isRecord(j.messages) && Array.isArray(j.messages.data) ? j.messages.data : [];
        return messages.flatMap((m) => {
          const parsed = isRecord(m) ? conversationMessage(m) : undefined;
          return parsed ? [parsed] : [];
        });
      },
    });
  }

  /** One message by its id (reference 4.2). */
  getMessage(token: string, mid: string): Promise<Result<ConversationMessage>> {
    return this.#call(token, {
      method: "GET",
      path: [mid],
      query: { fields: MESSAGE_FIELDS },
      idempotent: true,
      parse: conversationMessage,
    });
  }

  /** Public reply under a comment (reference 3). */
  replyToComment(token: string, commentId: string, message: string): Promise<Result<{ id: string }>> {
    return this.#call(token, {
      method: "POST",
      path: [commentId, "replies"],
      body: { message },
      idempotent: false,
      parse: (j) => {
        const id = idStr(j.id);
        return id ? { id } : undefined;
      },
    });
  }

  hideComment(token: string, commentId: string, hide: boolean): Promise<Result<{ success: true }>> {
    return this.#call(token, {
      method: "POST",
      path: [commentId],
      query: { hide: String(hide) },
      idempotent: true,
      parse: parseSuccess,
    });
  }

  deleteComment(token: string, commentId: string): Promise<Result<{ success: true }>> {
    return this.#call(token, { method: "DELETE", path: [commentId], idempotent: true, parse: parseSuccess });
  }

  setCommentsEnabled(token: string, mediaId: string, enabled: boolean): Promise<Result<{ success: true }>> {
    return this.#call(token, {
      method: "POST",
      path: [mediaId],
      query: { comment_enabled: String(enabled) },
      idempotent: true,
      parse: parseSuccess,
    });
  }

  /** Profile of an IGSID (reference 4.1); null fields come back absent. */
  getUserProfile(token: string, igsid: string): Promise<Result<UserProfile>> {
    return this.#call(token, {
      method: "GET",
      path: [igsid],
      query: { fields: PROFILE_FIELDS },
      idempotent: true,
      parse: (j) =>
        compact({
          name: str(j.name),
          username: str(j.username),
          profilePic: str(j.profile_pic),
          followerCount: numOf(j.follower_count),
          isUserFollowBusiness: boolOf(j.is_user_follow_business),
          isBusinessFollowUser: boolOf(j.is_business_follow_user),
          isVerifiedUser: boolOf(j.is_verified_user),
        }),
    });
  }

  /** A media item's caption, link and picture, for the root of its comment threads. */
  getMedia(token: string, mediaId: string): Promise<Result<MediaInfo>> {
    return this.#call(token, {
      method: "GET",
      path: [mediaId],
      query: { fields: MEDIA_FIELDS },
      idempotent: true,
      parse: (j) => {
        const id = idStr(j.id) ?? mediaId;
        return compact({
          id,
          caption: str(j.caption),
          permalink: str(j.permalink),
          mediaType: str(j.media_type),
          mediaProductType: str(j.media_product_type),
          thumbnailUrl:
            str(j.thumbnail_url) ?? (str(j.media_type) === "VIDEO" ? undefined : str(j.media_url)),
        });
      },
    });
  }

  /**
   * A mention of the account (reference 1.14): `mentioned_comment` when it is in a comment,
   * `mentioned_media` when it is in a caption, both read as fields of the account.
   */
  getMention(
    token: string,
    igUserId: string,
    mention: { mediaId: string; commentId?: string },
  ): Promise<Result<Mention>> {
    const { mediaId, commentId } = mention;
    const field = commentId
      ? `mentioned_comment.comment_id(${commentId}){id,text,timestamp,username,from,media{${MENTIONED_MEDIA_FIELDS}}}`
      : `mentioned_media.media_id(${mediaId}){${MENTIONED_MEDIA_FIELDS}}`;
    return this.#call(token, {
      method: "GET",
      path: [igUserId],
      query: { fields: field },
      idempotent: true,
      parse: (j) => {
        const found = commentId ? j.mentioned_comment : j.mentioned_media;
        if (!isRecord(found)) return undefined;
        const m = commentId ? (isRecord(found.media) ? found.media : { id: mediaId }) : found;
        const from = isRecord(found.from) ? found.from : undefined;
        const media = compact({
          id: idStr(m.id) ?? mediaId,
          caption: str(m.caption),
          permalink: str(m.permalink),
          mediaType: str(m.media_type),
          thumbnailUrl:
            str(m.thumbnail_url) ?? (str(m.media_type) === "VIDEO" ? undefined : str(m.media_url)),
        });
        return compact({
          text: str(commentId ? found.text : found.caption),
          username: str(found.username) ?? str(from?.username),
          authorId: idStr(from?.id),
          timestamp: str(found.timestamp),
          media,
        });
      },
    });
  }

  /** The token's own account (reference 5.5); flat or `data`-wrapped answers are both accepted. */
  getMe(token: string): Promise<Result<Me>> {
    return this.#call(token, {
      method: "GET",
      path: ["me"],
      query: { fields: ME_FIELDS },
      idempotent: true,
      parse: (raw) => {
        const data = Array.isArray(raw.data) ? raw.data[0] : raw.data;
        const j = isRecord(data) ? data : raw;
        const userId = idStr(j.user_id);
        const username = str(j.username);
        if (!userId || !username) return undefined;
        return compact({
          userId,
          username,
          id: idStr(j.id),
          name: str(j.name),
          accountType: str(j.account_type),
          profilePictureUrl: str(j.profile_picture_url),
        });
      },
    });
  }

  /** Turns webhook delivery on for the token's account (reference 5.5). */
  subscribeApps(token: string, fields: readonly string[]): Promise<Result<{ success: true }>> {
    return this.#call(token, {
      method: "POST",
      path: ["me", "subscribed_apps"],
      query: { subscribed_fields: fields.join(",") },
      idempotent: true,
      parse: parseSuccess,
    });
  }

  /**
   * The token's account's webhook subscription (`GET /me/subscribed_apps`, reference 5.5): the
   * fields subscribed, from every entry of `data` (a list or a comma-separated string each); an
   * empty `data` means nothing is delivered for the account.
   */
  subscribedApps(token: string): Promise<Result<{ subscribed: boolean; fields: string[] }>> {
    return this.#call(token, {
      method: "GET",
      path: ["me", "subscribed_apps"],
      idempotent: true,
      parse: (j) => {
        if (!Array.isArray(j.data)) return undefined;
        const fields = new Set<string>();
        for (const entry of j.data) {
          if (!isRecord(entry)) continue;
          const listed = entry.subscribed_fields;
          const names = Array.isArray(listed) ? listed : typeof listed === "string" ? listed.split(",") : [];
          for (const name of names) if (typeof name === "string" && name.trim()) fields.add(name.trim());
        }
        return { subscribed: j.data.length > 0, fields: [...fields] };
      },
    });
  }

  /**
   * The messaging profile fields of the token's account (`GET /me/messenger_profile?fields=…`,
   * reference 2.9), merged from every entry of `data` (the Messenger Platform's answer shape; a
   * field never set is absent, so `{"data":[]}` means none is). Also read at the top level, in case
   * Instagram answers without `data`.
   */
  getMessengerProfile(token: string, fields: readonly string[]): Promise<Result<Record<string, unknown>>> {
    return this.#call(token, {
      method: "GET",
      path: ["me", "messenger_profile"],
      query: { fields: fields.join(",") },
      idempotent: true,
      parse: (j) => {
        const out: Record<string, unknown> = {};
        const entries = Array.isArray(j.data) ? j.data.filter(isRecord) : [j];
        for (const entry of entries) for (const f of fields) if (entry[f] !== undefined) out[f] = entry[f];
        return out;
      },
    });
  }

  /** Sets messaging profile fields (ice breakers, persistent menu: `POST /me/messenger_profile`
   * with `platform: instagram`, reference 2.9); the fields not in `fields` are left as they are. */
  setMessengerProfile(token: string, fields: Record<string, unknown>): Promise<Result<{ success: true }>> {
    return this.#call(token, {
      method: "POST",
      path: ["me", "messenger_profile"],
      body: { platform: "instagram", ...fields },
      idempotent: true,
      parse: parseSuccess,
    });
  }

  /** Removes messaging profile fields (`DELETE /me/messenger_profile` with `{"fields":[…]}`). */
  deleteMessengerProfile(token: string, fields: readonly string[]): Promise<Result<{ success: true }>> {
    return this.#call(token, {
      method: "DELETE",
      path: ["me", "messenger_profile"],
      body: { fields },
      idempotent: true,
      parse: parseSuccess,
    });
  }

  /**
   * A page of the account's welcome message flows (`GET /me/welcome_message_flows`, Meta's
   * "Welcome Message Flows" page, June 2026): the entries of `data` as Graph sent them, for the
   * caller to read field by field (profile/profile.ts), since the documented shape is young; and
   * the cursor of the next page, when Graph says there is one (its usual cursor paging).
   */
  listWelcomeMessageFlows(
    token: string,
    after?: string,
  ): Promise<Result<{ flows: Record<string, unknown>[]; after?: string }>> {
    return this.#call(token, {
      method: "GET",
      path: ["me", "welcome_message_flows"],
      ...(after ? { query: { after } } : {}),
      idempotent: true,
      parse: (j) => {
        if (!Array.isArray(j.data)) return undefined;
        const paging = isRecord(j.paging) ? j.paging : {};
        const cursor = isRecord(paging.cursors) ? str(paging.cursors.after) : undefined;
        // A cursor without a next page is the last page's.
        return compact({ flows: j.data.filter(isRecord), after: paging.next ? cursor : undefined });
      },
    });
  }

  /** Creates a welcome message flow (`POST /me/welcome_message_flows` without `flow_id`); answers
   * `{"flow_id": …}`. Not retried blind: a second try would create a second flow. */
  createWelcomeMessageFlow(token: string, flow: WelcomeFlowBody): Promise<Result<{ flowId: string }>> {
    return this.#call(token, {
      method: "POST",
      path: ["me", "welcome_message_flows"],
      body: { eligible_platforms: ["instagram"], ...flow },
      idempotent: false,
      parse: (j) => {
        const id = typeof j.flow_id === "number" ? String(j.flow_id) : str(j.flow_id);
        return id ? { flowId: id } : undefined;
      },
    });
  }

  /** Replaces a flow's name and messages (`POST` with its `flow_id`). The page documents no answer
   * body for an update, so any JSON object with a success status counts as done. */
  updateWelcomeMessageFlow(token: string, flowId: string, flow: WelcomeFlowBody): Promise<Result<true>> {
    return this.#call(token, {
      method: "POST",
      path: ["me", "welcome_message_flows"],
      body: { flow_id: flowId, eligible_platforms: ["instagram"], ...flow },
      idempotent: true,
      parse: () => true as const,
    });
  }

  /** Stops webhook delivery for an account (reference 5.5). */
  unsubscribeApps(token: string, igUserId: string): Promise<Result<{ success: true }>> {
    return this.#call(token, {
      method: "DELETE",
      path: [igUserId, "subscribed_apps"],
      idempotent: true,
      parse: parseSuccess,
    });
  }

  /**
   * Exchanges a long-lived token (at least 24 hours old, not expired) for a new one valid 60 days
   * (reference 5.4). The answer is the one result that carries a token: seal it, never log it.
   */
  refreshToken(token: string): Promise<Result<RefreshedToken>> {
    return this.#call(token, {
      method: "GET",
      path: ["refresh_access_token"],
      query: { grant_type: "ig_refresh_token" },
      unversioned: true,
      tokenInQuery: true,
      secretAnswer: true,
      idempotent: true,
      parse: (j) => {
        const accessToken = str(j.access_token);
        const expiresIn = numOf(j.expires_in);
        return accessToken && expiresIn !== undefined && expiresIn > 0
          ? { accessToken, expiresIn }
          : undefined;
      },
    });
  }

  async #call<T>(token: string, call: Call<T>): Promise<Result<T>> {
    const path = call.unversioned ? call.path : [this.#apiVersion, ...call.path];
    const url = new URL(`${this.#baseUrl}/${path.map(encodeURIComponent).join("/")}`);
    for (const [k, v] of Object.entries(call.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = { accept: "application/json" };
    if (call.tokenInQuery) url.searchParams.set("access_token", token);
    else headers.authorization = `Bearer ${token}`;
    if (call.body !== undefined) headers["content-type"] = "application/json";
    // Meta's API answers where it is asked: a redirect is not followed, with the token or a body
    // meant for Meta, to wherever it points.
    const init: RequestInit = { method: call.method, headers, redirect: "error" };
    if (call.body !== undefined) init.body = JSON.stringify(call.body);

    // Span names and attributes show the path's shape, never its ids, query or token.
    const shape = path.map((p) => (/^\d+$/.test(p) ? "{id}" : p)).join("/");
    const name = `graph ${call.method} /${shape}`;
    let result: Result<T>;
    for (let attempt = 0; ; attempt++) {
      result = await inSpan(
        name,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            "http.request.method": call.method,
            "server.address": url.hostname,
            "url.template": `/${shape}`,
            ...(attempt > 0 ? { "http.request.resend_count": attempt } : {}),
          },
        },
        async (span) => {
          const r = await this.#attempt(url, init, call);
          if (!r.ok) {
            if (r.error.status !== undefined) span.setAttribute("http.response.status_code", r.error.status);
            span.setAttribute("error.type", r.error.kind);
            span.setStatus({ code: SpanStatusCode.ERROR, message: r.error.reason });
          }
          return r;
        },
      );
      if (result.ok) break;
      const wait = this.retryDelay(attempt, result.error);
      if (wait === undefined) break;
      await sleep(wait);
    }
    return scrub(result, token);
  }

  async #attempt<T>(url: URL, init: RequestInit, call: Call<T>): Promise<Result<T>> {
    let response: Response;
    let text: string;
    let sent = false;
    try {
      response = await this.#fetch(url, { ...init, signal: AbortSignal.timeout(this.#timeoutMs) });
      sent = true;
      text = await response.text();
    } catch (err) {
      const error = classifyNetworkError(err);
      if (!call.idempotent && (sent || !isNeverSent(err)) && error.kind === "retryable") {
        error.maybeDelivered = true;
      }
      return { ok: false, error };
    }
    const usage = parseUsage(response.headers);
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = text;
    }
    if (!response.ok) {
      return withUsage(
        { ok: false, error: classifyGraphError(response.status, json, response.headers) },
        usage,
      );
    }
    const value = isRecord(json) ? call.parse(json) : undefined;
    if (value !== undefined) return withUsage({ ok: true, value }, usage);
    return withUsage(
      { ok: false, error: unexpected(response.status, call.secretAnswer ? undefined : text) },
      usage,
    );
  }
}

function withUsage<T>(result: Result<T>, usage: Usage | undefined): Result<T> {
  return usage ? { ...result, usage } : result;
}

function unexpected(status: number, text: string | undefined): GraphError {
  return {
    kind: "bad_request",
    code: undefined,
    subcode: undefined,
    message:
      text === undefined
        ? "unexpected response (not shown: it may hold a token)"
        : `unexpected response: ${text.slice(0, 250)}`,
    fbtraceId: undefined,
    status,
    reason: "Instagram gave an answer threadbridge did not understand",
  };
}

/** Removes the token from anything Meta or the network stack might have echoed back. */
function scrub<T>(result: Result<T>, token: string): Result<T> {
  if (result.ok || token === "") return result;
  const message = result.error.message.split(token).join("[redacted]");
  return message === result.error.message ? result : { ...result, error: { ...result.error, message } };
}

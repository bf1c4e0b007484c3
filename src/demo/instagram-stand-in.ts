import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

// The demo's Instagram: a Graph API on 127.0.0.1 that answers every call the service makes the way
// graph.instagram.com does (profiles, posts, sends, comment replies and moderation, thread control,
// token refresh), and tells the demo of each send so that the send can come back as Instagram's
// echo webhook. It keeps what it was sent, readable at `GET /demo/sends` (for the curious, and for
// the demo's test). Nothing here reaches Instagram: the service's IG_GRAPH_URL points here.

/** One call of the Send API (`POST /{IG_ID}/messages`) as it arrived, with the id it was given. */
export interface StandInSend {
  /** The message id answered (undefined for a sender action such as typing). */
  messageId: string | undefined;
  /** The customer (IGSID), or the comment a private reply answers. */
  recipient: { id?: string; comment_id?: string };
  /** The text sent, when it was text. */
  text: string | undefined;
  /** The attachment's URL, when one was sent (the first of several images). */
  attachmentUrl: string | undefined;
  /** Every attachment sent: one (`message.attachment`) or several images (`message.attachments`). */
  attachments: { type: string; url: string }[];
  body: unknown;
  at: string;
}

/** A public reply to a comment (`POST /{comment}/replies`). */
export interface StandInCommentReply {
  id: string;
  commentId: string;
  text: string | undefined;
}

export interface StandInPeople {
  /** The demo account (its IG user id and username). */
  account: { id: string; username: string };
  /** What `GET /{IGSID}` answers for the demo's customers. */
  customers: ReadonlyMap<string, { name: string; username: string }>;
  /** What `GET /{media id}` answers for the demo's posts. */
  posts: ReadonlyMap<string, { caption: string }>;
}

export interface InstagramStandIn {
  /** Its base URL: IG_GRAPH_URL. */
  readonly url: string;
  /** A picture of the demo's (an SVG), by name: `${url}/media/NAME.svg`. */
  media(name: string): string;
  readonly sends: readonly StandInSend[];
  readonly commentReplies: readonly StandInCommentReply[];
  close(): Promise<void>;
}

type Answer = { status?: number; body: unknown };

const SUCCESS: Answer = { body: { success: true } };

function graphError(message: string): Answer {
  return { status: 400, body: { error: { message, type: "OAuthException", code: 100, fbtrace_id: "DEMO" } } };
}

/** A small picture with DEMO on it, so the attachments have something to show. */
function picture(name: string): string {
  const label = name.replace(/[^a-z0-9 -]/gi, " ").slice(0, 24);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="240" viewBox="0 0 320 240"><rect width="320" height="240" fill="#f4d35e"/><text x="160" y="110" font-family="sans-serif" font-size="48" font-weight="bold" text-anchor="middle" fill="#0d3b66">DEMO</text><text x="160" y="160" font-family="sans-serif" font-size="22" text-anchor="middle" fill="#0d3b66">${label}</text></svg>`;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return Object.fromEntries(new URLSearchParams(text));
  }
}

const record = (v: unknown): Record<string, unknown> =>
  typeof v === "object" && v !== null ? (v as Record<string, unknown>) : {};

export async function startInstagramStandIn(
  people: StandInPeople,
  onSend: (send: StandInSend) => void,
): Promise<InstagramStandIn> {
  const sends: StandInSend[] = [];
  const commentReplies: StandInCommentReply[] = [];
  let seq = 0;
  let url = "";

  const answer = (method: string, path: string, query: URLSearchParams, body: unknown): Answer => {
    // The Graph API's paths carry a version first (/v25.0/…); token refresh is at the root.
    const parts = path.split("/").filter(Boolean);
    if (/^v\d+(\.\d+)?$/.test(parts[0] ?? "")) parts.shift();
    const [first = "", second] = parts;
    const fields = query.get("fields") ?? "";

    if (first === "refresh_access_token")
      return { body: { access_token: `IGAA-DEMO-${++seq}`, token_type: "bearer", expires_in: 5_184_000 } };
    if (first === "me" && second === undefined)
      return {
        body: {
          user_id: people.account.id,
          username: people.account.username,
          id: people.account.id,
          account_type: "BUSINESS",
        },
      };
    if (first === "me" && second === "subscribed_apps")
      return method === "GET"
        ? {
            body: {
              data: [
                {
                  id: "1",
                  name: "threadbridge DEMO",
                  subscribed_fields: ["messages", "comments", "mentions"],
                },
              ],
            },
          }
        : SUCCESS;
    if (first === "me" && /_thread_control$/.test(second ?? "")) return SUCCESS;
    if (first === "me" && second === "messenger_profile")
      return method === "GET" ? { body: { data: [] } } : SUCCESS;
    // `profile show` reads the flows too; the demo account has none.
    if (first === "me" && second === "welcome_message_flows")
      return method === "GET" ? { body: { data: [] } } : { body: { flow_id: "1" } };
    if (second === "conversations") return { body: { data: [], paging: { cursors: {} } } };
    if (second === "subscribed_apps") return SUCCESS;

    if (method === "POST" && second === "messages") {
      const b = record(body);
      const recipient = record(b.recipient) as StandInSend["recipient"];
      const message = record(b.message);
      const attachment = record(message.attachment);
      const attachments = (Array.isArray(message.attachments) ? message.attachments : [attachment])
        .map((a) => ({ type: record(a).type, url: record(record(a).payload).url }))
        .filter(
          (a): a is { type: string; url: string } => typeof a.type === "string" && typeof a.url === "string",
        );
      const messageId = b.message === undefined ? undefined : `aWdfZAG1faXRlbToxOkRFTU8${++seq}`;
      const send: StandInSend = {
        messageId,
        recipient,
        text: typeof message.text === "string" ? message.text : undefined,
        attachmentUrl: attachments[0]?.url,
        attachments,
        body,
        at: new Date().toISOString(),
      };
      sends.push(send);
      // Answered first, echoed after: Instagram's echo reaches the webhook a moment later.
      setImmediate(() => onSend(send));
      const customer = recipient.id ?? [...people.customers.keys()][0] ?? "";
      return { body: { recipient_id: customer, ...(messageId ? { message_id: messageId } : {}) } };
    }
    if (method === "POST" && second === "replies") {
      const reply = {
        id: `1789${String(++seq).padStart(13, "0")}`,
        commentId: first,
        text: undefined as string | undefined,
      };
      const b = record(body);
      const text = query.get("message") ?? (typeof b.message === "string" ? b.message : undefined);
      reply.text = text;
      commentReplies.push(reply);
      return { body: { id: reply.id } };
    }
    // Hide or unhide a comment, comments on or off for a post, delete a comment.
    if (query.has("hide") || query.has("comment_enabled") || method === "DELETE") return SUCCESS;

    if (method === "GET" && second === undefined) {
      const customer = people.customers.get(first);
      if (customer)
        return {
          body: {
            name: customer.name,
            username: customer.username,
            follower_count: 42,
            is_user_follow_business: true,
            is_business_follow_user: false,
            is_verified_user: false,
          },
        };
      const post = people.posts.get(first);
      if (post)
        return {
          body: {
            id: first,
            caption: post.caption,
            permalink: `${url}/p/${first}`,
            media_type: "IMAGE",
            media_product_type: "FEED",
            media_url: `${url}/media/post.svg`,
          },
        };
      if (fields.includes("messages")) return { body: { id: first, messages: { data: [] } } };
    }
    return graphError(`(#100) the DEMO Instagram does not answer ${method} ${path}`);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? "/", "http://localhost");
    const media = /^\/media\/([a-z0-9-]+)\.svg$/.exec(u.pathname);
    if (req.method === "GET" && media) {
      res.writeHead(200, { "content-type": "image/svg+xml" }).end(picture(media[1] ?? ""));
      return;
    }
    if (req.method === "GET" && u.pathname === "/demo/sends") {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ sends, commentReplies }, null, 2));
      return;
    }
    readBody(req).then(
      (body) => {
        const a = answer(req.method ?? "GET", u.pathname, u.searchParams, body);
        res.writeHead(a.status ?? 200, { "content-type": "application/json" }).end(JSON.stringify(a.body));
      },
      () => res.writeHead(400).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    media: (name) => `${url}/media/${name}.svg`,
    sends,
    commentReplies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

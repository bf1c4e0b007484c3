import { createHmac, timingSafeEqual } from "node:crypto";
import { Readable } from "node:stream";
import express from "express";
import type { AgentFile, ChatPlatform, FileSource } from "../chat/chat-port.ts";
import type { Logger } from "../log/logger.ts";

// Instagram's Send API takes attachments by public URL; an agent's upload lives privately on the
// chat platform. The service hands Instagram a short-lived signed link to itself and streams the
// file from the platform when Instagram fetches it: nothing is stored, and the link is useless
// after it expires or with one byte changed.

const TTL_MS = 60 * 60_000;

/** `<claim, base64url>.<HMAC-SHA256, base64url: 43 characters>`; claims are a few hundred bytes. */
const TOKEN = /^([A-Za-z0-9_-]{1,4096})\.([A-Za-z0-9_-]{43})$/;

type Refusal = "malformed link" | "bad signature" | "wrong file name" | "link expired";

/** What does not count as a link is not found; a forged one is forbidden; an old one is gone. */
const REFUSAL_STATUS: Record<Refusal, number> = {
  "malformed link": 404,
  "wrong file name": 404,
  "bad signature": 403,
  "link expired": 410,
};

/** The link's last segment: the file's name, without path separators. */
const linkName = (file: AgentFile) => file.name.replace(/[/\\]/g, "_");

interface Claim {
  p: ChatPlatform;
  f: AgentFile;
  e: number;
}

export class AgentFileLinks {
  private readonly key: Buffer;
  private readonly publicUrl: string;

  constructor(secret: string, publicUrl: string) {
    // A key of its own, derived so that a leaked link key reveals nothing about the token key.
    this.key = createHmac("sha256", secret).update("threadbridge agent-file links").digest();
    this.publicUrl = publicUrl;
  }

  url(platform: ChatPlatform, file: AgentFile, now = Date.now()): string {
    const claim: Claim = { p: platform, f: file, e: now + TTL_MS };
    const body = Buffer.from(JSON.stringify(claim)).toString("base64url");
    return `${this.publicUrl}/files/${body}.${this.sign(body)}/${encodeURIComponent(linkName(file))}`;
  }

  /** The file the link `/files/<token>/<name>` stands for (`name` as decoded from the path), or
   * why it does not count. */
  verify(
    token: string,
    name: string,
    now = Date.now(),
  ): { ok: true; platform: ChatPlatform; file: AgentFile } | { ok: false; reason: Refusal } {
    // Exactly what url() writes, nothing before or after: a lenient split once let any suffix
    // (`<body>.<sig>.anything`) through with the link's signature.
    const match = TOKEN.exec(token);
    if (!match) return { ok: false, reason: "malformed link" };
    const [, body = "", sig = ""] = match;
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(sig);
    if (expected.length !== given.length || !timingSafeEqual(expected, given))
      return { ok: false, reason: "bad signature" };
    const claim = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Claim;
    if (name !== linkName(claim.f)) return { ok: false, reason: "wrong file name" };
    if (claim.e < now) return { ok: false, reason: "link expired" };
    return { ok: true, platform: claim.p, file: claim.f };
  }

  private sign(body: string): string {
    return createHmac("sha256", this.key).update(body).digest("base64url");
  }
}

export function agentFilesRouter(
  links: AgentFileLinks,
  sources: ReadonlyMap<ChatPlatform, FileSource>,
  log: Logger,
): express.Router {
  // Strict and case-sensitive: `/files/<token>/<name>/` or `/FILES/…` is not a link either.
  const router = express.Router({ strict: true, caseSensitive: true });
  router.get("/files/:token/:name", async (req, res) => {
    const v = links.verify(req.params.token, req.params.name);
    if (!v.ok) {
      log.warn({ reason: v.reason }, "agent file link refused");
      const status = REFUSAL_STATUS[v.reason];
      res.status(status).json({ error: status === 404 ? "not_found" : "forbidden", detail: v.reason });
      return;
    }
    const source = sources.get(v.platform);
    if (!source) {
      res.status(404).json({ error: "not_found", detail: `${v.platform} is not configured` });
      return;
    }
    try {
      const upstream = await source.fetchFile(v.file);
      if (!upstream.ok || !upstream.body) {
        log.warn({ status: upstream.status, platform: v.platform }, "chat platform did not return the file");
        res.status(502).json({ error: "bad_gateway", detail: `${v.platform} answered ${upstream.status}` });
        return;
      }
      res.status(200).type(v.file.mimeType);
      const length = upstream.headers.get("content-length");
      if (length) res.setHeader("content-length", length);
      Readable.fromWeb(upstream.body as import("node:stream/web").ReadableStream).pipe(res);
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err) }, "agent file fetch failed");
      if (!res.headersSent)
        res.status(502).json({ error: "bad_gateway", detail: "could not fetch the file" });
    }
  });
  return router;
}

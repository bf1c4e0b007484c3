import { createHmac, timingSafeEqual } from "node:crypto";
import { Readable } from "node:stream";
import express from "express";
import type { AgentFile, ChatPlatform, FileSource } from "../bridge/chat-port.ts";
import type { Logger } from "../log/logger.ts";

// Instagram's Send API takes attachments by public URL; an agent's upload lives privately on the
// chat platform. The service hands Instagram a short-lived signed link to itself and streams the
// file from the platform when Instagram fetches it: nothing is stored, and the link is useless
// after it expires or with one byte changed.

const TTL_MS = 60 * 60_000;

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
    const name = encodeURIComponent(file.name.replace(/[/\\]/g, "_"));
    return `${this.publicUrl}/files/${body}.${this.sign(body)}/${name}`;
  }

  /** The file a link stands for, or a reason it does not count. */
  verify(
    token: string,
    now = Date.now(),
  ): { ok: true; platform: ChatPlatform; file: AgentFile } | { ok: false; reason: string } {
    const [body, sig] = token.split(".");
    if (!body || !sig) return { ok: false, reason: "malformed link" };
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(sig);
    if (expected.length !== given.length || !timingSafeEqual(expected, given))
      return { ok: false, reason: "bad signature" };
    const claim = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Claim;
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
  const router = express.Router();
  router.get("/files/:token/:name", async (req, res) => {
    const v = links.verify(req.params.token);
    if (!v.ok) {
      log.warn({ reason: v.reason }, "agent file link refused");
      res.status(v.reason === "link expired" ? 410 : 403).json({ error: "forbidden", detail: v.reason });
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

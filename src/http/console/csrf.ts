import type { Request } from "express";
import { sameSecret } from "./secrets.ts";
import type { ConsoleSession } from "./session.ts";

// Every console POST carries the session's CSRF token in `_csrf`; a browser also names the page
// that sent it in `Origin`, which must then be PUBLIC_URL's origin. Not the request's own `Host`
// (nor the scheme it implies): the client chooses those, so comparing with them proves nothing.
// SameSite=Lax cookies already keep most cross-site posts out; these two checks do not rely on
// the browser getting that right.

export function csrfOk(req: Request, session: ConsoleSession, publicUrl: string): boolean {
  const body = req.body as Record<string, unknown> | undefined;
  const token = typeof body?._csrf === "string" ? body._csrf : undefined;
  if (!token || !sameSecret(token, session.csrf)) return false;
  const origin = req.get("origin");
  if (origin === undefined) return true;
  return origin === new URL(publicUrl).origin;
}

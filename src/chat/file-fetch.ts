// Downloads of agents' uploads, for the signed /files links (src/http/agent-files.ts). fetch's
// own redirect following would send the request's headers (Slack's bot token) on to wherever a
// redirect points, and hand back the body of whatever host answered last, which the route then
// streams to Instagram as if it were the agent's file. So redirects are followed here, one by one,
// and only to URLs the platform's adapter allows.

/** A few hops are plenty for a CDN; more is a loop or a game. */
export const MAX_FILE_REDIRECTS = 3;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** GETs `url`, following at most `maxHops` redirects and each only to a URL `allowed` accepts;
 * throws (without reading any other host's body) for a redirect anywhere else. */
export async function fetchFileWithin(
  fetchFn: typeof fetch,
  url: URL,
  headers: Record<string, string>,
  allowed: (url: URL) => boolean,
  maxHops = MAX_FILE_REDIRECTS,
): Promise<Response> {
  let current = url;
  for (let hop = 0; ; hop++) {
    const res = await fetchFn(current, { headers, redirect: "manual" });
    if (!REDIRECTS.has(res.status)) return res;
    await res.body?.cancel();
    const location = res.headers.get("location");
    let next: URL | undefined;
    try {
      next = location ? new URL(location, current) : undefined;
    } catch {
      next = undefined;
    }
    if (!next) throw new Error(`file download redirected (HTTP ${res.status}) without a usable Location`);
    if (!allowed(next))
      throw new Error(`file download redirected to a host that is not allowed: ${next.host}`);
    if (hop >= maxHops) throw new Error(`file download redirected more than ${maxHops} times`);
    current = next;
  }
}

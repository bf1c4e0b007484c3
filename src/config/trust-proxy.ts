import { isIP } from "node:net";
import { z } from "zod";

// TRUST_PROXY: whose X-Forwarded-For / -Proto / -Host the service believes, in the forms Express's
// `trust proxy` setting takes. Off by default: any client can write those headers, so believing
// them from everyone lets a client choose the address the sign-in throttle and the audit log see.

/** What `app.set("trust proxy", …)` is given: off, everything, a hop count, or addresses. */
export type TrustProxy = boolean | number | string[];

/** The names proxy-addr (Express) expands to address ranges. */
const NAMED = new Set(["loopback", "linklocal", "uniquelocal"]);

const EXPECTED =
  "expected off, true, a hop count such as 1, or comma-separated loopback/linklocal/uniquelocal, IP addresses and CIDR ranges such as loopback,10.0.0.0/8";

/** What is wrong with `entry` as an IP address or CIDR range, or undefined when it is one. */
export function addressOrRangeProblem(entry: string): string | undefined {
  const slash = entry.indexOf("/");
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return `"${entry}" is not an IP address or a CIDR range`;
  if (slash === -1) return undefined;
  const bits = entry.slice(slash + 1);
  const max = family === 4 ? 32 : 128;
  // proxy-addr refuses /0: trusting every address is spelled `true`.
  if (!/^\d{1,3}$/.test(bits) || Number(bits) < 1 || Number(bits) > max)
    return `"${entry}": the prefix length must be 1 to ${max}`;
  return undefined;
}

/** The complaint about one TRUST_PROXY list entry, or undefined when Express will understand it. */
function badEntry(entry: string): string | undefined {
  return NAMED.has(entry) ? undefined : addressOrRangeProblem(entry);
}

export const trustProxyEnv = z.string().transform((raw, ctx): TrustProxy => {
  const value = raw.trim().toLowerCase();
  if (["off", "false", "no", "0"].includes(value)) return false;
  if (["true", "on", "yes"].includes(value)) return true;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops > 100) ctx.addIssue({ code: "custom", message: `${EXPECTED} (a hop count is at most 100)` });
    return hops;
  }
  const entries = value
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "");
  const problem = entries.length === 0 ? "no entry" : entries.map(badEntry).find((p) => p !== undefined);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: `${EXPECTED}; ${problem}` });
  return entries;
});

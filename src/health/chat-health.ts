import type { PgBoss } from "pg-boss";
import { type CheckResult, type NamedCheck, type PlatformProbe, WHOLE_PLATFORM } from "../chat/health.ts";
import type { ConfiguredPlatform } from "../chat/platform.ts";
import type { Database } from "../db/database.ts";
import type { Logger } from "../log/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { type Hold, holdCovering, listHolds, noteRecheck, releaseHold } from "./holds.ts";

// Honest readiness for the chat side (issue 19): every configured platform is checked at start-up
// and every CHAT_CHECK_SECONDS (its token, scopes or intents), and so is every channel accounts are
// routed to (their threads' and their digest's), through each platform's probe. The results feed
// /readyz, the `threadbridge_chat_*` gauges and the console; a change is logged once. In a worker,
// the same pass rechecks held destinations and lets their mirror work go once the probe passes.

/** How long one probe call may take before it counts as failed. */
const PROBE_TIMEOUT_MS = 10_000;

export interface DestinationStatus extends CheckResult {
  channel: string;
  checkedAt: Date;
}

export interface PlatformStatus {
  platform: string;
  label: string;
  /** Undefined until the first check answered; undefined too for a platform without a probe. */
  checks: NamedCheck[] | undefined;
  checkedAt: Date | undefined;
  /** Whether the platform has a probe at all. */
  probed: boolean;
  destinations: DestinationStatus[];
}

/** A probe call that never hangs: one that throws or takes too long is a failed check. */
export async function bounded<T extends CheckResult | NamedCheck[]>(
  call: () => Promise<T>,
  fallback: (detail: string) => T,
  ms = PROBE_TIMEOUT_MS,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      call(),
      new Promise<T>((resolve) => {
        timer = setTimeout(() => resolve(fallback(`unreachable: no answer within ${ms / 1000} s`)), ms);
      }),
    ]);
  } catch (err) {
    return fallback(`check failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

const PROBE_FAILED_FIX = "See the service's log for the error; `threadbridge doctor` runs the same checks.";

/** A platform's auth checks, bounded. */
export function authChecks(probe: PlatformProbe, ms?: number): Promise<NamedCheck[]> {
  return bounded(
    () => probe.auth(),
    (detail) => [{ name: "token", ok: false, detail, fix: PROBE_FAILED_FIX }],
    ms,
  );
}

/** A destination check, bounded. */
export function destinationCheck(probe: PlatformProbe, channel: string, ms?: number): Promise<CheckResult> {
  return bounded(
    () => probe.destination(channel),
    (detail) => ({ ok: false, detail, fix: PROBE_FAILED_FIX }),
    ms,
  );
}

/** The configured platforms' probes. */
export function probesOf(platforms: readonly ConfiguredPlatform[], log: Logger): Map<string, PlatformProbe> {
  const probes = new Map<string, PlatformProbe>();
  for (const { descriptor, settings } of platforms) {
    const probe = descriptor.probe?.(settings, { log });
    if (probe) probes.set(descriptor.name, probe);
  }
  return probes;
}

/** Each configured platform's auth checks, asked in parallel (the start-up line, `doctor`). */
export async function checkPlatformAuth(
  platforms: readonly ConfiguredPlatform[],
  log: Logger,
  ms?: number,
): Promise<Map<string, NamedCheck[]>> {
  const probes = probesOf(platforms, log);
  const out = new Map<string, NamedCheck[]>();
  await Promise.all(
    [...probes].map(async ([name, probe]) => {
      out.set(name, await authChecks(probe, ms));
    }),
  );
  return out;
}

/** Every channel accounts route to on `platforms` (threads and digests), by platform: the
 * operator's own configuration, so a bounded set. */
export async function routedChannels(
  db: Database,
  platforms: readonly string[],
): Promise<Map<string, string[]>> {
  const { rows } = await db.query<{ platform: string; channel: string }>(
    `SELECT DISTINCT chat_platform AS platform, channel FROM (
       SELECT chat_platform, chat_channel AS channel FROM instagram_accounts WHERE status <> 'removed'
       UNION ALL SELECT chat_platform, digest_channel FROM instagram_accounts WHERE status <> 'removed'
     ) c WHERE chat_platform = ANY($1::text[]) AND channel IS NOT NULL ORDER BY 1, 2`,
    [platforms],
  );
  const out = new Map<string, string[]>();
  for (const r of rows) out.set(r.platform, [...(out.get(r.platform) ?? []), r.channel]);
  return out;
}

export interface ChatHealthDeps {
  db: Database;
  platforms: readonly ConfiguredPlatform[];
  log: Logger;
  metrics: Metrics;
  intervalMs: number;
  /** Given in a worker: held destinations are rechecked, and released through it. */
  boss?: PgBoss;
  /** Probes to use instead of the descriptors' (tests). */
  probes?: Map<string, PlatformProbe>;
}

export class ChatHealth {
  readonly #deps: ChatHealthDeps;
  readonly #probes: Map<string, PlatformProbe>;
  readonly #status = new Map<string, PlatformStatus>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(deps: ChatHealthDeps) {
    this.#deps = deps;
    this.#probes = deps.probes ?? probesOf(deps.platforms, deps.log);
    for (const { descriptor } of deps.platforms)
      this.#status.set(descriptor.name, {
        platform: descriptor.name,
        label: descriptor.label,
        checks: undefined,
        checkedAt: undefined,
        probed: this.#probes.has(descriptor.name),
        destinations: [],
      });
  }

  /** Checks at once (not waited for), then every interval. */
  start(): void {
    if (this.#status.size === 0) return;
    void this.check();
    this.#timer = setInterval(() => void this.check(), this.#deps.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
  }

  /** One pass; a pass already running is waited for instead of overlapped. */
  check(): Promise<void> {
    this.#running ??= this.#pass()
      .catch((err: unknown) => this.#deps.log.error({ err }, "chat health check failed"))
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  /** The latest results, per configured platform, in the configuration's order. */
  status(): PlatformStatus[] {
    return [...this.#status.values()];
  }

  async #pass(): Promise<void> {
    const { db, log, metrics } = this.#deps;
    const names = [...this.#status.keys()];
    const routed = await routedChannels(db, names);
    await Promise.all(
      names.map(async (name) => {
        const probe = this.#probes.get(name);
        const status = this.#status.get(name);
        if (!probe || !status || this.#stopped) return;
        const checks = await authChecks(probe);
        this.#noteAuth(status, checks);
        metrics.chatPlatformUp.set({ platform: name }, checks.every((c) => c.ok) ? 1 : 0);
        // With the token refused every channel would fail the same way: they are not asked.
        const tokenOk = checks.find((c) => c.name === "token")?.ok !== false;
        const destinations: DestinationStatus[] = [];
        for (const channel of routed.get(name) ?? []) {
          if (this.#stopped) return;
          const result = tokenOk
            ? await destinationCheck(probe, channel)
            : { ok: false, detail: "not checked: the token is refused" };
          const previous = status.destinations.find((d) => d.channel === channel);
          if (tokenOk && previous?.ok !== false && !result.ok)
            log.warn(
              { platform: name, channel, detail: result.detail, fix: result.fix },
              "chat destination failing",
            );
          else if (previous && !previous.ok && result.ok)
            log.info({ platform: name, channel }, "chat destination passes its check again");
          destinations.push({ channel, ...result, checkedAt: new Date() });
        }
        status.destinations = destinations;
      }),
    );
    metrics.chatDestinationUp.reset();
    for (const status of this.#status.values())
      for (const d of status.destinations)
        metrics.chatDestinationUp.set({ platform: status.platform, channel: d.channel }, d.ok ? 1 : 0);
    if (this.#deps.boss && !this.#stopped) await this.#recheckHolds(this.#deps.boss);
  }

  #noteAuth(status: PlatformStatus, checks: NamedCheck[]): void {
    const { log } = this.#deps;
    const failing = checks.filter((c) => !c.ok);
    const before = status.checks;
    status.checks = checks;
    status.checkedAt = new Date();
    const wasOk = before?.every((c) => c.ok);
    if (failing.length > 0 && wasOk !== false)
      log.error(
        {
          platform: status.platform,
          failing: failing.map((c) => ({ check: c.name, detail: c.detail, fix: c.fix })),
        },
        `chat platform failing: ${failing.map((c) => c.detail).join("; ")}`,
      );
    else if (failing.length === 0 && wasOk === false)
      log.info({ platform: status.platform }, "chat platform passes its checks again");
  }

  /** Lets go of every hold whose destination passes its check now; notes what the others found. */
  async #recheckHolds(boss: PgBoss): Promise<void> {
    const { db, log } = this.#deps;
    for (const hold of await listHolds(db)) {
      const probe = this.#probes.get(hold.platform);
      const status = this.#status.get(hold.platform);
      if (!probe || !status) continue;
      const result = await this.#recheck(probe, status, hold);
      if (!result.ok) {
        await noteRecheck(db, hold.platform, hold.channel, result.detail);
        continue;
      }
      const { released, woken } = await releaseHold(db, boss, hold.platform, hold.channel);
      if (released)
        log.info(
          { platform: hold.platform, channel: hold.channel, reason: hold.reason, woken },
          "chat destination usable again; its held mirror work resumes in order",
        );
    }
  }

  async #recheck(probe: PlatformProbe, status: PlatformStatus, hold: Hold): Promise<CheckResult> {
    const auth = status.checks ?? [];
    const authFailure = auth.find((c) => !c.ok);
    if (hold.channel === WHOLE_PLATFORM)
      return (
        authFailure ??
        (auth.length
          ? { ok: true, detail: "the platform's checks pass" }
          : { ok: false, detail: "not checked yet" })
      );
    if (authFailure) return authFailure;
    // Checked in this pass when it is a routed channel; asked now otherwise (a thread's old channel).
    return (
      status.destinations.find((d) => d.channel === hold.channel) ?? destinationCheck(probe, hold.channel)
    );
  }

  /** The holds (from the database: every process sees the same), for readiness and the console. */
  holds(): Promise<Hold[]> {
    return listHolds(this.#deps.db);
  }
}

export { holdCovering };

/** A platform as /readyz reports it: never unavailable (webhooks are still stored), degraded while
 * its check fails, a routed channel fails, or mirror work is held. */
export function platformReadiness(
  status: PlatformStatus,
  holds: readonly Hold[],
): { ok: true; degraded?: true; detail: string } {
  const problems: string[] = [];
  const failing = status.checks?.filter((c) => !c.ok) ?? [];
  if (failing.length) problems.push(`failing (${failing.map((c) => c.detail).join("; ")})`);
  const channels = status.destinations.filter((d) => !d.ok);
  if (!failing.length && channels.length)
    problems.push(
      `${channels.length} of ${status.destinations.length} channel(s) failing: ${channels.map((d) => `${d.channel} (${d.detail})`).join(", ")}`,
    );
  const held = holds.filter((h) => h.platform === status.platform);
  if (held.length)
    problems.push(
      `mirror work held for ${held
        .map(
          (h) =>
            `${h.channel === WHOLE_PLATFORM ? "every channel" : h.channel} (${h.reason}) since ${h.heldAt.toISOString()}`,
        )
        .join(", ")}`,
    );
  if (problems.length) return { ok: true, degraded: true, detail: problems.join("; ") };
  if (!status.probed) return { ok: true, detail: "on (this platform has no checks)" };
  if (!status.checks) return { ok: true, detail: "on (first check under way)" };
  return { ok: true, detail: `ok (${status.destinations.length} channel(s) checked)` };
}

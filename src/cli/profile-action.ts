import { createInterface } from "node:readline/promises";
import { InvalidArgumentError } from "commander";
import { Redis } from "ioredis";
import { recordAudit } from "../audit/audit-log.ts";
import type { Config } from "../config/config.ts";
import type { Database } from "../db/database.ts";
import { GraphClient, type Result } from "../instagram/graph-client.ts";
import { TokenCipher } from "../instagram/token-cipher.ts";
import type { Logger } from "../log/logger.ts";
import { Metrics } from "../observability/metrics.ts";
import { InstagramGateway } from "../outbound/instagram-gateway.ts";
import { parseProfileFile } from "../profile/file.ts";
import {
  type FieldChange,
  fieldLines,
  formatChanges,
  type MessagingProfile,
  PROFILE_FIELDS,
  profileChanges,
  profileFromGraph,
  profilePayloads,
} from "../profile/profile.ts";
import { OutboundLimiter } from "../ratelimit/limiter.ts";
import { formatRuleFileErrors } from "../rules/load.ts";
import { type ProfileCommandDeps, ProfileFileInvalid } from "./profile-command.ts";

// The actions of `threadbridge profile show|apply`, loaded only when one runs. Every Graph call
// goes through the outbound gateway, under the account's `platform` class of the shared limiter
// (through Redis when REDIS_URL is set, so the running service's calls and these count together),
// and honours the pause switches and the account's token state like every other call.

/** A Graph call that did not succeed: its reason is for people (exit 1). */
class ProfileCallFailed extends Error {}

interface Profiled {
  call<T>(what: string, fn: (graph: GraphClient, token: string) => Promise<Result<T>>): Promise<T>;
}

async function withGateway<T>(
  db: Database,
  config: Config,
  log: Logger,
  account: string,
  fn: (profiled: Profiled) => Promise<T>,
): Promise<T> {
  const { rows } = await db.query<{ id: string }>("SELECT id FROM instagram_accounts WHERE id = $1", [
    account,
  ]);
  if (rows.length === 0) throw new InvalidArgumentError(`no account ${account} (see \`accounts list\`)`);
  let redis: Redis | undefined;
  if (config.redisUrl) {
    redis = new Redis(config.redisUrl, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      lazyConnect: true,
    });
    redis.on("error", (err: Error) => log.warn({ err: err.message }, "redis connection problem"));
    // Unreachable, the limiter paces this process alone (its insurance share), as the service does.
    await redis.connect().catch((err: Error) => log.warn({ err: err.message }, "redis not reachable"));
  }
  const limiter = new OutboundLimiter({
    ...(redis ? { redis } : {}),
    limits: config.rateLimits,
    guardMs: config.rateLimitGuardMs,
    processes: config.outboundWorkers,
    log,
  });
  const graph = new GraphClient({
    baseUrl: config.instagram.graphUrl,
    apiVersion: config.instagram.apiVersion,
  });
  const gateway = new InstagramGateway({
    db,
    graph,
    limiter,
    cipher: config.tokenEncryptionKeys ? TokenCipher.fromConfig(config.tokenEncryptionKeys) : undefined,
    log,
    metrics: new Metrics(),
  });
  try {
    return await fn({
      call: async (what, call) => {
        const outcome = await gateway.call(account, "platform", (token) => call(gateway.graph, token), {
          maxWaitMs: 30_000,
        });
        switch (outcome.kind) {
          case "ok":
            return outcome.value;
          case "held":
            throw new ProfileCallFailed(`${what}: ${outcome.reason}`);
          case "deferred":
            throw new ProfileCallFailed(
              `${what}: ${outcome.reason}; try again in ${Math.ceil(outcome.retryAfterMs / 1000)} s`,
            );
          default:
            throw new ProfileCallFailed(
              `${what}: ${outcome.error.reason}${outcome.error.code !== undefined ? ` (code ${outcome.error.code})` : ""}: ${outcome.error.message}`,
            );
        }
      },
    });
  } finally {
    limiter.dispose();
    if (redis) await redis.quit().catch(() => redis?.disconnect());
  }
}

/** The two fields as Instagram has them: one read per field, as reference 2.9 documents them. */
async function currentProfile(profiled: Profiled): Promise<MessagingProfile> {
  const fields: Record<string, unknown> = {};
  for (const field of PROFILE_FIELDS)
    Object.assign(
      fields,
      await profiled.call(`reading ${field}`, (graph, token) => graph.getMessengerProfile(token, [field])),
    );
  return profileFromGraph(fields);
}

async function reporting(run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (!(err instanceof ProfileCallFailed)) throw err;
    process.stderr.write(`threadbridge: ${err.message}\n`);
    process.exitCode = 1;
  }
}

export async function showProfile(deps: ProfileCommandDeps, account: string, json: boolean): Promise<void> {
  await reporting(async () => {
    // A read: the database is only read (no migration), Instagram only asked.
    const profile = await deps.withDatabase(
      (db, config) => withGateway(db, config, deps.log(), account, currentProfile),
      "read",
    );
    if (json) {
      process.stdout.write(`${JSON.stringify({ version: 1, ...profile }, null, 2)}\n`);
      return;
    }
    for (const field of PROFILE_FIELDS) {
      const lines = fieldLines(field, profile);
      process.stdout.write(`${field}:${lines.length ? "" : " none"}\n`);
      for (const line of lines) process.stdout.write(`  ${line}\n`);
    }
  });
}

async function confirmed(): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question("apply these changes to Instagram? [y/N] ")).trim());
  } finally {
    rl.close();
  }
}

export async function applyProfile(
  deps: ProfileCommandDeps,
  file: string,
  account: string,
  yes: boolean,
): Promise<void> {
  const parsed = parseProfileFile(deps.readText(file), file);
  if (!parsed.ok) throw new ProfileFileInvalid(formatRuleFileErrors(file, parsed.errors));
  const wanted = parsed.profile;
  await reporting(() =>
    deps.withDatabase(
      (db, config) =>
        withGateway(db, config, deps.log(), account, async (profiled) => {
          const changes = profileChanges(await currentProfile(profiled), wanted);
          process.stdout.write(formatChanges(changes));
          const todo = changes.filter(
            (c): c is Extract<FieldChange, { kind: "set" | "remove" }> =>
              c.kind === "set" || c.kind === "remove",
          );
          if (todo.length === 0) {
            process.stdout.write("nothing to change\n");
            return;
          }
          if (!yes) {
            if (!process.stdin.isTTY) {
              process.stderr.write(
                "threadbridge: not applied: standard input is not a terminal, so nothing was asked; add --yes to apply\n",
              );
              process.exitCode = 1;
              return;
            }
            if (!(await confirmed())) {
              process.stdout.write("not applied\n");
              process.exitCode = 1;
              return;
            }
          }
          for (const change of todo) {
            const value = wanted[change.field] ?? [];
            await profiled.call(`setting ${change.field}`, (graph, token) =>
              change.kind === "remove"
                ? graph.deleteMessengerProfile(token, [change.field])
                : graph.setMessengerProfile(token, { [change.field]: value }),
            );
            // Each field is its own call: what reached Instagram is audited even if a later one fails.
            await recordAudit(db, {
              actor: { kind: "operator", id: deps.operator() },
              account,
              action: "profile_apply",
              target: change.field,
              details: {
                change: change.kind,
                file,
                locales: value.map((b) => b.locale),
                payloads: profilePayloads({ [change.field]: value }),
              },
            });
            process.stdout.write(`${change.kind === "remove" ? "removed" : "set"} ${change.field}\n`);
          }
        }),
      "write",
    ),
  );
}

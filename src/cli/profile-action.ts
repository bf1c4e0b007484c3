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
  type FlowChange,
  fieldLines,
  flowBody,
  flowChanges,
  flowPayloads,
  flowSummary,
  flowsFromGraph,
  formatChanges,
  formatFlowChanges,
  type InstagramFlow,
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

/** Pages of flows read at most: a diff against a partial list would create flows that exist. */
const FLOW_PAGES = 40;

/** The account's welcome message flows, every page; an answer missing a field the diff needs is
 * an error, and so is a list longer than FLOW_PAGES pages. */
async function currentFlows(profiled: Profiled): Promise<InstagramFlow[]> {
  const entries: Record<string, unknown>[] = [];
  let after: string | undefined;
  for (let page = 1; ; page++) {
    const read = await profiled.call("reading welcome_message_flows", (graph, token) =>
      graph.listWelcomeMessageFlows(token, after),
    );
    entries.push(...read.flows);
    after = read.after;
    if (!after) break;
    if (page === FLOW_PAGES)
      throw new ProfileCallFailed(
        `reading welcome_message_flows: more than ${FLOW_PAGES} pages (${entries.length} flows so far); not compared`,
      );
  }
  const read = flowsFromGraph(entries);
  if (!read.ok) throw new ProfileCallFailed(`reading welcome_message_flows: ${read.problem}`);
  return read.flows;
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
    const { profile, flows } = await deps.withDatabase(
      (db, config) =>
        withGateway(db, config, deps.log(), account, async (profiled) => ({
          profile: await currentProfile(profiled),
          // The ice breakers and menu are worth showing when the flows cannot be read (a young
          // endpoint, an app without the feature); JSON, read by programs, is all or nothing.
          flows: await currentFlows(profiled).catch((err: unknown) => {
            if (json || !(err instanceof ProfileCallFailed)) throw err;
            return err;
          }),
        })),
      "read",
    );
    const writeFields = () => {
      for (const field of PROFILE_FIELDS) {
        const lines = fieldLines(field, profile);
        process.stdout.write(`${field}:${lines.length ? "" : " none"}\n`);
        for (const line of lines) process.stdout.write(`  ${line}\n`);
      }
    };
    if (flows instanceof ProfileCallFailed) {
      writeFields();
      process.stdout.write("welcome_message_flows: could not be read\n");
      throw flows;
    }
    if (json) {
      const welcome_message_flows = flows.map((f) => ({ name: f.name, messages: f.messages }));
      process.stdout.write(`${JSON.stringify({ version: 1, ...profile, welcome_message_flows }, null, 2)}\n`);
      return;
    }
    writeFields();
    process.stdout.write(`welcome_message_flows:${flows.length ? "" : " none"}\n`);
    for (const flow of flows) process.stdout.write(`  ${flowSummary(flow)}\n`);
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
          // Flows are read only when the file lists them: a file without them leaves them alone.
          const flows = wanted.welcome_message_flows
            ? flowChanges(await currentFlows(profiled), wanted.welcome_message_flows)
            : undefined;
          if (flows) process.stdout.write(formatFlowChanges(flows));
          else process.stdout.write("welcome_message_flows: not in the file, left as they are\n");
          if (flows?.some((f) => f.kind === "ambiguous")) {
            process.stderr.write(
              "threadbridge: not applied: several flows on Instagram share a name the file uses; rename them apart first\n",
            );
            process.exitCode = 1;
            return;
          }
          const flowTodo = (flows ?? []).filter(
            (c): c is Extract<FlowChange, { kind: "create" | "update" }> =>
              c.kind === "create" || c.kind === "update",
          );
          if (todo.length === 0 && flowTodo.length === 0) {
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
          for (const change of flowTodo) {
            const body = flowBody(change.flow);
            const flowId =
              change.kind === "create"
                ? (
                    await profiled.call(
                      `creating welcome message flow ${JSON.stringify(change.flow.name)}`,
                      (graph, token) => graph.createWelcomeMessageFlow(token, body),
                    )
                  ).flowId
                : change.flowId;
            if (change.kind === "update")
              await profiled.call(
                `updating welcome message flow ${JSON.stringify(change.flow.name)}`,
                (graph, token) => graph.updateWelcomeMessageFlow(token, flowId, body),
              );
            await recordAudit(db, {
              actor: { kind: "operator", id: deps.operator() },
              account,
              action: "profile_apply",
              target: "welcome_message_flows",
              details: {
                change: change.kind,
                file,
                flow: change.flow.name,
                flow_id: flowId,
                messages: change.flow.messages.length,
                payloads: flowPayloads(change.flow),
              },
            });
            process.stdout.write(
              `${change.kind === "create" ? "created" : "updated"} welcome message flow ${JSON.stringify(change.flow.name)} (flow ${flowId})\n`,
            );
          }
        }),
      "write",
    ),
  );
}

import { type Command, InvalidArgumentError } from "commander";
import type { PgBoss } from "pg-boss";
import type { Config } from "../config/config.ts";
import type { Database } from "../db/database.ts";
import type { DigestSpan } from "../digest/digest-service.ts";
import type { DigestJob } from "../queue/boss.ts";

// `threadbridge digest`: post an account's digest now (through the worker, which holds the chat
// clients), or print it here.

type WithDatabase = <T>(fn: (db: Database, config: Config) => Promise<T>) => Promise<T>;
type WithQueue = <T>(fn: (db: Database, boss: PgBoss) => Promise<T>) => Promise<T>;

function since(text: string): DigestSpan {
  if (text !== "24h" && text !== "7d") throw new InvalidArgumentError("expected 24h or 7d");
  return text;
}

function span(text: string): DigestSpan {
  if (text !== "daily" && text !== "weekly") throw new InvalidArgumentError("expected daily or weekly");
  return text;
}

interface Options {
  account?: string;
  since?: DigestSpan;
  span?: DigestSpan;
  print?: boolean;
  json?: boolean;
}

export function registerDigestCommand(
  program: Command,
  withDatabase: WithDatabase,
  withQueue: WithQueue,
): void {
  program
    .command("digest")
    .description("post the managers' digest now (every account with a channel, or one), or print it")
    .option("--account <id>", "only this account (Instagram user id or username)")
    .option("--since <span>", "the last 24h (default) or 7d", since)
    .option("--span <kind>", "the last whole local day (daily) or week (weekly) instead", span)
    .option("--print", "print it here instead of posting it")
    .option("--json", "print the figures as JSON")
    .action(async (opts: Options) => {
      if (opts.since && opts.span) throw new InvalidArgumentError("give --since or --span, not both");
      const kind: DigestSpan = opts.span ?? opts.since ?? "24h";
      if (opts.print || opts.json) {
        if (!opts.account) throw new InvalidArgumentError("--print and --json need --account");
        const account = opts.account;
        const [{ DigestService }, { digestText }, { createLogger }] = await Promise.all([
          import("../digest/digest-service.ts"),
          import("../digest/digest-text.ts"),
          import("../log/logger.ts"),
        ]);
        const digest = await withDatabase(async (db, config) => {
          const service = new DigestService({ db, adapters: new Map(), config, log: createLogger("silent") });
          const found = await service.account(account);
          if (!found) throw new InvalidArgumentError(`no account ${account} (see \`accounts list\`)`);
          return service.compute(found, kind);
        });
        process.stdout.write(opts.json ? `${JSON.stringify(digest, null, 2)}\n` : `${digestText(digest)}\n`);
        return;
      }
      // queue/boss.ts brings the database driver with it: loaded when a digest is queued.
      const { DIGEST_QUEUE } = await import("../queue/boss.ts");
      const queued = await withQueue(async (db, boss) => {
        const accounts = await postable(db, opts.account);
        for (const id of accounts) await boss.send(DIGEST_QUEUE, { account: id, kind } satisfies DigestJob);
        return accounts;
      });
      process.stdout.write(
        `queued the ${kind} digest of ${queued.join(", ")}; a running worker posts it to the digest channel (or the account's channel)\n`,
      );
    });
}

/** The accounts to post for: the one named, or every active account routed to chat. */
async function postable(db: Database, idOrName: string | undefined): Promise<string[]> {
  if (idOrName === undefined) {
    const { rows } = await db.query<{ id: string }>(
      "SELECT id FROM instagram_accounts WHERE status = 'active' AND chat_platform IS NOT NULL ORDER BY id",
    );
    if (rows.length === 0) throw new InvalidArgumentError("no account is routed to a chat channel yet");
    return rows.map((r) => r.id);
  }
  const { rows } = await db.query<{ id: string; chat_platform: string | null }>(
    "SELECT id, chat_platform FROM instagram_accounts WHERE id = $1 OR lower(username) = lower($1) LIMIT 1",
    [idOrName.replace(/^@/, "")],
  );
  const row = rows[0];
  if (!row) throw new InvalidArgumentError(`no account ${idOrName} (see \`accounts list\`)`);
  if (!row.chat_platform)
    throw new InvalidArgumentError(`account ${idOrName} is not routed to a chat channel`);
  return [row.id];
}

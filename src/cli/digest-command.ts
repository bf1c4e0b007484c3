import { type Command, InvalidArgumentError } from "commander";
import type { PgBoss } from "pg-boss";
import type { Config } from "../config/config.ts";
import type { Database } from "../db/database.ts";
import { DigestService, type DigestSpan } from "../digest/digest-service.ts";
import { digestText } from "../digest/digest-text.ts";
import { createLogger } from "../log/logger.ts";
import { DIGEST_QUEUE, type DigestJob } from "../queue/boss.ts";

// `threadbridge digest`: an account's digest printed here, or queued for the worker to post.

type WithDatabase = <T>(fn: (db: Database, config: Config) => Promise<T>) => Promise<T>;
type WithQueue = <T>(fn: (db: Database, boss: PgBoss) => Promise<T>) => Promise<T>;

const SPANS = ["daily", "weekly", "24h", "7d"] as const;

function span(text: string): DigestSpan {
  if (!(SPANS as readonly string[]).includes(text))
    throw new InvalidArgumentError("expected daily, weekly, 24h or 7d");
  return text as DigestSpan;
}

export function registerDigestCommand(
  program: Command,
  withDatabase: WithDatabase,
  withQueue: WithQueue,
): void {
  program
    .command("digest")
    .description(
      "an account's digest: conversations, response times, SLA, agents, rules, moderation, failures",
    )
    .requiredOption("--account <id>", "the account (Instagram user id or username)")
    .option("--span <span>", "daily (yesterday), weekly (last week), 24h or 7d (default daily)", span)
    .option("--json", "print the figures as JSON")
    .option("--post", "have the worker post it to the account's digest channel instead of printing it")
    .action(async (opts: { account: string; span?: DigestSpan; json?: boolean; post?: boolean }) => {
      const kind = opts.span ?? "daily";
      if (opts.post) {
        const id = await withQueue(async (db, boss) => {
          const account = await accountOf(db, opts.account);
          await boss.send(DIGEST_QUEUE, { account: account.id, kind } satisfies DigestJob);
          return account.id;
        });
        process.stdout.write(`queued the ${kind} digest of ${id}; a worker posts it to its digest channel\n`);
        return;
      }
      const digest = await withDatabase(async (db, config) => {
        const service = new DigestService({ db, adapters: new Map(), config, log: createLogger("silent") });
        const account = await service.account(opts.account);
        if (!account) throw new InvalidArgumentError(`no account ${opts.account} (see \`accounts list\`)`);
        return service.compute(account, kind);
      });
      process.stdout.write(opts.json ? `${JSON.stringify(digest, null, 2)}\n` : `${digestText(digest)}\n`);
    });
}

async function accountOf(db: Database, idOrName: string): Promise<{ id: string }> {
  const { rows } = await db.query<{ id: string; digest_channel: string | null }>(
    "SELECT id, digest_channel FROM instagram_accounts WHERE id = $1 OR lower(username) = lower($1) LIMIT 1",
    [idOrName.replace(/^@/, "")],
  );
  const row = rows[0];
  if (!row) throw new InvalidArgumentError(`no account ${idOrName} (see \`accounts list\`)`);
  if (!row.digest_channel)
    throw new InvalidArgumentError(
      `account ${idOrName} has no digest channel: threadbridge accounts route ${row.id} --slack-channel … --digest-channel …`,
    );
  return row;
}

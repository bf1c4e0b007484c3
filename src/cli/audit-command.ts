import { type Command, InvalidArgumentError } from "commander";
import { parseSince, queryAudit } from "../audit/audit-query.ts";
import type { Database } from "../db/database.ts";
import { wholeNumber } from "./options.ts";
import { formatTable } from "./table.ts";

// `threadbridge audit`: what the team and the automation did, newest first.

type WithDatabase = <T>(fn: (db: Database) => Promise<T>) => Promise<T>;

function since(text: string): Date {
  const at = parseSince(text);
  if (!at) throw new InvalidArgumentError("expected 30m, 24h, 7d, 2w or a date such as 2026-11-01");
  return at;
}

const limit = wholeNumber(1, 10_000);

export function registerAuditCommand(program: Command, withDatabase: WithDatabase): void {
  program
    .command("audit")
    .description(
      "read the audit log: replies, auto-replies, moderation, consent, data requests, refusals, tokens",
    )
    .option("--account <id>", "only this Instagram account")
    .option("--since <when>", "from this long ago (30m, 24h, 7d) or this date", since)
    .option(
      "--actor <id>",
      "only this actor (a chat user as PLATFORM:ID, a rule id; a trailing * matches a prefix)",
    )
    .option("--action <name>", "only this action (a trailing * matches a prefix, e.g. comment_*)")
    .option("--limit <n>", "at most this many entries (default 200)", limit)
    .option("--json", "print JSON, one entry per line")
    .action(
      async (opts: {
        account?: string;
        since?: Date;
        actor?: string;
        action?: string;
        limit?: number;
        json?: boolean;
      }) => {
        const rows = await withDatabase((db) => queryAudit(db, opts));
        if (opts.json) {
          for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
          return;
        }
        if (rows.length === 0) {
          process.stdout.write("no audit entries match\n");
          return;
        }
        process.stdout.write(
          formatTable([
            ["at", "actor", "account", "action", "target", "details"],
            ...rows.map((r) => [
              r.at.toISOString(),
              r.actorId ?? r.actorKind,
              r.account ?? "",
              r.action,
              r.target ?? "",
              Object.keys(r.details).length > 0 ? JSON.stringify(r.details) : "",
            ]),
          ]),
        );
      },
    );
}

import { type Command, InvalidArgumentError } from "commander";
import type { PgBoss } from "pg-boss";
import type { Database } from "../db/database.ts";
import type { AccountSummary } from "../instagram/accounts.ts";
import type { RefreshCounts } from "../instagram/token-refresh.ts";
import type { TokenRefreshJob } from "../queue/boss.ts";
import { wholeNumber } from "./options.ts";

// The token side of `threadbridge accounts`: a token read from standard input (out of shell
// history and `ps`), its state in `accounts list` (never the token), and a refresh pass on demand.

type WithQueue = <T>(fn: (db: Database, boss: PgBoss) => Promise<T>) => Promise<T>;

/** The token of `accounts add`: exactly one of `--token` and `--token-stdin`. */
export async function tokenOption(
  opts: { token?: string; tokenStdin?: boolean },
  stdin: NodeJS.ReadStream = process.stdin,
): Promise<string> {
  if (opts.token !== undefined && opts.tokenStdin)
    throw new InvalidArgumentError("give exactly one of --token or --token-stdin, not both");
  if (opts.token !== undefined) {
    if (opts.token.trim() === "") throw new InvalidArgumentError("--token must not be empty");
    return opts.token;
  }
  if (!opts.tokenStdin)
    throw new InvalidArgumentError(
      "give exactly one of --token or --token-stdin (the token on standard input keeps it out of shell history)",
    );
  if (stdin.isTTY) process.stderr.write("paste the token, then press Enter and Ctrl-D\n");
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  const token = Buffer.concat(chunks).toString("utf8").trim();
  if (token === "") throw new InvalidArgumentError("--token-stdin: standard input was empty");
  if (/\s/.test(token))
    throw new InvalidArgumentError(
      "--token-stdin: expected one token on standard input, found several words",
    );
  return token;
}

/** The token column of `accounts list`: when it was connected or refreshed, or what went wrong. */
export function tokenState(a: AccountSummary): string {
  if (!a.hasToken)
    return a.status === "token_invalid" && a.tokenProblem ? `deleted: ${a.tokenProblem}` : "none";
  const since = a.tokenRefreshedAt
    ? `refreshed ${a.tokenRefreshedAt.toISOString().slice(0, 10)}`
    : "age unknown";
  return a.tokenProblem ? `${since}; ${a.tokenProblem}` : since;
}

const seconds = wholeNumber(1, 3600, "seconds");

export function registerRefreshTokensCommand(accounts: Command, withQueue: WithQueue): void {
  accounts
    .command("refresh-tokens")
    .description(
      "run the token refresh pass now (in the running worker, which alerts the owners) and print its counts",
    )
    .option("--wait <seconds>", "how long to wait for the worker (default 120)", seconds)
    .action(async (opts: { wait?: number }) => {
      const waitMs = (opts.wait ?? 120) * 1000;
      // queue/boss.ts brings the database driver with it: loaded when the pass is asked for.
      const { TOKEN_REFRESH_QUEUE } = await import("../queue/boss.ts");
      const outcome = await withQueue(async (_db, boss) => {
        const job: TokenRefreshJob = { by: `cli:${process.env.USER ?? "operator"}` };
        const id = await boss.send(TOKEN_REFRESH_QUEUE, job);
        if (!id) return { error: "the refresh pass could not be queued" };
        for (const until = Date.now() + waitMs; Date.now() < until; ) {
          const ran = await boss.getJobById<object>(TOKEN_REFRESH_QUEUE, id);
          if (ran?.state === "completed") return { counts: ran.output as RefreshCounts };
          // A pass fails as a whole only when the database does; the worker tries it again later.
          if (ran?.state === "failed" || ran?.state === "retry")
            return { error: `the refresh pass failed: ${JSON.stringify(ran.output).slice(0, 300)}` };
          await new Promise((r) => setTimeout(r, 250));
        }
        await boss.cancel(TOKEN_REFRESH_QUEUE, id);
        return {
          error: `no worker ran the refresh pass within ${waitMs / 1000} s, so it was cancelled: start one (\`threadbridge worker\` or \`npm start\`); it also runs the pass daily`,
        };
      });
      if ("error" in outcome) {
        process.stderr.write(`threadbridge: ${outcome.error}\n`);
        process.exitCode = 1;
        return;
      }
      const c = outcome.counts;
      process.stdout.write(
        `tokens: ${c.refreshed} refreshed, ${c.notDue} not due, ${c.invalid} invalid, ${c.expired} expired, ${c.failed} failed (tried again by the next pass)\n`,
      );
      if (c.invalid + c.expired + c.failed > 0) process.exitCode = 1;
    });
}

import { type Command, InvalidArgumentError } from "commander";
import type { Config } from "../config/config.ts";
import type { Database } from "../db/database.ts";
import type { Logger } from "../log/logger.ts";

// `threadbridge profile show|apply`: an Instagram account's ice breakers and persistent menu as
// code (issue 22). This module only declares the commands: each action loads what it runs
// (cli/profile-action.ts, the Graph client, the limiter) when it runs, so `--help` stays fast.

/** A profile file with errors: nothing was sent (exit 65, as for rule and saved replies files). */
export class ProfileFileInvalid extends Error {}

export interface ProfileCommandDeps {
  withDatabase<T>(fn: (db: Database, config: Config) => Promise<T>, access: "read" | "write"): Promise<T>;
  readText(file: string): string;
  /** Who is running the command, as the audit log names operators. */
  operator(): string;
  log(): Logger;
}

function accountOption(id: string): string {
  if (!/^\d+$/.test(id))
    throw new InvalidArgumentError(`not an Instagram account id: ${id} (ids are digits)`);
  return id;
}

export function registerProfileCommand(program: Command, deps: ProfileCommandDeps): void {
  const profile = program
    .command("profile")
    .description(
      "an account's messaging profile on Instagram: ice breakers, persistent menu, welcome message flows",
    );

  profile
    .command("show")
    .description(
      "print the account's ice breakers, persistent menu and welcome message flows as Instagram has them",
    )
    .requiredOption("--account <id>", "the Instagram account (its user id)", accountOption)
    .option("--json", "as JSON, in the file's format (a starting point for `profile apply`)")
    .action(async (opts: { account: string; json?: boolean }) => {
      const { showProfile } = await import("./profile-action.ts");
      await showProfile(deps, opts.account, Boolean(opts.json));
    });

  profile
    .command("apply")
    .description(
      "make the account's ice breakers, persistent menu and welcome message flows what a YAML or JSON file says (flows it does not name are left alone): prints the diff, then applies with --yes (or after asking at a terminal)",
    )
    .argument("<file>", "the profile file")
    .requiredOption("--account <id>", "the Instagram account (its user id)", accountOption)
    .option("--yes", "apply without asking")
    .action(async (file: string, opts: { account: string; yes?: boolean }) => {
      const { applyProfile } = await import("./profile-action.ts");
      await applyProfile(deps, file, opts.account, Boolean(opts.yes));
    });
}

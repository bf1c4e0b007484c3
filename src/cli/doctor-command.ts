import type { Command } from "commander";
import type { Config } from "../config/config.ts";
import type { Database } from "../db/database.ts";

// `threadbridge doctor [--json]` (issue 19): the checks of health/doctor.ts, one line each, exit 0
// when every one passes and 1 otherwise. It reads the database without migrating it.

export function registerDoctorCommand(program: Command, configuration: () => Config): void {
  program
    .command("doctor")
    .description(
      "check the whole setup now: database, Redis, each account's Instagram token, webhooks and expiry, the webhook URL, each chat platform and channel (exit 1 if anything fails)",
    )
    .option("--json", "print the checks as a JSON array")
    .action(async (opts: { json?: boolean }) => {
      const config = configuration();
      // The checks (the database driver, Redis, every platform's probe) load when the doctor runs.
      const [{ openDatabase }, { doctorExitCode, formatDoctor, runDoctor }, { createLogger }] =
        await Promise.all([
          import("../db/database.ts"),
          import("../health/doctor.ts"),
          import("../log/logger.ts"),
        ]);
      // Library warnings go to standard error, so standard output stays the report (or the JSON).
      const log = createLogger(config.logLevel, { destination: process.stderr });
      let db: Database | { error: unknown };
      try {
        db = await openDatabase(config.database);
      } catch (error) {
        db = { error };
      }
      try {
        const checks = await runDoctor({ config, log, db });
        process.stdout.write(opts.json ? `${JSON.stringify(checks, null, 2)}\n` : formatDoctor(checks));
        process.exitCode = doctorExitCode(checks);
      } finally {
        if (!("error" in db)) await db.close();
      }
    });
}

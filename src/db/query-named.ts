import type { SqlClient } from "./database.ts";

// Apart from database.ts so that a module which only runs statements (the rules store, imported by
// the CLI's definitions) does not load the driver: `threadbridge --help` loads no pg
// (test/cli/help-loads.test.ts).

/** `client.queryPrepared` where it has it, else the same statement unnamed (PGlite). */
export function queryNamed<R extends object = Record<string, unknown>>(
  client: SqlClient,
  name: string,
  text: string,
  params?: unknown[],
): Promise<{ rows: R[] }> {
  return client.queryPrepared ? client.queryPrepared<R>(name, text, params) : client.query<R>(text, params);
}

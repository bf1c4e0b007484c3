import type { Database, SqlClient } from "../../src/db/database.ts";

/** A commit seen by `observedCommits`. */
export interface Commit {
  /** The statement's name (or its first words), or "transaction" for one the code began. */
  statement: string;
  /** synchronous_commit in force when it committed: "off" for a commit without the flush. */
  synchronousCommit: string;
}

const settingIn = async (tx: SqlClient) =>
  (
    (await tx.query<{ s: string }>("SELECT current_setting('synchronous_commit') AS s")).rows[0] as {
      s: string;
    }
  ).s;

/**
 * `db`, with the synchronous_commit of every commit it makes noted in `commits` (db/unflushed-commit.ts):
 * each statement outside a transaction runs in one of its own, the setting read just before its
 * commit; a transaction's is read at its end. Both backends.
 */
export function observedCommits(db: Database, commits: Commit[]): Database {
  const alone = (statement: string, text: string, params?: unknown[]) =>
    db.transaction(async (tx) => {
      const result = await tx.query(text, params);
      commits.push({ statement, synchronousCommit: await settingIn(tx) });
      return result;
    });
  return Object.assign(Object.create(db) as Database, {
    query: (text: string, params?: unknown[]) =>
      alone(text.replace(/\s+/g, " ").trim().slice(0, 40), text, params),
    queryPrepared: (name: string, text: string, params?: unknown[]) => alone(name, text, params),
    transaction: <T>(fn: (tx: SqlClient) => Promise<T>) =>
      db.transaction(async (tx) => {
        const result = await fn(tx);
        commits.push({ statement: "transaction", synchronousCommit: await settingIn(tx) });
        return result;
      }),
  });
}

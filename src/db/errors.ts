// The database's errors a caller tells apart, in a module of their own so that the CLI can name them
// without loading the database drivers (database.ts re-exports them).

/** The embedded database is open in another process. */
export class DatabaseLockedError extends Error {
  override name = "DatabaseLockedError";
}

/** The database's schema lacks migrations this version has (a one-off command refuses to run). */
export class SchemaBehindError extends Error {
  override name = "SchemaBehindError";
}

/** A statement failed on unique constraint or index `name` (SQLSTATE 23505): the row it would have
 * written exists, here or in a transaction that committed while it waited. */
export function isUniqueViolation(err: unknown, name: string): boolean {
  const e = err as { code?: unknown; constraint?: unknown } | null;
  return typeof e === "object" && e !== null && e.code === "23505" && e.constraint === name;
}

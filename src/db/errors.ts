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

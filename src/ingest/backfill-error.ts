// A backfill refused for a reason the operator can act on (no such account, no token). A module of
// its own so the CLI can tell it apart in its error handler without loading the backfill itself.
export class BackfillError extends Error {
  override name = "BackfillError";
}

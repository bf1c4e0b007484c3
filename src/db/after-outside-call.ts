import pRetry from "p-retry";

// A database write that records what an outside call already did: the ref of a chat post just
// made, the message id Instagram gave a reply just sent. If it fails because Postgres is
// restarting or a connection dropped, failing the job would make its retry make the call again:
// a second post, or a reply the customer gets twice. So the write itself is retried for a while
// first; anything else (a constraint, a bug) fails at once.

const TRANSIENT_SQLSTATE = /^(08|57P0[1-3]|53300)/; // connection, admin shutdown/crash/cannot connect, too many connections
const TRANSIENT_NODE = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT"]);

export function transientDatabaseError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && (TRANSIENT_SQLSTATE.test(code) || TRANSIENT_NODE.has(code))) return true;
  return /Connection terminated|connection (?:is )?closed|timeout exceeded when trying to connect/i.test(
    err.message,
  );
}

/** Runs `write`, retrying transient database failures for about 20 s. */
export function afterOutsideCall<T>(write: () => Promise<T>): Promise<T> {
  return pRetry(write, {
    retries: 8,
    minTimeout: 100,
    maxTimeout: 5_000,
    shouldRetry: (err) => transientDatabaseError(err),
  });
}

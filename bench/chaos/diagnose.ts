// When the chaos run finds a conversation incomplete, the report says where its events stand: each
// stored event of its thread with its status, attempts and last error, beside the pg-boss job that
// carries it (state, retries, when it may next run). A failure in CI is then readable from its log.

import type { Database } from "../../src/db/database.ts";

interface EventState {
  id: string;
  kind: string;
  status: string;
  attempts: number;
  last_error: string | null;
  handling_started_at: Date | null;
  job_state: string | null;
  retry_count: number | null;
  start_after: Date | null;
  output: unknown;
}

const time = (d: Date | null) => (d ? d.toISOString().slice(11, 23) : "-");

/** Lines describing every stored event of the threads whose raw webhooks mention `key`. */
export async function diagnose(db: Database, key: string): Promise<string[]> {
  const { rows } = await db.query<EventState>(
    `SELECT e.id, e.kind, e.status, e.attempts, e.last_error, e.handling_started_at,
            j.state AS job_state, j.retry_count, j.start_after, j.output
       FROM inbound_events e
       LEFT JOIN pgboss.job j ON j.id = e.job_id
      WHERE (e.account_id, e.thread_key) IN (
              SELECT account_id, thread_key FROM inbound_events WHERE raw::text LIKE $1)
      ORDER BY e.id`,
    [`%chaos ${key} #%`],
  );
  return rows.map(
    (r) =>
      `  ${key} event ${r.id} ${r.kind}: ${r.status}, ${r.attempts} attempts, started ${time(r.handling_started_at)}; ` +
      `job ${r.job_state ?? "gone"} retry ${r.retry_count ?? "-"} next ${time(r.start_after)}` +
      (r.last_error ? `; last error: ${r.last_error.slice(0, 200)}` : "") +
      (r.output && r.job_state !== "completed" ? `; output: ${JSON.stringify(r.output).slice(0, 200)}` : ""),
  );
}

import type { Knex } from "knex";

// When a worker first began handling an inbound event. A later attempt that finds it set knows an
// earlier one may have made chat calls whose results it never stored (the worker died between
// the call and the write), so it looks for those posts on the platform before posting again
// (`Idempotency` in src/chat/chat-port.ts). Set once, in the transaction that records the event.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("inbound_events", (t) => {
    t.timestamp("handling_started_at", { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("inbound_events", (t) => {
    t.dropColumn("handling_started_at");
  });
}

import type { Knex } from "knex";

// Meta's signed_requests already answered (issue 16): a repeat of one gets the first answer and
// starts nothing. The primary key is what makes two identical requests at once start one erasure:
// the second insert waits for the first and then conflicts. Only fresh requests are accepted
// (`issued_at` within an hour), so the retention pass drops rows once they are well past that.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("signed_request_replays", (t) => {
    t.text("endpoint").notNullable(); // data-deletion, deauthorize
    t.text("payload_sha256").notNullable(); // of the signed payload text; never the user id
    t.timestamp("issued_at", { useTz: true }).notNullable();
    t.text("code"); // the confirmation code answered, for a data deletion request
    t.timestamp("received_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(["endpoint", "payload_sha256"]);
    t.index(["issued_at"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("signed_request_replays");
}

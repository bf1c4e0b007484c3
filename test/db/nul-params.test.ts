// A stranger's NUL reaching a statement as a parameter (a chat platform's id, a command's argument):
// Postgres refuses U+0000 in text (22021). Every way the service sends a statement takes it, on
// both backends: a lookup finds nothing, a value is stored with U+FFFD in its place.

import { expect, it } from "vitest";
import { queryNamed } from "../../src/db/query-named.ts";
import { useBackendDatabase } from "../helpers/backend.ts";

const store = useBackendDatabase();

it("looks up a text with a NUL and finds nothing, through every path", async () => {
  const { db } = store;
  const lookup =
    "SELECT count(*)::int AS n FROM conversations WHERE chat_thread = $1 OR chat_thread = ANY($2::text[])";
  const args = ["17\u00000", ["\u0000", "1.0\u0000"]];
  expect((await db.query<{ n: number }>(lookup, args)).rows).toEqual([{ n: 0 }]);
  expect((await queryNamed<{ n: number }>(db, "tb_test_nul_lookup", lookup, args)).rows).toEqual([{ n: 0 }]);
  const inTx = await db.transaction(async (tx) => [
    (await tx.query<{ n: number }>(lookup, args)).rows,
    (await queryNamed<{ n: number }>(tx, "tb_test_nul_lookup", lookup, args)).rows,
  ]);
  expect(inTx).toEqual([[{ n: 0 }], [{ n: 0 }]]);
});

it("stores a value with a NUL as U+FFFD", async () => {
  const { rows } = await store.db.query<{ t: string; a: string[] }>("SELECT $1::text AS t, $2::text[] AS a", [
    "a\u0000b",
    ["c\u0000"],
  ]);
  expect(rows).toEqual([{ t: "a\ufffdb", a: ["c\ufffd"] }]);
});

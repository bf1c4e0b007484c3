import path from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import type { Database } from "../db/database.ts";
import { listRules } from "../rules/store.ts";
import { importSnippets, listSnippets, removeSnippet, type StoredSnippet } from "../snippets/store.ts";
import { formatTable } from "./table.ts";

// `threadbridge snippets import|list|remove`: the saved replies agents send with `!!NAME` and rules
// with a `snippet` action. An import checks the whole file first (every error with its line, the
// entry and the field; exit 65) and is then an upsert by (account, name): it says what it added
// and changed, and leaves what the file does not mention.

type WithDatabase = <T>(fn: (db: Database) => Promise<T>) => Promise<T>;

/** A saved replies file with errors: nothing was imported (exit 65, as for rule files). */
export class SnippetFileInvalid extends Error {}

export interface SnippetsCommandDeps {
  withDatabase: WithDatabase;
  readText(file: string): string;
  /** Who is running the command, as the audit log names operators. */
  operator(): string;
}

function accountOption(id: string): string {
  if (!/^\d+$/.test(id))
    throw new InvalidArgumentError(`not an Instagram account id: ${id} (ids are digits)`);
  return id;
}

function extrasOf(s: StoredSnippet): string {
  const images = s.attachments.filter((a) => a.type === "image").length;
  const parts = [
    images ? `${images} image${images === 1 ? "" : "s"}` : "",
    s.attachments.some((a) => a.type === "file") ? "file" : "",
    s.quickReplies.length
      ? `${s.quickReplies.length} quick repl${s.quickReplies.length === 1 ? "y" : "ies"}`
      : "",
    s.cards?.length ? `${s.cards.length} card${s.cards.length === 1 ? "" : "s"}` : "",
    s.language ? `language ${s.language}` : "",
  ];
  return parts.filter(Boolean).join(", ");
}

function oneLine(text: string, max = 50): string {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

export function registerSnippetsCommand(program: Command, deps: SnippetsCommandDeps): void {
  const snippets = program
    .command("snippets")
    .description("saved replies: agents send one with !!NAME in a thread, rules with a snippet action");

  snippets
    .command("import")
    .description("add or change saved replies from a YAML or JSON file; every error is listed with its line")
    .argument("<file>", "the saved replies file")
    .action(async (file: string) => {
      const text = deps.readText(file);
      // The file's parser (YAML) and schema load when a file is imported, not with the CLI.
      const [{ formatRuleFileErrors }, { parseSnippetFile }, { snippetLabel }] = await Promise.all([
        import("../rules/load.ts"),
        import("../snippets/file.ts"),
        import("../snippets/snippet.ts"),
      ]);
      const report = await deps.withDatabase(async (db) => {
        const { rows } = await db.query<{ id: string }>("SELECT id FROM instagram_accounts");
        const accounts = new Set(rows.map((r) => r.id));
        const parsed = parseSnippetFile(text, file, { accountExists: (id) => accounts.has(id) });
        if (!parsed.ok) throw new SnippetFileInvalid(formatRuleFileErrors(file, parsed.errors));
        return importSnippets(db, parsed.snippets, path.resolve(file), {
          kind: "operator",
          id: deps.operator(),
        });
      });
      const count = (kind: string) => report.filter((c) => c.kind === kind).length;
      for (const c of report)
        if (c.kind !== "unchanged")
          process.stdout.write(
            `${c.kind} ${snippetLabel(c.snippet)}${c.kind === "changed" ? `: ${c.fields.join(", ")}` : ""}\n`,
          );
      process.stdout.write(
        `${file}: ${count("added")} added, ${count("changed")} changed, ${count("unchanged")} unchanged\n`,
      );
    });

  snippets
    .command("list")
    .description("the saved replies (with --account: those it can send, its own and the shared ones)")
    .option("--account <id>", "only what this Instagram account can send", accountOption)
    .option("--json", "as JSON")
    .action(async (opts: { account?: string; json?: boolean }) => {
      const all = await deps.withDatabase((db) => listSnippets(db, opts.account));
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify(
            all.map(({ id: _id, ...s }) => s),
            null,
            2,
          )}\n`,
        );
        return;
      }
      if (all.length === 0) {
        process.stdout.write("no saved replies (threadbridge snippets import FILE)\n");
        return;
      }
      process.stdout.write(
        formatTable([
          ["name", "account", "text", "with", "updated"],
          ...all.map((s) => [
            s.name,
            s.account ?? "shared",
            oneLine(s.text),
            extrasOf(s),
            s.updatedAt.toISOString().slice(0, 16).replace("T", " "),
          ]),
        ]),
      );
    });

  snippets
    .command("remove")
    .description("remove one saved reply (without --account: the shared one)")
    .argument("<name>", "the saved reply's name")
    .option("--account <id>", "the Instagram account whose own saved reply it is", accountOption)
    .action(async (name: string, opts: { account?: string }) => {
      const account = opts.account ?? null;
      const { snippetLabel } = await import("../snippets/snippet.ts");
      const label = snippetLabel({ name, account });
      const { removed, users } = await deps.withDatabase(async (db) => {
        const removed = await removeSnippet(db, name, account, { kind: "operator", id: deps.operator() });
        // Rules that send it skip it from now on, with a notice; say so here.
        const users = removed
          ? (await listRules(db))
              .filter(({ rule }) =>
                rule.actions.some(
                  (a) =>
                    a.type === "snippet" &&
                    a.name === name &&
                    (account === null || rule.account === account || rule.account === "*"),
                ),
              )
              .map(({ rule }) => rule.id)
          : [];
        return { removed, users };
      });
      if (!removed) throw new InvalidArgumentError(`no saved reply ${label} (see \`snippets list\`)`);
      process.stdout.write(`removed ${label}\n`);
      if (users.length > 0)
        process.stderr.write(
          `note: rule${users.length === 1 ? "" : "s"} ${users.join(", ")} send${users.length === 1 ? "s" : ""} ${name}; where no other saved reply of that name is found, that action is skipped with a notice in the thread\n`,
        );
    });
}

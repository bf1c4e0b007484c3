import { type Command, InvalidArgumentError } from "commander";
import type { Database } from "../db/database.ts";
import { hashPassword } from "../http/console/password.ts";
import { formatTable } from "./table.ts";

// `threadbridge console hash-password`: the value of CONSOLE_PASSWORD_HASH; and `console users …`:
// the named console users (src/http/console/users.ts). A password is read from standard input
// (typed without echo, twice, at a terminal; piped otherwise), never from an argument, which would
// land in the shell's history and the process list. The users' module loads only when a `users`
// command runs.

const MIN_LENGTH = 12;

async function piped(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

function typed(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.setEncoding("utf8");
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = "";
    const done = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n") {
          done();
          resolve(value);
          return;
        }
        if (ch === "\u0003" || ch === "\u0004") {
          done();
          reject(new InvalidArgumentError("cancelled"));
          return;
        }
        value = ch === "\u007f" || ch === "\b" ? value.slice(0, -1) : value + ch;
      }
    };
    stdin.on("data", onData);
  });
}

/** A password from standard input, long enough; `what` ends the refusal of two that differ. */
async function readPassword(prompt = "Console password: ", what = "nothing was printed"): Promise<string> {
  let password: string;
  if (!process.stdin.isTTY) password = await piped();
  else {
    password = await typed(prompt);
    const again = await typed("Once more: ");
    if (password !== again) throw new InvalidArgumentError(`the two passwords differ; ${what}`);
  }
  if (password.length < MIN_LENGTH)
    throw new InvalidArgumentError(
      `the password must have at least ${MIN_LENGTH} characters (got ${password.length})`,
    );
  return password;
}

export interface ConsoleCommandDeps {
  withDatabase: <T>(fn: (db: Database) => Promise<T>, access?: "read" | "write") => Promise<T>;
  /** Who is running the command, as the audit log names operators. */
  operator(): string;
}

type Users = typeof import("../http/console/users.ts");

function nameArgument(users: Users, name: string): string {
  const problem = users.userNameProblem(name);
  if (problem) throw new InvalidArgumentError(problem);
  return name;
}

const noSuchUser = (name: string) =>
  new InvalidArgumentError(`no console user ${name} (see \`console users list\`)`);

export function registerConsoleCommand(program: Command, deps: ConsoleCommandDeps): void {
  const consoleCommand = program.command("console").description("the web console");
  consoleCommand
    .command("hash-password")
    .description("read the admin password from standard input and print its CONSOLE_PASSWORD_HASH")
    .action(async () => {
      const password = await readPassword();
      process.stdout.write(`${await hashPassword(password)}\n`);
    });

  const users = consoleCommand
    .command("users")
    .description("named console users: each signs in with their own name and password");
  const load = () => import("../http/console/users.ts");
  const by = () => ({ kind: "operator" as const, id: deps.operator() });

  users
    .command("add")
    .description("add a user; the password is read from standard input (typed twice at a terminal)")
    .argument("<name>", "the user name: lower-case letters, digits, dots and dashes, at most 32")
    .option("--display-name <text>", "the name the web inbox and signatures show (default: the user name)")
    .option("--admin", "an admin of the web inbox (as if ADMIN_USERS named them); otherwise an agent")
    .action(async (name: string, opts: { displayName?: string; admin?: boolean }) => {
      const u = await load();
      nameArgument(u, name);
      const displayName = opts.displayName?.trim() ?? name;
      const problem = u.displayNameProblem(displayName);
      if (problem) throw new InvalidArgumentError(`--display-name: ${problem}`);
      const role = opts.admin ? "admin" : "agent";
      // Refused before the password is asked for, when it can be.
      if (await deps.withDatabase((db) => u.findUser(db, name)))
        throw new InvalidArgumentError(`there is already a console user ${name}`);
      const passwordHash = await hashPassword(
        await readPassword(`Password for ${name}: `, "nobody was added"),
      );
      await deps.withDatabase((db) =>
        db
          .transaction((tx) => u.addUser(tx, { name, displayName, role, passwordHash }, by()))
          .catch((err) => {
            if (err instanceof u.UserExists) throw new InvalidArgumentError(err.message);
            throw err;
          }),
      );
      process.stdout.write(`added ${name} (${displayName}, ${role})\n`);
    });

  users
    .command("list")
    .description("the console users: name, display name, role, created, disabled")
    .option("--json", "as JSON")
    .action(async (opts: { json?: boolean }) => {
      const u = await load();
      const all = await deps.withDatabase((db) => u.listUsers(db), "read");
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify(
            all.map(({ generation: _g, ...user }) => user),
            null,
            2,
          )}\n`,
        );
        return;
      }
      if (all.length === 0) {
        process.stdout.write("no console users (threadbridge console users add NAME)\n");
        return;
      }
      const when = (d: Date) => d.toISOString().slice(0, 16).replace("T", " ");
      process.stdout.write(
        formatTable([
          ["name", "display name", "role", "created", "disabled"],
          ...all.map((user) => [
            user.name,
            user.displayName,
            user.role,
            when(user.createdAt),
            user.disabledAt ? when(user.disabledAt) : "",
          ]),
        ]),
      );
    });

  users
    .command("passwd")
    .description("set a user's password (read from standard input); their sessions end")
    .argument("<name>", "the user name")
    .action(async (name: string) => {
      const u = await load();
      nameArgument(u, name);
      if (!(await deps.withDatabase((db) => u.findUser(db, name)))) throw noSuchUser(name);
      const passwordHash = await hashPassword(
        await readPassword(`New password for ${name}: `, "the password is unchanged"),
      );
      const changed = await deps.withDatabase((db) =>
        db.transaction((tx) => u.setPassword(tx, name, passwordHash, by())),
      );
      if (!changed) throw noSuchUser(name);
      process.stdout.write(`changed the password of ${name}; their sessions have ended\n`);
    });

  for (const [command, disabled] of [
    ["disable", true],
    ["enable", false],
  ] as const)
    users
      .command(command)
      .description(
        disabled
          ? "stop a user from signing in; their sessions end at their next request"
          : "let a disabled user sign in again",
      )
      .argument("<name>", "the user name")
      .action(async (name: string) => {
        const u = await load();
        nameArgument(u, name);
        const done = await deps.withDatabase((db) =>
          db.transaction((tx) => u.setDisabled(tx, name, disabled, by())),
        );
        if (!done) throw noSuchUser(name);
        process.stdout.write(
          done.changed ? `${command}d ${name}\n` : `${name} was already ${command}d: nothing changed\n`,
        );
      });

  users
    .command("remove")
    .description("remove a user: they can no longer sign in, their sessions end; what they wrote stays")
    .argument("<name>", "the user name")
    .action(async (name: string) => {
      const u = await load();
      nameArgument(u, name);
      const removed = await deps.withDatabase((db) => db.transaction((tx) => u.removeUser(tx, name, by())));
      if (!removed) throw noSuchUser(name);
      process.stdout.write(`removed ${name}\n`);
    });
}

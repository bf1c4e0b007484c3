import { type Command, InvalidArgumentError } from "commander";
import { hashPassword } from "../http/console/password.ts";

// `threadbridge console hash-password`: the value of CONSOLE_PASSWORD_HASH. The password is read
// from standard input (typed without echo, twice, at a terminal; piped otherwise), never from an
// argument, which would land in the shell's history and the process list.

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

async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) return piped();
  const first = await typed("Console password: ");
  const again = await typed("Once more: ");
  if (first !== again) throw new InvalidArgumentError("the two passwords differ; nothing was printed");
  return first;
}

export function registerConsoleCommand(program: Command): void {
  program
    .command("console")
    .description("the web console")
    .command("hash-password")
    .description("read the admin password from standard input and print its CONSOLE_PASSWORD_HASH")
    .action(async () => {
      const password = await readPassword();
      if (password.length < MIN_LENGTH)
        throw new InvalidArgumentError(
          `the password must have at least ${MIN_LENGTH} characters (got ${password.length})`,
        );
      process.stdout.write(`${await hashPassword(password)}\n`);
    });
}

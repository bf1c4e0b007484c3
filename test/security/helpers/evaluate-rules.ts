// Evaluates a rule file against DM texts in a process of its own, so a test can hold it to a hard
// time limit: a pattern that backtracks catastrophically blocks the whole event loop, and only
// killing the process from outside ends it. Reads {file, texts, account} as JSON on stdin; writes,
// per text, the ids of the rules that fire, on stdout; "evaluating" on stderr when it starts to.
import { windowState } from "../../../src/instagram/windows.ts";
import { evaluate } from "../../../src/rules/evaluate.ts";
import { parseRuleFile } from "../../../src/rules/load.ts";

const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const { file, texts, account } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
  file: string;
  texts: string[];
  account: string;
};
const parsed = parseRuleFile(file, "rules.yaml");
if (!parsed.ok) {
  process.stdout.write(JSON.stringify({ errors: parsed.errors.map((e) => e.message) }));
  process.exit(0);
}
// Start-up (loading the code, parsing the file) is not what is timed: say when evaluation starts.
process.stderr.write("evaluating\n");
const now = new Date();
const fired = texts.map((text, i) =>
  evaluate(parsed.file.rules, {
    event: {
      type: "dm.message",
      accountId: account,
      customerId: "1000000000000001",
      occurredAt: now.getTime(),
      mid: `m${i}`,
      text,
      attachments: [],
    },
    now,
    customer: { isNew: false, consent: "unknown" },
    lastFiredAt: () => undefined,
    window: windowState(now, now, false),
  })
    .filter((d) => d.kind === "fire")
    .map((d) => d.ruleId),
);
process.stdout.write(JSON.stringify({ fired }));

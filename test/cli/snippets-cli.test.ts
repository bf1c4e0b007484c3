// `threadbridge snippets import|list|remove` as real processes against the database a service
// uses: a file is checked whole (each error with its line, entry and field; exit 65), an import is
// an upsert that says what it added and changed, every change is audited, and rule files may only
// name saved replies that exist. Also `accounts settings --signature/--disclosure/--assign`.

import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { addAccount } from "../../src/instagram/accounts.ts";
import { TokenCipher } from "../../src/instagram/token-cipher.ts";
import type { Service } from "../../src/service.ts";
import { cli } from "../helpers/cli.ts";
import { startTestService, TEST_BACKEND, TEST_KEY, type TestEnv, testEnv } from "../helpers/service.ts";

const A = "17841400000000501";
const B = "17841400000000502";

let t: TestEnv;
let svc: Service;

function file(name: string, text: string): string {
  const p = path.join(t.env.DATA_DIR as string, name);
  writeFileSync(p, text);
  return p;
}

beforeAll(async () => {
  t = await testEnv(TEST_BACKEND);
  svc = await startTestService(t, { web: false, worker: false });
  for (const id of [A, B])
    await addAccount(svc.db, TokenCipher.fromConfig(TEST_KEY), {
      igUserId: id,
      username: `shop_${id.slice(-3)}`,
      token: "IGAA-cli-token",
      chat: { platform: "slack", channel: `C0${id.slice(-6)}` },
    });
});

afterAll(async () => {
  await svc?.stop();
  await t?.cleanup();
});

const GOOD = `version: 1
snippets:
  - name: thanks
    text: "Thanks {first_name|there}! {agent} from {account} here."
    quick_replies: [Track order, { title: Talk to us, payload: HUMAN }]
  - name: hours
    account: "${A}"
    text: We are open 9 to 5.
    language: en
    images: ["https://cdn.example/hours.png"]
    file: "https://cdn.example/menu.pdf"
`;

describe("snippets import", () => {
  it("adds a file's saved replies, lists them, and reports changes on a second import", async () => {
    const first = await cli(["snippets", "import", file("s.yaml", GOOD)], t.env);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("added thanks (shared)\n");
    expect(first.stdout).toContain(`added hours (account ${A})\n`);
    expect(first.stdout).toMatch(/s\.yaml: 2 added, 0 changed, 0 unchanged\n$/);

    const { rows } = await svc.db.query<{ account_id: string | null; name: string; attachments: unknown }>(
      "SELECT account_id, name, attachments FROM snippets ORDER BY name",
    );
    expect(rows).toEqual([
      {
        account_id: A,
        name: "hours",
        attachments: [
          { type: "image", url: "https://cdn.example/hours.png" },
          { type: "file", url: "https://cdn.example/menu.pdf" },
        ],
      },
      { account_id: null, name: "thanks", attachments: [] },
    ]);

    const changed = GOOD.replace("We are open 9 to 5.", "We are open 9 to 6.").concat(
      `  - { name: bye, account: "${B}", text: "Bye {username}!" }\n`,
    );
    // The same file as JSON: both formats are read alike.
    const second = await cli(
      ["snippets", "import", file("s2.json", JSON.stringify(parseYaml(changed)))],
      t.env,
    );
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`changed hours (account ${A}): text\n`);
    expect(second.stdout).toContain(`added bye (account ${B})\n`);
    expect(second.stdout).toMatch(/: 1 added, 1 changed, 1 unchanged\n$/);

    const list = await cli(["snippets", "list", "--account", A], t.env);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^name\s+account\s+text\s+with\s+updated$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([
      ["hours", A],
      ["thanks", "shared"],
    ]);
    expect(list.stdout).toMatch(/1 image, file, language en/);
    expect(list.stdout).toMatch(/2 quick replies/);
    const json = JSON.parse((await cli(["snippets", "list", "--json"], t.env)).stdout) as { name: string }[];
    expect(json.map((s) => s.name)).toEqual(["bye", "hours", "thanks"]);

    const { rows: audit } = await svc.db.query<{ action: string; target: string; actor_kind: string }>(
      "SELECT action, target, actor_kind FROM audit_log WHERE action LIKE 'snippet_%' ORDER BY id",
    );
    expect(audit.map((a) => `${a.actor_kind} ${a.action} ${a.target}`)).toEqual([
      "operator snippet_added snippet:thanks",
      "operator snippet_added snippet:hours",
      "operator snippet_changed snippet:hours",
      "operator snippet_added snippet:bye",
    ]);
  });

  it("refuses a file with errors whole, each error with its line, entry and field (exit 65)", async () => {
    const before = (await svc.db.query("SELECT 1 FROM snippets")).rows.length;
    const bad = file(
      "bad.yaml",
      `snippets:
  - name: welcome
    text: "Hi {fist_name}, I am {agent}"
  - name: Bad Name
    text: ok
  - name: menu
    text: Our menu
    images: ["http://cdn.example/menu.png"]
    quick_replies: [a, b, c, d, e, f, g, h, i, j, k, l, m, n]
  - name: contact
    text: Your email?
    quick_replies: [{ title: Email, content_type: user_email }]
  - name: other
    account: "17841499999999999"
    text: Hello
    colour: red
  - name: welcome
    text: again
`,
    );
    const r = await cli(["snippets", "import", bad], t.env);
    expect(r.code).toBe(65);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trim().split("\n");
    expect(lines[0]).toBe("threadbridge: the saved replies file was not imported");
    const errors = lines.slice(1);
    const at = (re: RegExp) => errors.find((l) => re.test(l));
    expect(at(/unknown variable/)).toMatch(
      /bad\.yaml, line 3, column 11: snippets\[0\] \(welcome\)\.text: unknown variable \{fist_name\} at character 4/,
    );
    expect(at(/must be a slug/)).toMatch(
      /line 4, column \d+: snippets\[1\] \(Bad Name\)\.name: must be a slug/,
    );
    expect(at(/https/)).toMatch(/line 8, .*snippets\[2\] \(menu\)\.images\[0\]: must be an https URL/);
    expect(at(/13 quick replies/)).toMatch(/line 9, .*snippets\[2\] \(menu\)\.quick_replies: at most 13/);
    expect(at(/phone or email/)).toMatch(
      /line 12, .*snippets\[3\] \(contact\)\.quick_replies\[0\]\.content_type: must be text: Instagram no longer accepts phone or email quick replies/,
    );
    expect(at(/no connected account/)).toMatch(
      /line 14, .*snippets\[4\] \(other\)\.account: no connected account 17841499999999999/,
    );
    expect(at(/colour/)).toMatch(/line 16, .*snippets\[4\] \(other\)\.colour: unknown field "colour"/);
    expect(at(/already defined/)).toMatch(
      /line 17, .*snippets\[5\] \(welcome\)\.name: "welcome" is already defined as a shared saved reply by snippets\[0\] \(line 2\)/,
    );
    expect((await svc.db.query("SELECT 1 FROM snippets")).rows.length).toBe(before);
  });

  it("imports cards (a generic template) and refuses bad ones, each with its line and reason", async () => {
    const bad = file(
      "cards-bad.yaml",
      `snippets:
  - name: c-none
    text: Our picks
    cards: []
  - name: c-many
    text: Our picks
    cards: [${Array.from({ length: 11 }, (_, i) => `{ title: T${i}, url: "https://shop.example/${i}" }`).join(", ")}]
  - name: c-card
    text: Our picks
    cards:
      - title: "${"x".repeat(81)}"
        subtitle: "Hi {fist_name}"
        image_url: "http://cdn.example/h.jpg"
      - title: Only a title
      - title: Hoodie
        buttons:
          - { title: View, url: "https://shop.example/h", payload: VIEW }
          - { title: Call us, type: phone_number }
          - { title: A button title far too long, payload: X }
      - title: Hat
        buttons: [{ title: A, payload: A }, { title: B, payload: B }, { title: C, payload: C }, { title: D, payload: D }]
      - title: Socks
        buttons: []
`,
    );
    const r = await cli(["snippets", "import", bad], t.env);
    expect(r.code).toBe(65);
    const errors = r.stderr.trim().split("\n").slice(1);
    const at = (re: RegExp) => errors.filter((l) => re.test(l));
    expect(at(/c-none/)).toEqual([
      expect.stringMatching(
        /line 4, .*snippets\[0\] \(c-none\)\.cards: must list at least one card, or be left out/,
      ),
    ]);
    expect(at(/c-many/)).toEqual([
      expect.stringMatching(
        /line 7, .*snippets\[1\] \(c-many\)\.cards: at most 10 cards \(Instagram's limit\)/,
      ),
    ]);
    const card = (i: number, rest: string) =>
      new RegExp(`snippets\\[2\\] \\(c-card\\)\\.cards\\[${i}\\]${rest}`);
    expect(
      at(card(0, "\\.title: must be at most 80 characters \\(Instagram's limit for a card's title\\)")),
    ).toHaveLength(1);
    expect(at(card(0, "\\.subtitle: unknown variable \\{fist_name\\} at character 4"))).toHaveLength(1);
    expect(at(card(0, "\\.image_url: must be an https URL"))).toHaveLength(1);
    expect(
      at(card(1, ": a card needs a subtitle, image_url, url or buttons besides its title")),
    ).toHaveLength(1);
    expect(at(card(3, "\\.buttons: at most 3 buttons per card \\(Instagram's limit\\)"))).toHaveLength(1);
    expect(
      at(
        card(
          2,
          "\\.buttons\\[0\\]: a button has either url \\(it opens a page\\) or payload \\(a postback\\), exactly one",
        ),
      ),
    ).toHaveLength(1);
    expect(at(card(2, '\\.buttons\\[1\\]\\.type: unknown field "type"'))).toHaveLength(1);
    expect(at(card(2, "\\.buttons\\[2\\]\\.title: must be at most 20 characters"))).toHaveLength(1);
    expect(at(card(4, "\\.buttons: must list at least one button, or be left out"))).toHaveLength(1);
    expect((await svc.db.query("SELECT 1 FROM snippets WHERE name LIKE 'c-%'")).rows).toEqual([]);

    const good = await cli(
      [
        "snippets",
        "import",
        file(
          "cards.yaml",
          `snippets:
  - name: picks
    text: Our picks for you, {first_name|there}
    cards:
      - title: Blue Hoodie for {first_name|you}
        subtitle: $49
        image_url: "https://cdn.example/h.jpg"
        url: "https://shop.example/h"
        buttons: [{ title: View, url: "https://shop.example/h" }, { title: Ask a question, payload: ASK_HOODIE }]
      - { title: Socks, subtitle: $9 }
`,
        ),
      ],
      t.env,
    );
    expect(good.stderr).toBe("");
    expect(good.code).toBe(0);
    const { rows } = await svc.db.query<{ cards: unknown }>(
      "SELECT cards FROM snippets WHERE name = 'picks'",
    );
    expect(rows[0]?.cards).toEqual([
      {
        title: "Blue Hoodie for {first_name|you}",
        subtitle: "$49",
        imageUrl: "https://cdn.example/h.jpg",
        url: "https://shop.example/h",
        buttons: [
          { title: "View", url: "https://shop.example/h" },
          { title: "Ask a question", payload: "ASK_HOODIE" },
        ],
      },
      { title: "Socks", subtitle: "$9" },
    ]);
  });

  it("says where a file is not YAML at all", async () => {
    const r = await cli(["snippets", "import", file("broken.yaml", "snippets:\n  - name: [x\n")], t.env);
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(/broken\.yaml, line \d+, column \d+: /);
  });
});

describe("snippets remove", () => {
  it("removes the shared one or an account's own, says which, audits it, and refuses an unknown one", async () => {
    const r = await cli(["snippets", "remove", "bye", "--account", B], t.env);
    expect(r).toMatchObject({ code: 0, stdout: `removed bye (account ${B})\n` });
    const again = await cli(["snippets", "remove", "bye", "--account", B], t.env);
    expect(again.code).toBe(64);
    expect(again.stderr).toBe(`threadbridge: no saved reply bye (account ${B}) (see \`snippets list\`)\n`);
    // Without --account it is the shared one: hours is only account A's.
    expect((await cli(["snippets", "remove", "hours"], t.env)).code).toBe(64);
    const { rows } = await svc.db.query<{ action: string; account_id: string | null }>(
      "SELECT action, account_id FROM audit_log WHERE action = 'snippet_removed'",
    );
    expect(rows).toEqual([{ action: "snippet_removed", account_id: B }]);
  });
});

describe("rule files and saved replies", () => {
  it("refuses a rule whose saved reply does not exist for its account, with its line", async () => {
    const rules = file(
      "rules.yaml",
      `rules:
  - id: hours
    name: hours
    account: "${A}"
    trigger: { type: dm_text, keywords: [open] }
    actions:
      - snippet: hours
  - id: hours-b
    name: hours for B
    account: "${B}"
    trigger: { type: dm_text, keywords: [open] }
    actions:
      - snippet: hours
  - id: everyone
    name: thanks everyone
    account: "*"
    language: es
    trigger: { type: dm_text, keywords: [gracias] }
    actions:
      - { type: snippet, name: thanks }
`,
    );
    const r = await cli(["rules", "import", rules], t.env);
    expect(r.code).toBe(65);
    expect(r.stderr.trim().split("\n").slice(1)).toEqual([
      `${rules}, line 13, column 18: rules[1].actions[0].snippet: no saved reply "hours" for account ${B}, nor a shared one (threadbridge snippets import it first)`,
    ]);
    writeFileSync(rules, readFileSync(rules, "utf8").replace(`account: "${B}"`, `account: "${A}"`));
    const ok = await cli(["rules", "import", rules], t.env);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    const listed = await cli(["rules", "list"], t.env);
    expect(listed.stdout).toMatch(/hours\s+account \d+\s+priority 0\s+dm_text → snippet/);
  });
});

describe("accounts settings: who is speaking", () => {
  it("sets the signature and per-language disclosure texts and lapse, and refuses bad values", async () => {
    const r = await cli(
      [
        "accounts",
        "settings",
        A,
        "--signature",
        "name",
        "--disclosure",
        "Este es un mensaje automático.",
        "--language",
        "es",
        "--disclosure-lapse",
        "12h",
      ],
      t.env,
    );
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")[1]).toBe(
      `${A}: signature name, disclosure es: “Este es un mensaje automático.”, repeated after 12h`,
    );
    const d = await cli(["accounts", "settings", A, "--disclosure", "Automated reply."], t.env);
    expect(d.stdout.split("\n")[1]).toBe(
      `${A}: signature name, disclosure es: “Este es un mensaje automático.”, default: “Automated reply.”, repeated after 12h`,
    );
    const { rows } = await svc.db.query<{ settings: Record<string, unknown> }>(
      "SELECT settings FROM instagram_accounts WHERE id = $1",
      [A],
    );
    expect(rows[0]?.settings).toMatchObject({
      signature: "name",
      disclosure: {
        texts: { es: "Este es un mensaje automático.", default: "Automated reply." },
        lapseMinutes: 720,
      },
    });
    for (const [args, error] of [
      [["--signature", "agent"], /--signature takes name or brand, not agent/],
      [["--language", "es"], /--language goes with --disclosure/],
      [["--disclosure", "x", "--language", "Spanish"], /not a language tag: Spanish/],
      [["--disclosure-lapse", "soon"], /--disclosure-lapse: expected a duration/],
      [["--disclosure", " "], /--disclosure must not be empty/],
    ] as const) {
      const bad = await cli(["accounts", "settings", A, ...args], t.env);
      expect(bad.code).toBe(64);
      expect(bad.stderr).toMatch(error);
    }
  });
});

describe("accounts settings: ownership", () => {
  it("sets the assignment mode, pool and cap, prints them, and refuses what cannot work", async () => {
    const r = await cli(
      [
        "accounts",
        "settings",
        B,
        "--assign",
        "fewest-open",
        "--assign-pool",
        "S0TEAM01",
        "--assign-cap",
        "5",
      ],
      t.env,
    );
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")[2]).toBe(`${B}: assignment fewest-open among S0TEAM01, at most 5 open each`);
    // One option at a time keeps the others; a cap of 0 removes it.
    const m = await cli(["accounts", "settings", B, "--assign", "round-robin", "--assign-cap", "0"], t.env);
    expect(m.stdout.split("\n")[2]).toBe(`${B}: assignment round-robin among S0TEAM01, no cap`);
    const { rows } = await svc.db.query<{ settings: Record<string, unknown> }>(
      "SELECT settings FROM instagram_accounts WHERE id = $1",
      [B],
    );
    expect(rows[0]?.settings.ownership).toEqual({ mode: "round-robin", pool: "S0TEAM01" });
    for (const [args, error] of [
      [["--assign", "lottery"], /--assign takes off, manual, round-robin, fewest-open, not lottery/],
      [["--assign-cap", "-1"], /--assign-cap takes a whole number/],
      [["--assign-pool", "a b"], /--assign-pool takes a group id/],
    ] as const) {
      const bad = await cli(["accounts", "settings", B, ...args], t.env);
      expect(bad.code).toBe(64);
      expect(bad.stderr).toMatch(error);
    }
    // Automatic assignment needs a pool to pick from.
    await svc.db.query("UPDATE instagram_accounts SET settings = settings - 'ownership' WHERE id = $1", [B]);
    const nopool = await cli(["accounts", "settings", B, "--assign", "round-robin"], t.env);
    expect(nopool.code).toBe(64);
    expect(nopool.stderr).toMatch(/--assign round-robin needs --assign-pool/);
    const manual = await cli(["accounts", "settings", B, "--assign", "manual"], t.env);
    expect(manual.stdout.split("\n")[2]).toBe(`${B}: assignment manual (the first to reply takes it)`);
  });
});

describe("accounts settings: timers", () => {
  it("prints the defaults, sets the nudges and auto-close, keeps what is not given, and refuses bad spans", async () => {
    const d = await cli(["accounts", "settings", A], t.env);
    expect(d.stdout.split("\n")[3]).toBe(
      `${A}: nudge 2h before the window closes, 12h before the 7-day limit, auto-close off`,
    );
    const r = await cli(
      ["accounts", "settings", A, "--nudge-before", "90m", "--auto-close-after", "3d"],
      t.env,
    );
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")[3]).toBe(
      `${A}: nudge 90m before the window closes, 12h before the 7-day limit, auto-close after 3d of the customer's silence`,
    );
    const off = await cli(["accounts", "settings", A, "--human-agent-nudge-before", "off"], t.env);
    expect(off.stdout.split("\n")[3]).toBe(
      `${A}: nudge 90m before the window closes, no human-agent nudge, auto-close after 3d of the customer's silence`,
    );
    const { rows } = await svc.db.query<{ settings: Record<string, unknown> }>(
      "SELECT settings FROM instagram_accounts WHERE id = $1",
      [A],
    );
    expect(rows[0]?.settings.timers).toEqual({
      nudgeBeforeSeconds: 5400,
      humanAgentNudgeBeforeSeconds: 0,
      autoCloseAfterSeconds: 259_200,
    });
    for (const [args, error] of [
      [["--nudge-before", "soon"], /--nudge-before: expected off or a duration/],
      [["--auto-close-after", "8d"], /--auto-close-after: expected off or a duration .* \(at most 7d\)/],
    ] as const) {
      const bad = await cli(["accounts", "settings", A, ...args], t.env);
      expect(bad.code).toBe(64);
      expect(bad.stderr).toMatch(error);
    }
  });
});

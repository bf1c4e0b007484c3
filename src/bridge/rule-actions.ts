import { recordAudit } from "../audit/audit-log.ts";
import type { Database } from "../db/database.ts";
import { describeDecision, type RulesEngine } from "../rules/engine.ts";
import { MAX_MATCHED_TEXT } from "../rules/pattern.ts";
import { listRules, setRuleEnabled } from "../rules/store.ts";
import type { Admins } from "./admins.ts";
import type { ActionResult, AgentIdentity } from "./chat-port.ts";
import { channelAccounts, preview } from "./threads.ts";

// `/ig rules list|enable|disable|test`: the auto-reply rules of a channel's accounts, seen and
// switched from chat. Switching is for admins and audited; a test is a dry run of the worker's
// own evaluation and sends nothing.

export interface RuleActionsDeps {
  db: Database;
  admins: Admins;
  rules?: RulesEngine | undefined;
}

export class RuleActions {
  private readonly deps: RuleActionsDeps;

  constructor(deps: RuleActionsDeps) {
    this.deps = deps;
  }

  async list(channel: string): Promise<ActionResult> {
    const accounts = new Set(await channelAccounts(this.deps.db, channel));
    const all = (await listRules(this.deps.db)).filter(
      (r) => r.rule.account === "*" || accounts.has(r.rule.account),
    );
    if (all.length === 0)
      return {
        ok: true,
        text: "No auto-reply rules for this channel's accounts (threadbridge rules import FILE).",
      };
    return {
      ok: true,
      text: all
        .map(
          ({ rule }) =>
            `${rule.enabled ? "●" : "○"} ${rule.id} (${rule.name}): ${rule.trigger.type} → ${rule.actions.map((x) => x.type).join(", ")}`,
        )
        .join("\n"),
    };
  }

  async toggle(agent: AgentIdentity, ruleId: string, enabled: boolean): Promise<ActionResult> {
    if (!this.deps.admins.allows(agent))
      return this.deps.admins.refuse(agent, "rules_toggle", "turn rules on or off", {
        target: `rule:${ruleId}`,
      });
    const found = await setRuleEnabled(this.deps.db, ruleId, enabled);
    if (!found) return { ok: false, text: `No rule ${ruleId}. /ig rules list shows them.` };
    this.deps.rules?.forget();
    await recordAudit(this.deps.db, {
      actor: { kind: "agent", id: `${agent.platform}:${agent.id}` },
      action: enabled ? "rule_enabled" : "rule_disabled",
      target: ruleId,
    });
    return { ok: true, text: `Rule ${ruleId} ${enabled ? "enabled" : "disabled"}.` };
  }

  async test(channel: string, text: string): Promise<ActionResult> {
    const engine = this.deps.rules;
    const [account] = await channelAccounts(this.deps.db, channel);
    if (!engine || !account) return { ok: false, text: "This channel mirrors no Instagram account." };
    const decisions = await engine.run(
      {
        type: "dm.message",
        accountId: account,
        customerId: "0000000000000000",
        occurredAt: Date.now(),
        mid: "rules-test",
        text,
        attachments: [],
      },
      undefined,
      { dryRun: true },
    );
    const note =
      text.length > MAX_MATCHED_TEXT
        ? `\n(Regex triggers only look at texts of up to ${MAX_MATCHED_TEXT.toLocaleString("en")} characters, Instagram's longest; this one has ${text.length.toLocaleString("en")}.)`
        : "";
    if (decisions.length === 0) return { ok: true, text: `No rule would answer “${preview(text)}”.${note}` };
    return {
      ok: true,
      text: `Dry run, nothing sent:\n${decisions.map(describeDecision).join("\n")}${note}`,
    };
  }
}

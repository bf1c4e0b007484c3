import type { Admins } from "../chat/admins.ts";
import type { ActionResult, AgentIdentity } from "../chat/chat-port.ts";
import { chatKey } from "../chat/ids.ts";
import { channelAccounts, refuseOutside, type Scope } from "../chat/scope.ts";
import { preview } from "../conversations/threads.ts";
import type { Database } from "../db/database.ts";
import type { Logger } from "../log/logger.ts";
import { describeDecision, type RulesEngine } from "./engine.ts";
import { MAX_MATCHED_TEXT } from "./pattern.ts";
import { listRules, setRuleEnabled } from "./store.ts";

// `/ig rules list|enable|disable|test`: the auto-reply rules of a channel's accounts, seen and
// switched from chat. Switching is for admins and audited; a test is a dry run of the worker's
// own evaluation and sends nothing.

export interface RuleActionsDeps {
  db: Database;
  admins: Admins;
  rules?: RulesEngine | undefined;
  log: Logger;
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

  /** A rule of one of the channel's accounts; a rule of every account (`*`) only from a channel
   * that every account's threads go to, since it switches their auto-replies too. */
  async toggle(agent: AgentIdentity, ruleId: string, enabled: boolean, scope: Scope): Promise<ActionResult> {
    if (!this.deps.admins.allows(agent))
      return this.deps.admins.refuse(agent, "rules_toggle", "turn rules on or off", {
        target: `rule:${ruleId}`,
      });
    const stored = (await listRules(this.deps.db)).find((r) => r.rule.id === ruleId);
    // An unknown rule and another channel's get the same answer: its id says nothing here.
    const unknown = `No rule ${ruleId} for this channel's accounts. /ig rules list shows them.`;
    if (!stored) return { ok: false, text: unknown };
    const account = stored.rule.account;
    if (account === "*") {
      const { rows } = await this.deps.db.query<{ id: string }>("SELECT id FROM instagram_accounts");
      const outside = rows.find((r) => !scope.accounts.has(r.id));
      if (scope.accounts.size === 0 || outside)
        return refuseOutside(
          this.deps.log,
          agent,
          scope,
          "rules_toggle",
          outside?.id,
          `Rule ${ruleId} answers for every account, and not every account's threads are in this channel: nothing was switched. An operator can switch it with threadbridge rules import.`,
        );
    } else if (!scope.accounts.has(account))
      return refuseOutside(this.deps.log, agent, scope, "rules_toggle", account, unknown);
    const found = await setRuleEnabled(this.deps.db, ruleId, enabled, {
      actor: { kind: "agent", id: chatKey(agent.platform, agent.id) },
    });
    if (!found) return { ok: false, text: unknown };
    this.deps.rules?.forget();
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

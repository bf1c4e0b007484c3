import express from "express";
import type { Database } from "../../db/database.ts";
import type { DomainEvent } from "../../instagram/events.ts";
import { parseWebhook } from "../../instagram/webhook.ts";
import type { Logger } from "../../log/logger.ts";
import { describeDecision, RulesEngine } from "../../rules/engine.ts";
import { listRules, setRuleEnabled } from "../../rules/store.ts";
import type { ConsoleAuth } from "./auth.ts";
import { problemPage } from "./layout.ts";
import { form, secured } from "./middleware.ts";
import { type DryRun, rulesPage } from "./rules-pages.ts";

// The rules page's routes: the list, the switches (CSRF-checked and audited) and the dry run,
// which writes and sends nothing (it is a POST only because a webhook body is long).

export interface RulesDeps {
  db: Database;
  auth: ConsoleAuth;
  log: Logger;
  operator: (user: string | undefined) => { kind: "operator"; id: string };
}

const RULES = { href: "/rules", label: "Back to the rules" };
/** A pasted webhook: Instagram's batches stay well under this. */
const pasted = express.urlencoded({ extended: false, limit: "256kb", parameterLimit: 5 });

export function registerRulesRoutes(router: express.Router, deps: RulesDeps): void {
  const { db, auth, log } = deps;

  router.get(
    "/rules",
    secured,
    auth.page(async (_req, res, session) => {
      res
        .type("html")
        .send(rulesPage(session, { rules: await listRules(db), form: {} }, auth.notice(res, session)));
    }),
  );

  for (const [name, enabled] of [
    ["enable", true],
    ["disable", false],
  ] as const)
    router.post(
      `/rules/:id/${name}`,
      secured,
      form,
      auth.action(async (req, res, session) => {
        const id = req.params.id as string;
        const by = { actor: deps.operator(session.user), details: { via: "console" } };
        if (!(await setRuleEnabled(db, id, enabled, by))) {
          res
            .status(404)
            .type("html")
            .send(problemPage("No such rule", `No rule ${id} is stored.`, RULES, session));
          return;
        }
        log.info({ rule: id, enabled, user: session.user }, "rule switched from the console");
        auth.update(res, session, { flash: `${id} ${enabled ? "enabled" : "disabled"}.` });
        res.redirect(303, `/rules#rule-${encodeURIComponent(id)}`);
      }),
    );

  router.post(
    "/rules/test",
    secured,
    pasted,
    auth.action(async (req, res, session) => {
      const body = req.body as Record<string, unknown>;
      const webhook = typeof body.webhook === "string" ? body.webhook.trim() : "";
      const eventText = typeof body.event === "string" ? body.event.trim() : "";
      const formValues = { webhook, event: eventText };
      const refuse = async (error: string) => {
        res
          .status(400)
          .type("html")
          .send(rulesPage(session, { rules: await listRules(db), form: formValues, error }));
      };
      let events: DomainEvent[];
      let subject: string;
      if (webhook && eventText) return refuse("Paste a webhook or name a stored event, not both.");
      if (webhook) {
        let payload: unknown;
        try {
          payload = JSON.parse(webhook);
        } catch (err) {
          return refuse(`That is not JSON: ${err instanceof Error ? err.message : String(err)}`);
        }
        const parsed = parseWebhook(payload);
        if (!parsed.ok) return refuse(`That is not an Instagram webhook: ${parsed.reason}`);
        events = parsed.records.map((r) => r.event);
        subject = "the pasted webhook";
      } else if (/^\d{1,15}$/.test(eventText)) {
        const { rows } = await db.query<{ event: DomainEvent }>(
          "SELECT event FROM inbound_events WHERE id = $1",
          [Number(eventText)],
        );
        const stored = rows[0];
        if (!stored) return refuse(`No event ${eventText} is stored (retention may have removed it).`);
        events = [stored.event];
        subject = `event ${eventText}`;
      } else
        return refuse(
          eventText ? `“${eventText}” is not an event id.` : "Paste a webhook or name a stored event.",
        );
      // A dry run writes nothing and sends nothing: no queue, no gateway, no chat.
      const engine = new RulesEngine({ db, boss: undefined, gateway: undefined, adapters: new Map(), log });
      const dryRun: DryRun = { subject, events: [] };
      for (const event of events) {
        const decisions = await engine.run(event, undefined, { dryRun: true });
        dryRun.events.push({
          title: `${event.type} on account ${event.accountId}`,
          lines: decisions.length > 0 ? decisions.map(describeDecision) : ["no rule matches"],
        });
      }
      res.type("html").send(rulesPage(session, { rules: await listRules(db), form: formValues, dryRun }));
    }),
  );
}

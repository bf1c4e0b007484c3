import {
  formatPath,
  type LocatedSource,
  orderedErrors,
  type PathSegment,
  type RuleFileError,
  readSource,
  schemaErrors,
} from "../rules/load.ts";
import { type MenuItem, PROFILE_FIELDS, profileFileSchema, type WantedProfile } from "./profile.ts";

// `threadbridge profile apply FILE`: the whole file is checked before anything is sent, and every
// problem is named with its line, the entry (`ice_breakers[1]`, with its locale) and the field,
// the way rule and saved replies files are (rules/load.ts reads all of them).

export type ProfileFileResult = { ok: true; profile: WantedProfile } | { ok: false; errors: RuleFileError[] };

export function parseProfileFile(text: string, filename: string): ProfileFileResult {
  const read = readSource(text, filename);
  if (!read.ok) return read;
  const { raw, locate } = read.source;
  const errors: RuleFileError[] = [];
  const parsed = profileFileSchema.safeParse(raw);
  if (!parsed.success) errors.push(...schemaErrors(parsed.error.issues, locate));
  errors.push(...duplicateLocales(raw, locate), ...duplicateFlowNames(raw, locate));
  const named = errors.map((e) => nameEntry(e, raw));
  if (named.length > 0 || !parsed.success) return { ok: false, errors: orderedErrors(named) };
  const file = parsed.data;
  const profile: WantedProfile = {};
  // Only the fields Instagram knows, in its own shape (the file's unsupported keys are refused above).
  if (file.ice_breakers)
    profile.ice_breakers = file.ice_breakers.map((b) => ({
      locale: b.locale,
      call_to_actions: b.call_to_actions.map((q) => ({ question: q.question, payload: q.payload })),
    }));
  if (file.persistent_menu)
    profile.persistent_menu = file.persistent_menu.map((b) => ({
      locale: b.locale,
      call_to_actions: b.call_to_actions.map(
        (i): MenuItem =>
          i.type === "postback"
            ? { type: "postback", title: i.title, payload: i.payload }
            : { type: "web_url", title: i.title, url: i.url },
      ),
    }));
  if (file.welcome_message_flows)
    profile.welcome_message_flows = file.welcome_message_flows.map((f) => ({
      name: f.name,
      messages: f.messages.map((m) => ({
        text: m.text,
        ...(m.quick_replies
          ? { quick_replies: m.quick_replies.map((q) => ({ title: q.title, payload: q.payload })) }
          : {}),
      })),
    }));
  if (Object.keys(profile).length === 0)
    return {
      ok: false,
      errors: [
        {
          line: 1,
          column: 1,
          path: "",
          message: `lists none of ${[...PROFILE_FIELDS, "welcome_message_flows"].join(", ")}: nothing to apply`,
        },
      ],
    };
  return { ok: true, profile };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function blocks(raw: unknown, field: string): unknown[] {
  return isRecord(raw) && Array.isArray(raw[field]) ? raw[field] : [];
}

function localeOf(block: unknown): string | undefined {
  if (!isRecord(block)) return undefined;
  return block.locale === undefined ? "default" : typeof block.locale === "string" ? block.locale : undefined;
}

/** `ice_breakers[1]` becomes `ice_breakers[1] (es_ES)`: people find a block by its locale, and a
 * flow by its name. */
function nameEntry(e: RuleFileError, raw: unknown): RuleFileError {
  const flow = /^welcome_message_flows\[(\d+)\]/.exec(e.path);
  if (flow) {
    const entry = blocks(raw, "welcome_message_flows")[Number(flow[1])];
    const name = isRecord(entry) && typeof entry.name === "string" ? entry.name.trim() : "";
    return name ? { ...e, path: `${flow[0]} (${name})${e.path.slice(flow[0].length)}` } : e;
  }
  const m = /^(ice_breakers|persistent_menu)\[(\d+)\]/.exec(e.path);
  if (!m) return e;
  const locale = localeOf(blocks(raw, m[1] as string)[Number(m[2])]);
  return locale ? { ...e, path: `${m[0]} (${locale})${e.path.slice(m[0].length)}` } : e;
}

/** Reference 2.9: one `call_to_actions` block per locale. */
function duplicateLocales(raw: unknown, locate: LocatedSource["locate"]): RuleFileError[] {
  const errors: RuleFileError[] = [];
  for (const field of PROFILE_FIELDS) {
    const first = new Map<string, number>();
    blocks(raw, field).forEach((block, i) => {
      const locale = localeOf(block);
      if (locale === undefined) return;
      const earlier = first.get(locale);
      if (earlier === undefined) {
        first.set(locale, i);
        return;
      }
      const path: PathSegment[] = [field, i, "locale"];
      errors.push({
        ...locate(path),
        path: formatPath(path),
        message: `locale ${locale} is already set by ${field}[${earlier}] (line ${locate([field, earlier]).line}): one block per locale`,
      });
    });
  }
  return errors;
}

/** `profile apply` matches flows by name, so two with one name could not both be applied. */
function duplicateFlowNames(raw: unknown, locate: LocatedSource["locate"]): RuleFileError[] {
  const errors: RuleFileError[] = [];
  const first = new Map<string, number>();
  blocks(raw, "welcome_message_flows").forEach((flow, i) => {
    if (!isRecord(flow) || typeof flow.name !== "string" || flow.name.trim() === "") return;
    const name = flow.name.trim();
    const earlier = first.get(name);
    if (earlier === undefined) {
      first.set(name, i);
      return;
    }
    const path: PathSegment[] = ["welcome_message_flows", i, "name"];
    errors.push({
      ...locate(path),
      path: formatPath(path),
      message: `flow ${JSON.stringify(name)} is already named by welcome_message_flows[${earlier}] (line ${locate(["welcome_message_flows", earlier]).line}): flows are matched by name`,
    });
  });
  return errors;
}

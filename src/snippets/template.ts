// A saved reply's text: plain text with variables, `{first_name}` or `{first_name|fallback}`.
// The variables are checked when a file is imported (an unknown one is refused with its name and
// where it is), so expanding never meets one it does not know.

export const SNIPPET_VARIABLES = ["first_name", "username", "agent", "account"] as const;
export type SnippetVariable = (typeof SNIPPET_VARIABLES)[number];

/** `{word}` or `{word|fallback}`. Any word, so a misspelt `{firstName}` is caught, not sent. */
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)(?:\|([^{}]*))?\}/g;

export interface TemplateProblem {
  /** What was written between the braces. */
  variable: string;
  /** 1-based character position of its `{` in the text. */
  at: number;
  message: string;
}

function isVariable(name: string): name is SnippetVariable {
  return (SNIPPET_VARIABLES as readonly string[]).includes(name);
}

/** Unknown variables in `text`, in order. */
export function templateProblems(text: string): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  for (const m of text.matchAll(PLACEHOLDER)) {
    const name = m[1] ?? "";
    if (isVariable(name)) continue;
    // Counted in characters as people see them (an emoji is one), not UTF-16 units.
    const at = [...text.slice(0, m.index)].length + 1;
    problems.push({
      variable: name,
      at,
      message: `unknown variable {${name}} at character ${at}: use ${SNIPPET_VARIABLES.map((v) => `{${v}}`).join(", ")}, optionally with a fallback ({first_name|there})`,
    });
  }
  return problems;
}

/** What the variables stand for in one conversation; any may be unknown. */
export type TemplateValues = Partial<Record<SnippetVariable, string>>;

/** When a value is unknown and the text gives no fallback: the customer is "there" (as in rules'
 * texts), a missing agent is the brand itself, and a brand without a username is "our team". */
function defaultFor(variable: SnippetVariable, values: TemplateValues): string {
  switch (variable) {
    case "first_name":
    case "username":
      return "there";
    case "agent":
      return clean(values.account) ?? "our team";
    case "account":
      return "our team";
  }
}

function clean(value: string | undefined): string | undefined {
  const t = value?.replace(/\s+/g, " ").trim();
  return t === "" ? undefined : t;
}

/** The text with every variable filled in. Unknown words between braces (which import refuses)
 * are left as written. */
export function expand(text: string, values: TemplateValues): string {
  return text.replace(PLACEHOLDER, (whole, name: string, fallback: string | undefined) => {
    if (!isVariable(name)) return whole;
    return clean(values[name]) ?? fallback ?? defaultFor(name, values);
  });
}

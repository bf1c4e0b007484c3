import escapeHtml from "escape-html";

// Server-rendered HTML without a template engine: `html` is a tagged template that escapes every
// interpolated value unless it is itself `html` (or a list of them), so markup is only ever what a
// template literal in this folder spells out.

export class Html {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
}

function render(v: unknown): string {
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join("");
  if (v === undefined || v === null || v === false) return "";
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? "";
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? "");
  });
  return new Html(out);
}

/** `<time>` in UTC to the minute, machine-readable in full. */
export function time(at: Date | null | undefined, none = "never"): Html {
  if (!at) return html`${none}`;
  const iso = at.toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace("T", " ")} UTC</time>`;
}

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The layers of src/ (DESIGN.md "Layout", docs/architecture.md): each top-level folder is one
// capability, and the folders' value imports point one way. A cycle between folders means two
// capabilities can only be understood (and loaded) together; this test names the cycle and the
// imports that make it. Type-only imports (`import type`, `export type`) are erased before the code
// runs, so they may point anywhere (the port's view models are shared that way).

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SRC = path.join(ROOT, "src");

/** The one file of src/ that may load adapters/ (the list of platforms): the CLI's entry branch. */
const COMPOSITION_ENTRY = "src/cli.ts";

/** Chat platform SDKs: only adapters/ may load them. */
const PLATFORM_SDK = /^(@slack\/|discord\.js$|@discordjs\/)/;

interface Import {
  /** As written. */
  specifier: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.(ts|js|mjs)$/.test(entry.name) ? [full] : [];
  });
}

/** Static imports and re-exports (whole statements, across lines), side-effect imports and dynamic
 * `import("…")`. A statement starting `import type` or `export type` is type-only. */
function importsOf(text: string): Import[] {
  const found: Import[] = [];
  // The clause between the keyword and `from` holds names, braces, commas and `*` only, so a match
  // never runs on from one statement into another.
  const statement = /^[ \t]*(import|export)\s+(type\s+)?[\w$*\s,{}]*?\bfrom\s*["']([^"']+)["']/gm;
  for (const m of text.matchAll(statement))
    found.push({ specifier: m[3] as string, typeOnly: m[2] !== undefined });
  for (const m of text.matchAll(/^[ \t]*import\s*["']([^"']+)["']/gm))
    found.push({ specifier: m[1] as string, typeOnly: false });
  for (const m of text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) {
    // `import("x").T` in a type position is a type reference, not a load.
    const after = text.slice((m.index ?? 0) + m[0].length);
    found.push({ specifier: m[1] as string, typeOnly: /^\.[A-Za-z_$]/.test(after) });
  }
  return found;
}

/** The top-level folder of a file under src/ ("." for the files at its root: the entry points). */
function folderOf(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  return rel.length > 1 ? (rel[0] as string) : ".";
}

const rel = (file: string) => path.relative(ROOT, file).split(path.sep).join("/");

interface Edge {
  from: string;
  to: string;
}

/** The folder graph of value imports between src/ folders, with one file-level example per edge. */
function folderGraph(files: readonly string[]): Map<string, Map<string, Edge>> {
  const graph = new Map<string, Map<string, Edge>>();
  for (const file of files) {
    for (const { specifier, typeOnly } of importsOf(readFileSync(file, "utf8"))) {
      if (typeOnly || !specifier.startsWith(".")) continue;
      const target = path.resolve(path.dirname(file), specifier);
      if (!target.startsWith(SRC + path.sep)) continue;
      const from = folderOf(file);
      const to = folderOf(target);
      if (from === to) continue;
      const edges = graph.get(from) ?? new Map<string, Edge>();
      if (!edges.has(to)) edges.set(to, { from: rel(file), to: rel(target) });
      graph.set(from, edges);
    }
  }
  return graph;
}

/** The graph's strongly connected components of more than one node: each is a set of folders that
 * all reach one another. */
function tangles(graph: ReadonlyMap<string, ReadonlyMap<string, unknown>>): string[][] {
  // Tarjan's algorithm.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node) as number);
    stack.push(node);
    onStack.add(node);
    for (const next of [...(graph.get(node)?.keys() ?? [])].sort()) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) as number, low.get(next) as number));
      } else if (onStack.has(next))
        low.set(node, Math.min(low.get(node) as number, index.get(next) as number));
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1) found.push(component.sort());
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return found;
}

/** A shortest cycle through `start` inside `within`, as folders, `start` first and last. */
function cycleThrough(
  graph: ReadonlyMap<string, ReadonlyMap<string, unknown>>,
  start: string,
  within: ReadonlySet<string>,
): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift() as string;
    for (const next of [...(graph.get(node)?.keys() ?? [])].sort()) {
      if (!within.has(next) || previous.has(next)) continue;
      previous.set(next, node);
      if (next === start) {
        const path = [start];
        for (let at = node; at !== start; at = previous.get(at) as string) path.unshift(at);
        return [start, ...path];
      }
      queue.push(next);
    }
  }
  return [start];
}

const files = sourceFiles(SRC);

describe("src/ layers", () => {
  it("reads imports the way the test relies on", () => {
    const text = [
      'import { a } from "./a.ts";',
      'import type { B } from "../b/b.ts";',
      "import {",
      "  type C,",
      "  d,",
      '} from "../c/c.ts";',
      'export type { E } from "./e.ts";',
      'export { f } from "./f.ts";',
      'import "./side.ts";',
      'const g = await import("./g.ts");',
      'type H = import("./h.ts").H;',
    ].join("\n");
    expect(importsOf(text)).toEqual(
      expect.arrayContaining([
        { specifier: "./a.ts", typeOnly: false },
        { specifier: "../b/b.ts", typeOnly: true },
        { specifier: "../c/c.ts", typeOnly: false },
        { specifier: "./e.ts", typeOnly: true },
        { specifier: "./f.ts", typeOnly: false },
        { specifier: "./side.ts", typeOnly: false },
        { specifier: "./g.ts", typeOnly: false },
        { specifier: "./h.ts", typeOnly: true },
      ]),
    );
    expect(importsOf(text)).toHaveLength(8);
    const graph = new Map([
      ["a", new Map([["b", 1]])],
      ["b", new Map([["c", 1]])],
      ["c", new Map([["a", 1]])],
      ["d", new Map([["a", 1]])],
    ]);
    expect(tangles(graph)).toEqual([["a", "b", "c"]]);
    expect(cycleThrough(graph, "a", new Set(["a", "b", "c"]))).toEqual(["a", "b", "c", "a"]);
    expect(tangles(new Map([["a", new Map([["b", 1]])]]))).toEqual([]);
  });

  it("has no cycle of value imports between its folders", () => {
    const graph = folderGraph(files);
    const report = tangles(graph).map((folders) => {
      const members = new Set(folders);
      const cycle = cycleThrough(graph, folders[0] as string, members);
      const edges = folders.flatMap((from) =>
        [...(graph.get(from) ?? [])]
          .filter(([to]) => members.has(to))
          .map(([to, edge]) => `    ${from} → ${to}: ${edge.from} imports ${edge.to}`),
      );
      return `  ${cycle.join(" → ")}; the imports among ${folders.join(", ")}:\n${edges.join("\n")}`;
    });
    expect(report, `value imports form cycles between src/ folders:\n${report.join("\n")}`).toEqual([]);
  });

  it("loads adapters/ only from the composition entry", () => {
    const adapters = path.join(ROOT, "adapters") + path.sep;
    const loaders = files.filter((file) =>
      importsOf(readFileSync(file, "utf8")).some(
        (i) =>
          i.specifier.startsWith(".") && path.resolve(path.dirname(file), i.specifier).startsWith(adapters),
      ),
    );
    expect(loaders.map(rel)).toEqual([COMPOSITION_ENTRY]);
    // And there only in the branch that runs when the file is the program, so importing the CLI
    // (tests, bin/) loads no platform.
    const entry = readFileSync(path.join(ROOT, COMPOSITION_ENTRY), "utf8");
    const lines = entry.split("\n").filter((line) => /adapters\//.test(line) && /import/.test(line));
    expect(lines).toEqual([expect.stringMatching(/^if \(import\.meta\.main\) .*await import\(/)]);
  });

  it("imports no chat platform SDK", () => {
    const offenders = files.flatMap((file) =>
      importsOf(readFileSync(file, "utf8"))
        .filter((i) => PLATFORM_SDK.test(i.specifier))
        .map((i) => `${rel(file)} imports ${i.specifier}`),
    );
    expect(offenders).toEqual([]);
  });
});

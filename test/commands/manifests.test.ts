// The platforms' manifests are generated from the command registry; the committed files must be
// what `npm run manifests` writes, or a command added to the registry never reaches Discord.

import { describe, expect, it } from "vitest";
import { commandManifest } from "../../adapters/discord/ig-command.ts";
import { manifests, slackManifestText } from "../../scripts/manifests.ts";

describe("generated manifests", () => {
  it.each(manifests().map((m) => [m.path.pathname.split("/").slice(-2).join("/"), m] as const))(
    "%s is current",
    (_name, m) => {
      expect(m.committed === m.generated, "stale: run npm run manifests").toBe(true);
    },
  );

  it("keeps /ig within Discord's limits: 25 subcommands and groups, 25 in each group, 25 options each", () => {
    type Option = { name: string; type: number; description: string; options?: Option[] };
    const [ig] = commandManifest() as unknown as [{ options: Option[] }];
    expect(ig.options.length).toBeLessThanOrEqual(25);
    const names = new Set<string>();
    for (const o of ig.options) {
      expect(names.has(o.name), o.name).toBe(false);
      names.add(o.name);
      expect(o.description.length).toBeLessThanOrEqual(100);
      expect(o.options?.length ?? 0).toBeLessThanOrEqual(25);
      for (const sub of o.options ?? []) expect(sub.options?.length ?? 0).toBeLessThanOrEqual(25);
    }
    expect([...names]).toEqual(expect.arrayContaining(["queue", "away", "back", "conversation", "customer"]));
  });

  it("changes only the /ig entry and the shortcuts of the Slack manifest, and says when it cannot find them", () => {
    const stale = [
      "features:",
      "  slash_commands:",
      "    # a comment that stays",
      "    - command: /ig",
      "      description: old",
      '      usage_hint: "old"',
      "      should_escape: false",
      "  shortcuts:",
      "    - name: Old one",
      "      type: message",
      "      callback_id: ig_old",
      "      description: gone",
      "oauth_config: {}",
      "",
    ].join("\n");
    const fresh = slackManifestText(stale);
    expect(fresh).toContain("    # a comment that stays\n    - command: /ig\n");
    expect(fresh).toMatch(/description: "Instagram bridge: moderation, sending, data requests/);
    expect(fresh).toMatch(/usage_hint: "hide \| unhide .* \| help"\n {6}should_escape: false\n/);
    expect(fresh).not.toContain("ig_old");
    expect(fresh).toContain(
      '  shortcuts:\n    - name: "Send to Instagram"\n      type: message\n      callback_id: ig_send\n',
    );
    expect(fresh).toMatch(/callback_id: ig_quote\n {6}description: "[^"]+"\noauth_config: \{\}\n$/);
    expect(slackManifestText(fresh)).toBe(fresh);
    expect(() => slackManifestText("features: {}\n")).toThrow(/no features.slash_commands entry for \/ig/);
    expect(() => slackManifestText(stale.replace(/ {2}shortcuts:[\s\S]*(?=oauth)/, ""))).toThrow(
      /no features.shortcuts list/,
    );
  });
});

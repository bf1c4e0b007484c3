// The platforms' manifests are generated from the command registry; the committed files must be
// what `npm run manifests` writes, or a command added to the registry never reaches Discord.

import { describe, expect, it } from "vitest";
import { manifests, slackManifestText } from "../../scripts/manifests.ts";

describe("generated manifests", () => {
  it.each(manifests().map((m) => [m.path.pathname.split("/").slice(-2).join("/"), m] as const))(
    "%s is current",
    (_name, m) => {
      expect(m.committed === m.generated, "stale: run npm run manifests").toBe(true);
    },
  );

  it("changes only the /ig entry of the Slack manifest, and says when it cannot find it", () => {
    const stale = [
      "features:",
      "  slash_commands:",
      "    # a comment that stays",
      "    - command: /ig",
      "      description: old",
      '      usage_hint: "old"',
      "      should_escape: false",
      "",
    ].join("\n");
    const fresh = slackManifestText(stale);
    expect(fresh).toContain("    # a comment that stays\n    - command: /ig\n");
    expect(fresh).toMatch(/description: "Instagram bridge: moderation, sending, data requests/);
    expect(fresh).toMatch(/usage_hint: "hide \| unhide .* \| help"\n {6}should_escape: false\n$/);
    expect(() => slackManifestText("features: {}\n")).toThrow(/no features.slash_commands entry for \/ig/);
  });
});

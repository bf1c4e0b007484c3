import { describe, expect, it } from "vitest";
import { realInstagramCredentials } from "../../src/demo/credentials.ts";

// What makes `threadbridge demo` refuse: a real Instagram app's settings, as values or as files.

describe("realInstagramCredentials", () => {
  it("names every Instagram app setting that is set, the _FILE forms included", () => {
    expect(
      realInstagramCredentials({
        IG_APP_SECRET_FILE: "/run/secrets/ig",
        IG_VERIFY_TOKEN: "verify",
        SLACK_BOT_TOKEN: "xoxb-not-instagram",
        DATABASE_URL: "postgres://localhost/x",
      }),
    ).toEqual(["IG_APP_SECRET_FILE", "IG_VERIFY_TOKEN"]);
  });

  it("takes empty or blank values for unset", () => {
    expect(
      realInstagramCredentials({ IG_APP_SECRET: "", META_APP_SECRET: "  ", IG_APP_ID: undefined }),
    ).toEqual([]);
  });
});

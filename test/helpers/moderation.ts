// What the `/ig` moderation tests on Slack and Discord both look at: the fake Graph's calls
// (look-ups left out) and the post links its media look-up gives.

import type { GraphServer, RecordedRequest } from "../fakes/graph-server.ts";

/** The link the fake Graph gives for a media id (test/fakes/graph-server.ts). */
export const postLink = (media: string) => `https://www.instagram.com/p/Px${media.slice(-6)}/`;

/** Calls that change something on Instagram since request number `since`, as they were made. */
export function changesSince(
  graph: GraphServer,
  since: number,
): Array<Pick<RecordedRequest, "method" | "path" | "query" | "body">> {
  return graph.requests
    .slice(since)
    .filter((r) => r.method !== "GET")
    .map((r) => ({ method: r.method, path: r.path, query: r.query, body: r.body }));
}

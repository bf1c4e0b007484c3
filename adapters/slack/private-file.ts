// A file for one person only (an export). Slack has no ephemeral upload, and a file shared in the
// channel would be seen by everyone in it, so it goes to the app's direct message with that person.

import type { WebClient } from "@slack/web-api";
import type { ActionResult, PrivateFile } from "../../src/chat/chat-port.ts";
import type { Logger } from "../../src/log/logger.ts";
import { escapeText } from "./mrkdwn.ts";
import { errorFields, platformErrorCode } from "./slack-errors.ts";

export interface PrivateFileDeps {
  client: WebClient;
  log: Logger;
}

/** Uploads `file` into the direct message between the app and `user` (`comment` is plain text);
 * resolves with the DM channel's id. */
export async function sendPrivateFile(
  client: WebClient,
  user: string,
  file: PrivateFile,
  comment: string,
): Promise<string> {
  const opened = await client.conversations.open({ users: user });
  const channel = opened.channel?.id;
  if (!channel) throw new Error("conversations.open gave no channel");
  await client.files.uploadV2({
    channel_id: channel,
    filename: file.name,
    title: file.name,
    file: Buffer.from(file.content, "utf8"),
    initial_comment: escapeText(comment),
  });
  return channel;
}

/** The line to show `user` for an action's result, after delivering its file, if it has one. */
export async function resultText(deps: PrivateFileDeps, user: string, result: ActionResult): Promise<string> {
  const file = result.file;
  if (!file) return result.text;
  try {
    await sendPrivateFile(deps.client, user, file, result.text);
  } catch (err) {
    deps.log.warn({ file: file.name, err: errorFields(err) }, "slack private file upload failed");
    const code = platformErrorCode(err);
    const hint =
      code === "missing_scope"
        ? " The app lacks the files:write or im:write scope: reinstall it from manifest/slack.yaml."
        : " Try again in a moment.";
    return `${result.text}\nBut sending you the file failed${code ? ` (${code})` : ""}: nothing was shared.${hint}`;
  }
  // The file is with the asker whatever happens to the audit entry; a failure there is logged.
  await file.delivered().catch((err: unknown) => {
    deps.log.error({ file: file.name, err: errorFields(err) }, "export delivered but not audited");
  });
  return `${result.text}\nThe file ${file.name} is in your direct messages with the app.`;
}

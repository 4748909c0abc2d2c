// Error messages for the board's channel calls. Card writes go through the
// channel's actions (BoardChannel.renameCard, ...) and the board list is a list
// channel (MyBoardsChannel): every change reaches every open view through its
// channel, so callers never update local state themselves.
import { ActionError } from "rxd-client";
import type { BoardChannelRenameCardError } from "./generated/board.channels";

/**
 * A message for any thrown value. An action's field errors
 * (`details.fields`, as the board's actions send them) are spelled out.
 */
export function messageOf(error: unknown): string {
  if (error instanceof ActionError) {
    // The card actions declare their details (`#[action(details = InvalidFields)]`):
    // the generated alias types them. Client-side errors carry none.
    const fields = (error as BoardChannelRenameCardError).details?.fields;
    if (fields !== undefined) {
      const problems = Object.entries(fields).map(([field, problem]) => `${field} ${problem}`);
      return `${error.code}: ${problems.join(", ")}`;
    }
    return `${error.code}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

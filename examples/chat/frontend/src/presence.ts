// Presence as React reads it: each user in the room once, typing if any of
// their connections is.
import { useMemo } from "react";
import { useChannelState } from "rxd-client/react";
import type { RoomChannel } from "./generated/chat.channels";
import type { Member, User } from "./generated/chat.interfaces";

export interface Present {
  readonly user: User;
  readonly typing: boolean;
  /** Open connections (tabs) of this user in the room. */
  readonly connections: number;
}

/** The users present in `members`, sorted by name. */
export function presenceOf(members: readonly Member[]): Present[] {
  const byUser = new Map<number, Present>();
  for (const member of members) {
    const seen = byUser.get(member.user.id);
    byUser.set(member.user.id, {
      user: member.user,
      typing: (seen?.typing ?? false) || member.typing,
      connections: (seen?.connections ?? 0) + 1,
    });
  }
  return [...byUser.values()].sort((a, b) => a.user.name.localeCompare(b.user.name));
}

/** Who is in the channel's room now, on any server process. */
export function usePresence(channel: RoomChannel): Present[] {
  const members = useChannelState(channel).state?.members;
  return useMemo(() => presenceOf(members ?? []), [members]);
}

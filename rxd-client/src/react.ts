// React bindings: thin wrappers over the channel's useSyncExternalStore contract.
import { useCallback, useSyncExternalStore } from "react";
import type { ContextChannel } from "./channel";
import type { ChannelSnapshot, Key, SystemMessage } from "./types";

/**
 * The channel's nested state, runtime state and connection status. Subscribing opens the socket;
 * the component re-renders whenever the snapshot changes, and objects of the state
 * whose data did not change keep their identity (so `memo` children skip rendering).
 */
export function useChannelState<S, R>(channel: ContextChannel<S, R>): ChannelSnapshot<S, R> {
  return useSyncExternalStore(channel.subscribe, channel.getSnapshot, channel.getSnapshot);
}

/**
 * The nested object of one instance of the channel's state (the same object as
 * inside `state`), or null while the channel does not hold it. The component
 * re-renders only when that instance or something below it changes.
 *
 * `T` is the generated interface of the instance's type; the caller vouches for it.
 */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- T is the caller's type of the instance, as in the generated API
export function useChannelInstance<T>(channel: ContextChannel<unknown, unknown>, type: string, key: Key): T | null {
  const getInstance = useCallback(() => channel.getInstance<T>(type, key), [channel, type, key]);
  return useSyncExternalStore(channel.subscribe, getInstance, getInstance);
}

/**
 * The last system message the channel received (`info`, `warning` or `maintenance`),
 * or null. The component re-renders when a new one arrives; a `maintenance` message
 * also makes the channel reconnect, with a random delay, on its own.
 */
export function useSystemMessage(channel: ContextChannel<unknown, unknown>): SystemMessage | null {
  const subscribe = useCallback((notify: () => void) => channel.onSystemMessage(notify), [channel]);
  return useSyncExternalStore(subscribe, channel.getSystemMessage, channel.getSystemMessage);
}

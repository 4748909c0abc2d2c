import { useEffect, useMemo, useRef, useState, useSyncExternalStore, type SubmitEvent } from "react";
import { useChannelState } from "rxd-client/react";
import { ChatLog, type ShownMessage } from "./chatLog";
import { RoomChannel } from "./generated/chat.channels";
import { usePresence, type Present } from "./presence";
import type { Session } from "./session";
import { useTyping } from "./typing";

export function App({ session }: { session: Session }) {
  if (session.token === null) {
    return (
      <main className="chat">
        <p>
          Open this page with a token: <a href="?token=ada-token&room=1">?token=ada-token&amp;room=1</a>
        </p>
      </main>
    );
  }
  return <Room key={`${session.token}/${String(session.roomId)}`} token={session.token} roomId={session.roomId} />;
}

function Room({ token, roomId }: { token: string; roomId: number }) {
  const channel = useMemo(() => new RoomChannel(roomId, token), [roomId, token]);
  const log = useMemo(() => new ChatLog(channel), [channel]);
  const { state, connected, error } = useChannelState(channel);
  const chat = useSyncExternalStore(log.subscribe, log.getSnapshot);
  const here = usePresence(channel);
  // A new last message scrolls the log down; an older page above it does not.
  const list = useRef<HTMLOListElement>(null);
  const last = chat.messages.at(-1)?.key;
  useEffect(() => {
    if (list.current !== null) list.current.scrollTop = list.current.scrollHeight;
  }, [last]);

  if (error !== null) return <p className="error" data-testid="error">{error.kind}</p>;
  if (state === null) return <p data-testid="status">connecting…</p>;
  return (
    <main className="chat">
      <header>
        <h1># {state.name}</h1>
        <span className={connected ? "live" : "offline"} data-testid="status">
          {connected ? "live" : "reconnecting…"}
        </span>
      </header>
      <div className="columns">
        <section className="log">
          {chat.older === "done" ? (
            <p className="beginning">the beginning of #{state.name}</p>
          ) : (
            <button data-testid="load-older" disabled={chat.older === "loading"} onClick={() => void log.loadOlder()}>
              {chat.older === "loading" ? "loading…" : "load older messages"}
            </button>
          )}
          <ol data-testid="messages" ref={list}>
            {chat.messages.map((message) => (
              <MessageRow key={message.key} message={message} onRetry={() => { log.retry(message.key); }} />
            ))}
          </ol>
          <Composer channel={channel} onSend={(body) => { log.send(body); }} />
        </section>
        <PresenceList here={here} />
      </div>
    </main>
  );
}

function MessageRow({ message, onRetry }: { message: ShownMessage; onRetry: () => void }) {
  return (
    <li className={`message ${message.status}`} data-testid="message" data-status={message.status} data-client-id={message.key}>
      <span className="author">{message.author?.name ?? "you"}</span>
      <span className="body">{message.body}</span>
      <time>{new Date(message.sentAt).toLocaleTimeString()}</time>
      {message.status === "sending" && <span className="note">sending…</span>}
      {message.status === "failed" && (
        <span className="note">
          {message.error} <button onClick={onRetry}>retry</button>
        </span>
      )}
    </li>
  );
}

function Composer({ channel, onSend }: { channel: RoomChannel; onSend: (body: string) => void }) {
  const [text, setText] = useState("");
  const { typed, stopped } = useTyping(channel);
  const submit = (event: SubmitEvent) => {
    event.preventDefault();
    if (text.trim() === "") return;
    onSend(text);
    setText("");
    stopped();
  };
  return (
    <form className="composer" onSubmit={submit}>
      <input
        data-testid="composer"
        value={text}
        placeholder="Message"
        maxLength={2000}
        onChange={(event) => {
          setText(event.target.value);
          typed();
        }}
      />
      <button type="submit" data-testid="send">
        send
      </button>
    </form>
  );
}

function PresenceList({ here }: { here: readonly Present[] }) {
  return (
    <aside className="presence">
      <h2>here now</h2>
      <ul data-testid="presence">
        {here.map((present) => (
          <li key={present.user.id} data-testid="present" data-name={present.user.name} data-typing={String(present.typing)}>
            {present.user.name}
            {present.connections > 1 && <span className="note"> ({present.connections} tabs)</span>}
            {present.typing && <span className="note"> typing…</span>}
          </li>
        ))}
      </ul>
    </aside>
  );
}

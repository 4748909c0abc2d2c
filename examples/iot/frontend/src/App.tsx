import { useEffect, useMemo, useState, type SubmitEvent } from "react";
import { ActionError } from "rxd-client";
import { useChannelState } from "rxd-client/react";
import { TopicsChannel } from "./generated/iot.channels";
import type { Feed, JsonValue, Publication, Token } from "./generated/iot.interfaces";
import type { Session } from "./session";

export function App({ session }: { session: Session }) {
  if (session.token === null) {
    return (
      <main className="iot">
        <p>
          Open this page with a token: <a href="?token=dashboard-token">?token=dashboard-token</a>
        </p>
      </main>
    );
  }
  return <Dashboard key={session.token} token={session.token} pattern={session.pattern} />;
}

/** The message of a refused call, for the page. */
function refusal(thrown: unknown): string {
  return thrown instanceof ActionError ? `${thrown.code}: ${thrown.message}` : "the call failed";
}

function Dashboard({ token, pattern }: { token: string; pattern: string }) {
  const channel = useMemo(() => new TopicsChannel(token), [token]);
  const { state, runtime, connected, error } = useChannelState(channel);
  const [problem, setProblem] = useState<string | null>(null);

  // Subscriptions live as long as a connection: subscribe again on each.
  useEffect(() => {
    if (!connected) return;
    channel.subscribeTo(pattern).catch((thrown: unknown) => {
      setProblem(refusal(thrown));
    });
  }, [channel, connected, pattern]);

  if (error !== null) return <p className="error" data-testid="error">{error.kind}</p>;
  const me = state?.[0];
  if (me === undefined) return <p data-testid="status">connecting…</p>;
  return (
    <main className="iot">
      <header>
        <h1>{me.name}</h1>
        <span className={connected ? "live" : "offline"} data-testid="status">
          {connected ? "live" : "reconnecting…"}
        </span>
      </header>
      <Readings feed={runtime} />
      <Subscriptions
        feed={runtime}
        onSubscribe={(p) => {
          setProblem(null);
          channel.subscribeTo(p).catch((thrown: unknown) => {
            setProblem(refusal(thrown));
          });
        }}
        onUnsubscribe={(p) => {
          void channel.unsubscribeFrom(p);
        }}
      />
      {problem !== null && (
        <p className="error" data-testid="problem">
          {problem}
        </p>
      )}
      <Grants token={me} />
    </main>
  );
}

/** A payload's headline value: `celsius` or `percent` when present. */
function shown(payload: JsonValue): string {
  if (payload !== null && typeof payload === "object" && !Array.isArray(payload)) {
    if (typeof payload.celsius === "number") return `${payload.celsius.toFixed(1)} °C`;
    if (typeof payload.percent === "number") return `${String(payload.percent)} %`;
  }
  return JSON.stringify(payload);
}

function Readings({ feed }: { feed: Feed | null }) {
  const rows: Publication[] = Object.values(feed?.latest ?? {});
  return (
    <section>
      <h2>
        latest readings <span className="note">({feed?.received ?? 0} received)</span>
      </h2>
      {rows.length === 0 ? (
        <p className="note">nothing yet</p>
      ) : (
        <table data-testid="readings">
          <tbody>
            {rows.map((p) => (
              <tr key={p.topic} data-testid="reading" data-topic={p.topic}>
                <td className="topic">{p.topic}</td>
                <td className="value">{shown(p.payload)}</td>
                <td className="note">{p.from}</td>
                <td className="note">{new Date(p.at).toLocaleTimeString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Subscriptions({
  feed,
  onSubscribe,
  onUnsubscribe,
}: {
  feed: Feed | null;
  onSubscribe: (pattern: string) => void;
  onUnsubscribe: (pattern: string) => void;
}) {
  const [text, setText] = useState("");
  const submit = (event: SubmitEvent) => {
    event.preventDefault();
    if (text.trim() === "") return;
    onSubscribe(text.trim());
    setText("");
  };
  return (
    <section>
      <h2>subscriptions</h2>
      <ul data-testid="subscriptions">
        {(feed?.subscriptions ?? []).map((s) => (
          <li key={s} data-testid="subscription" data-pattern={s}>
            <code>{s}</code> <button onClick={() => { onUnsubscribe(s); }}>unsubscribe</button>
          </li>
        ))}
      </ul>
      <form onSubmit={submit}>
        <input data-testid="pattern" value={text} placeholder="sensors/+/humidity" onChange={(e) => { setText(e.target.value); }} />
        <button type="submit" data-testid="subscribe">
          subscribe
        </button>
      </form>
      {(feed?.dropped ?? []).map((d, i) => (
        <p key={`${d.pattern}-${String(i)}`} className="dropped" data-testid="dropped" data-pattern={d.pattern}>
          <code>{d.pattern}</code> was dropped: {d.reason}
        </p>
      ))}
    </section>
  );
}

function Grants({ token }: { token: Token }) {
  return (
    <section>
      <h2>this token may</h2>
      <ul data-testid="grants">
        {token.grants.map((g) => (
          <li key={g.id} data-testid="grant" data-pattern={g.pattern}>
            {g.access === "read-write" ? "read and publish" : "read"} <code>{g.pattern}</code>
          </li>
        ))}
      </ul>
    </section>
  );
}

// @vitest-environment jsdom
import { StrictMode, memo, useMemo } from "react";
import { act, cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { useChannelInstance, useChannelState, useSystemMessage } from "../src/react";
import type { WebSocketConstructor } from "../src/index";
import { BoardChannel, READY_41, card, initialInstances, user, type Board, type Card, type Column } from "./board";
import { fakeWebSocketServer, type FakeSocket } from "./fake-websocket";

afterEach(cleanup);

/** Lets the channel's deferred disconnect (a 0 ms timer) run. */
async function flushTimers(): Promise<void> {
  await act(async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
  });
}

function serveInitialState(socket: FakeSocket): void {
  act(() => {
    socket.accept();
    socket.deliver({ type: "instances", instances: initialInstances() });
    socket.deliver(READY_41);
  });
}

/** Every render of a memoized column, with the object it received. */
const columnRenders: Column[] = [];

const ColumnView = memo(function ColumnView({ column }: { column: Column }) {
  columnRenders.push(column);
  return (
    <section>
      <h2>{column.name}</h2>
      <ul>
        {column.cards.map((c) => (
          <li key={c.id}>{c.title}</li>
        ))}
      </ul>
    </section>
  );
});

function BoardView({ channel }: { channel: BoardChannel }) {
  const { state, connected, error } = useChannelState(channel);
  if (error !== null) return <p>error: {error.kind}</p>;
  if (state === null) return <p>loading</p>;
  return (
    <main>
      <h1>{state.title}</h1>
      <p>{connected ? "live" : "offline"}</p>
      {state.columns.map((column) => (
        <ColumnView key={column.id} column={column} />
      ))}
    </main>
  );
}

function newChannel(WebSocket: WebSocketConstructor): BoardChannel {
  return new BoardChannel(1, "d3m0-t0k3n", { baseUrl: "ws://rxd.test", WebSocket });
}

describe("useChannelState", () => {
  it("opens exactly one socket under StrictMode and keeps it open", async () => {
    const server = fakeWebSocketServer();
    const channel = newChannel(server.WebSocket);
    render(
      <StrictMode>
        <BoardView channel={channel} />
      </StrictMode>,
    );
    await flushTimers();
    expect(server.sockets).toHaveLength(1);
    expect(server.last().closedByClient).toBeNull();

    serveInitialState(server.last());
    expect(screen.getByRole("heading", { level: 1 }).textContent).toBe("Launch");
    expect(screen.getByText("live")).toBeTruthy();
    expect(server.last().sent).toEqual([{ type: "auth", token: "d3m0-t0k3n" }]);
  });

  it("opens one socket for a channel created in useMemo under StrictMode", async () => {
    const server = fakeWebSocketServer();
    function App() {
      // StrictMode may call this twice; the unused channel must cost nothing.
      const channel = useMemo(() => newChannel(server.WebSocket), []);
      return <BoardView channel={channel} />;
    }
    render(
      <StrictMode>
        <App />
      </StrictMode>,
    );
    await flushTimers();
    expect(server.sockets).toHaveLength(1);
    serveInitialState(server.last());
    expect(screen.getByText("Launch")).toBeTruthy();
  });

  it("re-renders on change, and unchanged subtrees reach components as identical objects", () => {
    const server = fakeWebSocketServer();
    const channel = newChannel(server.WebSocket);
    render(<BoardView channel={channel} />);
    serveInitialState(server.last());
    expect(columnRenders.slice(-2).map((c) => c.id)).toEqual([3, 4]);
    const [column3, column4] = columnRenders.slice(-2);
    columnRenders.length = 0;

    act(() => {
      server.last().deliver({ type: "delta", v: 42, instances: [card(12, 42, 4, 8, "Shipped")], deleted: [] });
    });
    expect(screen.getByText("Shipped")).toBeTruthy();
    // Only the changed column rendered again; the other kept its object, so memo skipped it.
    expect(columnRenders.map((c) => c.id)).toEqual([4]);
    expect(columnRenders[0]).not.toBe(column4);
    expect(channel.getSnapshot().state?.columns[0]).toBe(column3);
  });

  it("shows why a channel stopped", () => {
    const server = fakeWebSocketServer();
    render(<BoardView channel={newChannel(server.WebSocket)} />);
    act(() => {
      server.last().accept();
      server.last().drop(4003, "forbidden");
    });
    expect(screen.getByText("error: forbidden")).toBeTruthy();
  });

  it("closes the socket after the last component unmounts", async () => {
    const server = fakeWebSocketServer();
    const channel = newChannel(server.WebSocket);
    const { unmount } = render(
      <StrictMode>
        <BoardView channel={channel} />
        <BoardView channel={channel} />
      </StrictMode>,
    );
    serveInitialState(server.last());
    unmount();
    await flushTimers();
    expect(server.sockets).toHaveLength(1);
    expect(server.last().closedByClient?.code).toBe(1000);
  });
});

describe("useChannelInstance", () => {
  function CardTitle({ channel, id, renders }: { channel: BoardChannel; id: number; renders: Card[] }) {
    const found = useChannelInstance<Card>(channel, "Card", id);
    if (found !== null) renders.push(found);
    return <span data-testid={`card-${String(id)}`}>{found === null ? "none" : found.title}</span>;
  }

  it("returns the object inside the state and re-renders only when that instance changes", () => {
    const server = fakeWebSocketServer();
    const channel = newChannel(server.WebSocket);
    const card10Renders: Card[] = [];
    const card12Renders: Card[] = [];
    render(
      <>
        <CardTitle channel={channel} id={10} renders={card10Renders} />
        <CardTitle channel={channel} id={12} renders={card12Renders} />
        <CardTitle channel={channel} id={99} renders={[]} />
      </>,
    );
    expect(screen.getByTestId("card-10").textContent).toBe("none");
    serveInitialState(server.last());

    const state: Board | null = channel.getSnapshot().state;
    expect(card10Renders.at(-1)).toBe(state?.columns[0]?.cards[0]);
    expect(screen.getByTestId("card-12").textContent).toBe("Card 12");
    expect(screen.getByTestId("card-99").textContent).toBe("none");
    const card10Count = card10Renders.length;

    act(() => {
      server.last().deliver({ type: "delta", v: 42, instances: [card(12, 42, 4, 8, "Renamed")], deleted: [] });
    });
    expect(screen.getByTestId("card-12").textContent).toBe("Renamed");
    expect(card12Renders.at(-1)).toBe(channel.getSnapshot().state?.columns[1]?.cards[0]);
    expect(card10Renders).toHaveLength(card10Count);

    // A change below the instance (its assignee) renews it too.
    act(() => {
      server.last().deliver({ type: "delta", v: 43, instances: [user(7, 43, "Ada L.")], deleted: [] });
    });
    expect(card10Renders.length).toBeGreaterThan(card10Count);
    expect(card10Renders.at(-1)?.assignee?.name).toBe("Ada L.");

    act(() => {
      server.last().deliver({ type: "delta", v: 44, instances: [], deleted: [{ _type: "Card", key: 12 }] });
    });
    expect(screen.getByTestId("card-12").textContent).toBe("none");
  });
});

describe("useSystemMessage", () => {
  it("re-renders with the latest system message", () => {
    const server = fakeWebSocketServer();
    const channel = new BoardChannel(1, "t", { baseUrl: "ws://rxd.test", WebSocket: server.WebSocket });
    function Banner() {
      useChannelState(channel);
      const system = useSystemMessage(channel);
      return <p>{system === null ? "no news" : `${system.level}: ${system.message}`}</p>;
    }
    render(<Banner />);
    serveInitialState(server.last());
    expect(screen.getByText("no news")).toBeTruthy();
    act(() => {
      server.last().deliver({ type: "system", level: "warning", message: "restart in 5 minutes" });
    });
    expect(screen.getByText("warning: restart in 5 minutes")).toBeTruthy();
  });
});

import { useEffect, useMemo, useState, type SubmitEvent } from "react";
import { useChannelState } from "rxd-client/react";
import { BoardView } from "./BoardView";
import { MyBoardsChannel } from "./generated/board.channels";
import { boardFromUrl, forgetToken, pushBoard, saveToken } from "./session";

export function App({ initialToken }: { initialToken: string | null }) {
  const [token, setToken] = useState(initialToken);
  const [boardId, setBoardId] = useState(boardFromUrl);

  useEffect(() => {
    const onPopState = () => {
      setBoardId(boardFromUrl());
    };
    window.addEventListener("popstate", onPopState);
    return () => {
      window.removeEventListener("popstate", onPopState);
    };
  }, []);

  const selectBoard = (id: number | null) => {
    pushBoard(id);
    setBoardId(id);
  };

  if (token === null) {
    return (
      <SignIn
        onSignIn={(value) => {
          saveToken(value);
          setToken(value);
        }}
      />
    );
  }

  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">rxd board</span>
        <BoardPicker token={token} boardId={boardId} onSelect={selectBoard} />
        <button
          type="button"
          className="link"
          onClick={() => {
            forgetToken();
            setToken(null);
          }}
        >
          Sign out
        </button>
      </header>
      <main>
        {boardId === null ? (
          <p className="hint">Choose a board above.</p>
        ) : (
          <BoardView key={boardId} boardId={boardId} token={token} />
        )}
      </main>
    </div>
  );
}

function SignIn({ onSignIn }: { onSignIn: (token: string) => void }) {
  const [value, setValue] = useState("");
  const submit = (event: SubmitEvent) => {
    event.preventDefault();
    const token = value.trim();
    if (token !== "") onSignIn(token);
  };
  return (
    <div className="app">
      <form className="signin" onSubmit={submit}>
        <h1>rxd board</h1>
        <label>
          Token{" "}
          <input
            data-testid="token-input"
            value={value}
            onChange={(event) => {
              setValue(event.target.value);
            }}
            placeholder="ada-token"
          />
        </label>
        <button type="submit">Sign in</button>
        <p className="hint">
          Demo tokens: <code>ada-token</code> (boards 1 and 2), <code>grace-token</code> (board 1),{" "}
          <code>linus-token</code> (no board).
        </p>
      </form>
    </div>
  );
}

/**
 * The boards the user may see, live from a list channel: a renamed board is renamed here
 * and a new board of the user appears. A board that is not listed can still be opened by
 * `?board=N`.
 */
function BoardPicker({
  token,
  boardId,
  onSelect,
}: {
  token: string;
  boardId: number | null;
  onSelect: (id: number | null) => void;
}) {
  const channel = useMemo(() => new MyBoardsChannel(token), [token]);
  const { state: boards, error } = useChannelState(channel);

  if (error !== null) {
    return (
      <span className="picker error" data-testid="boards-error">
        Cannot list boards: {error.kind}
      </span>
    );
  }
  if (boards === null) return <span className="picker hint">Loading boards…</span>;
  const listed = boardId === null || boards.some((board) => board.id === boardId);
  return (
    <label className="picker">
      Board{" "}
      <select
        data-testid="board-picker"
        value={boardId ?? ""}
        onChange={(event) => {
          onSelect(event.target.value === "" ? null : Number(event.target.value));
        }}
      >
        <option value="">{boards.length === 0 ? "no boards" : "choose…"}</option>
        {boards.map((board) => (
          <option key={board.id} value={board.id}>
            {board.title}
          </option>
        ))}
        {!listed && <option value={boardId}>board {boardId} (not yours)</option>}
      </select>
    </label>
  );
}

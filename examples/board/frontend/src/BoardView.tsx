import { memo, useEffect, useMemo, useState, type SubmitEvent, type KeyboardEvent } from "react";
import type { ChannelError } from "rxd-client";
import { useChannelState } from "rxd-client/react";
import { messageOf } from "./api";
import { BoardChannel, type BoardChannelCard, type BoardChannelColumn } from "./generated/board.channels";
import { recordRender } from "./renders";

/** The choices of a card's "move to" select: every column of the board, in order. */
interface ColumnOption {
  id: number;
  name: string;
}

/** Reports the outcome of a write: an error message, or null on success. */
type Report = (error: string | null) => void;

/** One live board: the channel lives as long as this component and its props. */
export function BoardView({ boardId, token }: { boardId: number; token: string }) {
  const channel = useMemo(() => new BoardChannel(boardId, token), [boardId, token]);
  const { state, connected, error } = useChannelState(channel);
  const [restError, setRestError] = useState<string | null>(null);
  const columnOptions = useColumnOptions(state?.columns ?? null);

  const status = error !== null ? "disconnected" : connected ? "connected" : "connecting";

  return (
    <section className="board">
      <header className="board-header">
        <h1 data-testid="board-title">{state?.title ?? `Board ${boardId}`}</h1>
        {state !== null && (
          <span className="owner" data-testid="board-owner">
            owned by {state.owner.name}
          </span>
        )}
        <span className={`status status-${status}`} data-testid="connection-status">
          {status}
        </span>
      </header>

      {error !== null && <ChannelErrorBanner error={error} />}
      {restError !== null && (
        <div className="banner error" role="alert" data-testid="rest-error">
          {restError}
          <button
            type="button"
            className="link"
            aria-label="Dismiss"
            onClick={() => {
              setRestError(null);
            }}
          >
            ×
          </button>
        </div>
      )}

      {state === null ? (
        error === null && <p className="hint">{connected ? "This board no longer exists." : "Loading…"}</p>
      ) : (
        <div className="columns">
          {state.columns.map((column) => (
            <ColumnView
              key={column.id}
              column={column}
              columnOptions={columnOptions}
              report={setRestError}
            />
          ))}
        </div>
      )}
    </section>
  );
}

const ERROR_TEXT: Record<string, string> = {
  unauthorized: "Your token was not accepted.",
  forbidden: "You are not a member of this board.",
  not_found: "There is no such board.",
  revoked: "Your access was revoked.",
};

function ChannelErrorBanner({ error }: { error: ChannelError }) {
  return (
    <div className="banner error" role="alert" data-testid="channel-error" data-kind={error.kind}>
      <span>
        <strong>{error.kind}</strong>: {ERROR_TEXT[error.kind] ?? "The connection was closed."}
      </span>
      {error.reason !== "" && error.reason.replace(" ", "_") !== error.kind && (
        <span className="reason">({error.reason})</span>
      )}
    </div>
  );
}

/**
 * The columns' ids and names as one array that keeps its identity while they
 * stay the same, so that a card change does not re-render every card's select.
 */
function useColumnOptions(columns: readonly BoardChannelColumn[] | null): readonly ColumnOption[] {
  const key = JSON.stringify((columns ?? []).map((column): ColumnOption => ({ id: column.id, name: column.name })));
  return useMemo(() => JSON.parse(key) as ColumnOption[], [key]);
}

interface ColumnProps {
  column: BoardChannelColumn;
  columnOptions: readonly ColumnOption[];
  report: Report;
}

const ColumnView = memo(function ColumnView({ column, columnOptions, report }: ColumnProps) {
  useEffect(() => {
    recordRender(`column-${column.id}`);
  });
  const [title, setTitle] = useState("");

  /** An optimistic create: the card shows at once and goes away if the server refuses it. */
  const add = (event: SubmitEvent) => {
    event.preventDefault();
    const trimmed = title.trim();
    if (trimmed === "") return;
    setTitle("");
    column.cards.create({ title: trimmed }).then(
      () => {
        report(null);
      },
      (error: unknown) => {
        report(`Could not add the card: ${messageOf(error)}`);
      },
    );
  };

  return (
    <section className="column" data-testid={`column-${column.id}`}>
      <h2>
        <span data-testid={`column-name-${column.id}`}>{column.name}</span>{" "}
        <span className="count">{column.cards.length}</span>
      </h2>
      <ul className="cards">
        {column.cards.map((card) => (
          <CardView key={card.id} card={card} columnOptions={columnOptions} report={report} />
        ))}
      </ul>
      <form className="add-card" onSubmit={add}>
        <input
          data-testid={`new-card-title-${column.id}`}
          aria-label={`New card in ${column.name}`}
          placeholder="New card"
          value={title}
          onChange={(event) => {
            setTitle(event.target.value);
          }}
        />
        <button type="submit" data-testid={`add-card-${column.id}`} disabled={title.trim() === ""}>
          Add
        </button>
      </form>
    </section>
  );
});

interface CardProps {
  card: BoardChannelCard;
  columnOptions: readonly ColumnOption[];
  report: Report;
}

const CardView = memo(function CardView({ card, columnOptions, report }: CardProps) {
  useEffect(() => {
    recordRender(`card-${card.id}`);
  });
  const [draft, setDraft] = useState<string | null>(null);

  /**
   * Runs one optimistic write: the change shows at once; a refusal rolls it back to the
   * server's value and is reported.
   */
  const run = (what: string, write: Promise<void>) => {
    write.then(
      () => {
        report(null);
      },
      (error: unknown) => {
        report(`Could not ${what}: ${messageOf(error)}`);
      },
    );
  };

  const saveTitle = () => {
    // Enter saves, and the blur that follows must not save a second time.
    if (draft === null) return;
    const title = draft.trim();
    setDraft(null);
    if (title === "" || title === card.title) return;
    run("rename the card", card.save({ title }));
  };

  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === "Enter") {
      event.preventDefault();
      saveTitle();
    } else if (event.key === "Escape") {
      setDraft(null);
    }
  };

  return (
    <li className="card" data-testid={`card-${card.id}`}>
      {draft === null ? (
        <span
          className="card-title"
          data-testid={`card-title-${card.id}`}
          title="Double-click to rename"
          onDoubleClick={() => {
            setDraft(card.title);
          }}
        >
          {card.title}
        </span>
      ) : (
        <input
          className="card-title-input"
          data-testid={`card-rename-input-${card.id}`}
          aria-label="Card title"
          autoFocus
          value={draft}
          onChange={(event) => {
            setDraft(event.target.value);
          }}
          onKeyDown={onKeyDown}
          onBlur={saveTitle}
        />
      )}
      <div className="card-meta">
        <span className="assignee" data-testid={`card-assignee-${card.id}`}>
          {card.assignee === null ? "unassigned" : card.assignee.name}
        </span>
        <span className="card-actions">
          <button
            type="button"
            className="link"
            data-testid={`card-rename-${card.id}`}
            disabled={draft !== null}
            onClick={() => {
              setDraft(card.title);
            }}
          >
            Rename
          </button>
          <select
            data-testid={`card-move-${card.id}`}
            aria-label="Move to column"
            value={card.column_id}
            onChange={(event) => {
              run("move the card", card.save({ column_id: Number(event.target.value) }));
            }}
          >
            {columnOptions.map((option) => (
              <option key={option.id} value={option.id}>
                {option.name}
              </option>
            ))}
          </select>
          <button
            type="button"
            className="link danger"
            data-testid={`card-delete-${card.id}`}
            aria-label={`Delete ${card.title}`}
            onClick={() => {
              run("delete the card", card.delete());
            }}
          >
            Delete
          </button>
        </span>
      </div>
    </li>
  );
});

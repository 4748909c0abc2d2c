// The board example of docs/PROTOCOL.md: Board → columns → cards, a User shared as owner and assignee.
import { ContextChannel, type ChannelModel, type ChannelOptions, type FlatInstance } from "../src/index";

export interface User {
  id: number;
  name: string;
}
export interface Card {
  id: number;
  column_id: number;
  title: string;
  assignee: User | null;
}
export interface Column {
  id: number;
  board_id: number;
  name: string;
  cards: Card[];
}
export interface Board {
  id: number;
  title: string;
  columns: Column[];
  owner: User;
}

// Shaped exactly like the generated `<app>.channels.ts`.
export class BoardChannel extends ContextChannel<Board> {
  static readonly route = "/ws/boards/{board_id}";
  static readonly model: ChannelModel = {
    anchor: "Board",
    types: {
      Board: {
        key: "id",
        relations: {
          columns: { type: "Column", cardinality: "many" },
          owner: { type: "User", cardinality: "one" },
        },
      },
      Column: { key: "id", relations: { cards: { type: "Card", cardinality: "many" } } },
      Card: { key: "id", relations: { assignee: { type: "User", cardinality: "optional" } } },
      User: { key: "id", relations: {} },
    },
  };
  constructor(boardId: number, token: string, options?: ChannelOptions) {
    super(`/ws/boards/${encodeURIComponent(String(boardId))}`, token, BoardChannel.model, options);
  }

  /** Renames a card of this board. */
  renameCard(cardId: number, title: string): Promise<Card> {
    return this.call("rename_card", [cardId, title]);
  }
}

export const board = (v: number, columns: number[], extra: object = {}): FlatInstance => ({
  _type: "Board",
  _v: v,
  id: 1,
  title: "Launch",
  columns,
  owner: 7,
  ...extra,
});
export const column = (id: number, v: number, cards: number[], name = `Column ${String(id)}`): FlatInstance => ({
  _type: "Column",
  _v: v,
  id,
  board_id: 1,
  name,
  cards,
});
export const card = (
  id: number,
  v: number,
  columnId: number,
  assignee: number | null,
  title = `Card ${String(id)}`,
): FlatInstance => ({
  _type: "Card",
  _v: v,
  id,
  column_id: columnId,
  title,
  assignee,
});
export const user = (id: number, v: number, name: string): FlatInstance => ({ _type: "User", _v: v, id, name });

/** The initial state used by most tests: two columns, three cards, Ada owns the board and holds card 10. */
export function initialInstances(): FlatInstance[] {
  return [
    board(40, [3, 4]),
    column(3, 12, [10, 11]),
    column(4, 13, [12]),
    card(10, 20, 3, 7),
    card(11, 21, 3, null),
    card(12, 22, 4, 8),
    user(7, 2, "Ada"),
    user(8, 3, "Grace"),
  ];
}

export const READY_41 = { type: "ready", v: 41, anchor: { _type: "Board", key: 1 } };

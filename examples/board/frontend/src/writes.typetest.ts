// Compile-time checks of the generated write types (`tsc --noEmit` runs them; nothing
// here executes). Each `@ts-expect-error` line must fail to compile: if the generated
// types ever accepted it, tsc would report the unused directive.
import type { BoardChannelCard, BoardChannelColumn } from "./generated/board.channels";

export function typeChecks(card: BoardChannelCard, column: BoardChannelColumn): void {
  // Writable fields are accepted, alone or together.
  void card.save({ title: "Renamed" });
  void card.save({ column_id: 2, title: "Moved" });
  void card.delete();
  void column.cards.create({ title: "New" });

  // @ts-expect-error the key is never writable
  void card.save({ id: 3 });
  // @ts-expect-error an unknown field
  void card.save({ colour: "red" });
  // @ts-expect-error a relation field is not writable
  void card.save({ assignee: null });
  // @ts-expect-error a writable field with a value of the wrong type
  void card.save({ title: 42 });
  // @ts-expect-error a create needs its required writable fields
  void column.cards.create({});
  // @ts-expect-error a create takes its parent from the list, not from the data
  void column.cards.create({ title: "x", column_id: 2 });
  // @ts-expect-error the key is never writable, on create either
  void column.cards.create({ title: "x", id: 9 });
}

"""Drives the board example through the generated Python client.

Run by tests/tests/python_client.rs: `python board_client.py ws://127.0.0.1:PORT`
with `board_channels.py` and `rxd_client.py` importable.
"""

import asyncio
import sys

import rxd_client
from board_channels import Board, BoardChannel, Card, MyBoardsChannel

NEW_TITLE = "Renamed from Python"


def has_title(state: Board | None, title: str) -> bool:
    return state is not None and any(
        card.title == title for column in state.columns for card in column.cards
    )


async def main(base_url: str) -> None:
    ada = await BoardChannel.connect(base_url, 1, "ada-token")
    grace = await BoardChannel.connect(base_url, 1, "grace-token")
    try:
        state = ada.state
        assert isinstance(state, Board), state
        assert state.title == "Launch", state.title
        assert [c.name for c in state.columns] == ["Todo", "Doing", "Done"], state.columns
        assert state.owner.name == "Ada", state.owner
        card = state.columns[0].cards[0]
        assert card.title == "Write the press release", card
        assert card.assignee is not None and card.assignee.name == "Grace", card
        print(f"connected: board {state.id} {state.title!r}, v{ada.channel.version}, "
              f"columns {[c.name for c in state.columns]}")

        # An action: its reply is typed, and the caller already holds the delta.
        before = ada.channel.version
        assert before is not None
        renamed = await ada.rename_card(card.id, NEW_TITLE)
        assert isinstance(renamed, Card) and renamed.title == NEW_TITLE, renamed
        assert has_title(ada.state, NEW_TITLE), ada.state
        after = ada.channel.version
        assert after is not None and after > before, (before, after)
        print(f"rename_card replied {renamed}; caller at v{ada.channel.version}")

        # Another client sees the delta.
        seen = await grace.wait_for(lambda s: has_title(s, NEW_TITLE), timeout=5)
        assert seen is not None and seen.columns[0].cards[0].title == NEW_TITLE
        print(f"grace saw the delta at v{grace.channel.version}")

        # A new card, then its deletion, through the async iterator.
        created = await ada.create_card(2, "From Python")
        assert created.column_id == 2 and created.assignee is None, created
        await ada.delete_card(created.id)
        async for snapshot in grace.changes():
            assert snapshot is not None
            cards = [c.id for column in snapshot.columns for c in column.cards]
            if created.id not in cards:
                break
        print(f"create_card/delete_card of card {created.id} seen through changes()")

        # An error reply raises ActionError with the server's details.
        try:
            await ada.rename_card(card.id, "")
        except rxd_client.ActionError as error:
            assert error.code == "invalid", error
            assert error.details == {"fields": {"title": "must be 1 to 200 characters"}}, error.details
            print(f"empty title refused: {error} {error.details}")
        else:
            raise AssertionError("an empty title was accepted")

        # A timeout is a TimeoutError, not a hang.
        try:
            await grace.wait_for(lambda s: s is None, timeout=0.2)
        except TimeoutError:
            pass
        else:
            raise AssertionError("wait_for did not time out")
    finally:
        await ada.close()
        await grace.close()

    # After close: a call fails clearly.
    try:
        await ada.rename_card(1, "late")
    except rxd_client.ActionError as error:
        assert error.code == "disconnected", error
    else:
        raise AssertionError("a call after close succeeded")

    # The list channel.
    boards = await MyBoardsChannel.connect(base_url, "ada-token")
    try:
        titles = [b.title for b in boards.state]
        assert titles == ["Launch", "Research"] or sorted(titles) == ["Launch", "Research"], titles
        print(f"my boards: {titles}")
    finally:
        await boards.close()

    # Refusals are close frames with their code and reason.
    for token, board_id, code in [("nobody", 1, 4001), ("ada-token", 99, 4004), ("linus-token", 1, 4003)]:
        try:
            await BoardChannel.connect(base_url, board_id, token)
        except rxd_client.ChannelClosed as error:
            assert error.code == code, (token, board_id, error)
            print(f"refused as expected: {error}")
        else:
            raise AssertionError(f"{token} on board {board_id} was accepted")
    print("python client: all checks passed")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))

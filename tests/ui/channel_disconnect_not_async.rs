use rxd::{Connect, ContextState, Ctx, Load, LoadError, Reject};
use serde::{Deserialize, Serialize};

#[derive(ContextState, Serialize, Deserialize)]
pub struct Board {
    pub id: i64,
}

#[derive(Clone)]
pub struct User;

pub struct BoardChannel {
    board_id: i64,
}

#[rxd::channel(state = Board, route = "/ws/boards/{board_id}")]
impl BoardChannel {
    async fn connect(_ctx: &Connect, _user: User, board_id: i64) -> Result<Self, Reject> {
        Ok(BoardChannel { board_id })
    }

    async fn load(&self, _ctx: &Load) -> Result<Board, LoadError> {
        Ok(Board { id: self.board_id })
    }

    fn disconnect(&self, _ctx: &Ctx) {}
}

fn main() {}

use rxd::{Connect, ContextState, Load, LoadError, Reject};
use serde::{Deserialize, Serialize};

#[derive(ContextState, Serialize, Deserialize)]
pub struct Task {
    pub id: i64,
}

#[derive(Clone)]
pub struct User;

pub struct MyTasks;

#[rxd::channel(state = Vec<Task>, route = "/ws/tasks")]
impl MyTasks {
    async fn connect(_ctx: &Connect, _user: User) -> Result<Self, Reject> {
        Ok(MyTasks)
    }

    async fn load(&self, _ctx: &Load, id: i64) -> Result<Task, LoadError> {
        Ok(Task { id })
    }
}

fn main() {}

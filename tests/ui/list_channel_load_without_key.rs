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

    async fn anchors(&self, _ctx: &Load) -> Result<Vec<i64>, LoadError> {
        Ok(vec![1])
    }

    async fn load(&self, _ctx: &Load) -> Result<Task, LoadError> {
        Ok(Task { id: 1 })
    }
}

fn main() {}

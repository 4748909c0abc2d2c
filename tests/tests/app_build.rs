//! `App::try_build` refuses registries that would misbehave at run time.

use board::state::{Card, User};
use rxd::app::BuildError;
use rxd::{Connect, Load, LoadError, Reject};
use serde::{Deserialize, Serialize};

#[derive(rxd::ContextState, Serialize, Deserialize, Clone)]
struct Shelf {
    id: i64,
    label: String,
    boxes: Vec<Crate>,
}

/// Its parent link names a plain field of `Shelf`.
#[derive(rxd::ContextState, Serialize, Deserialize, Clone)]
struct Crate {
    id: i64,
    #[rxd(parent = Shelf::label)]
    shelf_id: i64,
}

struct ShelfChannel;

#[rxd::channel(state = Shelf, route = "/ws/shelves/{id}")]
impl ShelfChannel {
    async fn connect(_ctx: &Connect, _user: User, id: i64) -> Result<Self, Reject> {
        let _ = id;
        Ok(ShelfChannel)
    }
    async fn load(&self, _ctx: &Load) -> Result<Shelf, LoadError> {
        Err(LoadError::NotFound)
    }
}

/// A card hidden in a Box: it would travel inline, not as an instance.
#[derive(rxd::ContextState, Serialize, Deserialize, Clone)]
struct Pinboard {
    id: i64,
    pinned: Box<Card>,
}

struct PinboardChannel;

#[rxd::channel(state = Pinboard, route = "/ws/pinboards/{id}")]
impl PinboardChannel {
    async fn connect(_ctx: &Connect, _user: User, id: i64) -> Result<Self, Reject> {
        let _ = id;
        Ok(PinboardChannel)
    }
    async fn load(&self, _ctx: &Load) -> Result<Pinboard, LoadError> {
        Err(LoadError::NotFound)
    }
}

struct Everyone;

impl rxd::Authenticator for Everyone {
    type Principal = User;
    async fn authenticate(&self, _token: &str) -> Result<User, rxd::AuthError> {
        Ok(User {
            id: 1,
            name: "a".into(),
        })
    }
}

#[test]
fn a_parent_that_names_no_relation_is_refused() {
    let error = rxd::App::builder()
        .auth(Everyone)
        .channel::<ShelfChannel>()
        .try_build()
        .err()
        .expect("refused");
    assert!(matches!(error, BuildError::BadParent { .. }), "{error}");
    assert!(error.to_string().contains("Shelf::label"), "{error}");
}

#[test]
fn a_layer_inside_a_box_is_refused() {
    let error = rxd::App::builder()
        .auth(Everyone)
        .channel::<PinboardChannel>()
        .try_build()
        .err()
        .expect("refused");
    assert!(matches!(error, BuildError::HiddenLayer { .. }), "{error}");
    assert!(error.to_string().contains("pinned"), "{error}");
}

#[test]
fn two_channels_on_one_route_are_refused() {
    let error = rxd::App::builder()
        .auth(Everyone)
        .channel::<PinboardChannel>()
        .channel::<PinboardChannel>()
        .try_build()
        .err()
        .expect("refused");
    assert!(matches!(error, BuildError::DuplicateRoute(_)), "{error}");
}

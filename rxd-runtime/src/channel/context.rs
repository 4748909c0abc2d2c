use std::any::{type_name, Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use parking_lot::Mutex;

use super::Reject;

/// Values the app registered with `App::builder().data(...)`: database
/// pools, clients, configuration. One value per type.
#[derive(Clone, Default)]
pub struct Data {
    values: Arc<HashMap<TypeId, Box<dyn Any + Send + Sync>>>,
}

impl Data {
    pub(crate) fn from_map(values: HashMap<TypeId, Box<dyn Any + Send + Sync>>) -> Data {
        Data {
            values: Arc::new(values),
        }
    }

    /// The registered value of type `T`.
    pub fn get<T: Send + Sync + 'static>(&self) -> Result<&T, MissingData> {
        self.values
            .get(&TypeId::of::<T>())
            .and_then(|v| v.downcast_ref::<T>())
            .ok_or(MissingData(type_name::<T>()))
    }
}

impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Data")
            .field("values", &self.values.len())
            .finish()
    }
}

/// `ctx.data::<T>()` found no value of type `T`: register it with
/// `App::builder().data(value)`.
#[derive(Debug, thiserror::Error)]
#[error("no app data of type {0}: register it with App::builder().data(..)")]
pub struct MissingData(pub &'static str);

/// The route parameters of a connection, as strings, in route order.
#[derive(Debug, Clone, Default)]
pub struct RouteParams {
    values: Vec<(String, String)>,
}

impl RouteParams {
    /// Route parameters from `(name, value)` pairs.
    pub fn new(values: Vec<(String, String)>) -> RouteParams {
        RouteParams { values }
    }

    /// The raw value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Parses a parameter. A value that does not parse means no such
    /// resource, as a path segment that does not parse would in REST.
    pub fn parse<T: FromStr>(&self, name: &str) -> Result<T, Reject> {
        self.get(name)
            .and_then(|v| v.parse().ok())
            .ok_or(Reject::NotFound)
    }
}

/// What `connect` gets besides the principal and the route parameters.
#[derive(Debug, Clone)]
pub struct Connect {
    pub(crate) data: Data,
    pub(crate) params: RouteParams,
    /// Groups to join once admitted; shared with the runtime's copy.
    groups: Arc<Mutex<Vec<String>>>,
}

impl Connect {
    /// Builds a context; the runtime does this for every connection.
    pub fn new(data: Data, params: RouteParams) -> Connect {
        Connect {
            data,
            params,
            groups: Arc::default(),
        }
    }

    /// Joins `group` once the connection is admitted (see `Ctx::join`),
    /// before the client receives anything: no event sent to the group
    /// after `ready` is missed.
    pub fn join(&self, group: impl Into<String>) {
        self.groups.lock().push(group.into());
    }

    /// The groups `connect` joined.
    pub(crate) fn joined(&self) -> Vec<String> {
        self.groups.lock().clone()
    }

    /// A value registered with `App::builder().data(...)`.
    pub fn data<T: Send + Sync + 'static>(&self) -> Result<&T, MissingData> {
        self.data.get()
    }

    /// The raw route parameters.
    pub fn params(&self) -> &RouteParams {
        &self.params
    }
}

/// What `load` gets.
#[derive(Debug, Clone)]
pub struct Load {
    pub(crate) data: Data,
}

impl Load {
    /// Builds a context; the runtime does this for every cold load.
    pub fn new(data: Data) -> Load {
        Load { data }
    }

    /// A value registered with `App::builder().data(...)`.
    pub fn data<T: Send + Sync + 'static>(&self) -> Result<&T, MissingData> {
        self.data.get()
    }
}

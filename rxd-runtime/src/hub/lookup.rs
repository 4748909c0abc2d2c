//! Read access to a hot anchor's flat state, for checks that must see what
//! the connection's browser sees (a write's target belongs to its anchor).

use std::sync::Arc;

use super::Hub;
use crate::state::{FlatInstance, InstanceId};

impl Hub {
    /// The instance `id` as hot anchor `anchor` holds it; `None` when the
    /// anchor does not contain it or is not hot in this process.
    pub(crate) fn instance_in(
        &self,
        anchor: &InstanceId,
        id: &InstanceId,
    ) -> Option<Arc<FlatInstance>> {
        let state = self.inner.state.lock();
        state.anchors.get(anchor)?.state.instances.get(id).cloned()
    }
}

//! One socket's life: auth, initial state, deltas, heartbeats, limits.

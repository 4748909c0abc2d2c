//! The hub: batches, hot anchor caches, fan-out.
/// stub
pub struct Hub; /// stub
pub struct Batch;

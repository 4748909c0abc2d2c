//! Moving change events between server processes.

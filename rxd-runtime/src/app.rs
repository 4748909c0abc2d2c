//! The app registry.
/// stub
pub struct App;
/// stub
pub struct AppBuilder;
/// stub
pub struct Limits;

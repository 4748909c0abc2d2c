//! A device: connects with an `Authorization` header, as a device would,
//! and publishes a temperature and a humidity reading at a steady pace.

use std::time::Duration;

use rxd::client::{CallError, Session, SessionError};
use serde_json::json;

use crate::state::Token;

/// What a simulated device publishes, and how often.
#[derive(Clone, Debug)]
pub struct Device {
    /// `ws://host:port` of any server process.
    pub base_url: String,
    pub token: String,
    /// Its number: it publishes to `sensors/<number>/temperature` and
    /// `sensors/<number>/humidity`.
    pub number: u32,
    pub every: Duration,
    /// Stop after this many rounds; `None` runs until killed.
    pub rounds: Option<u64>,
}

/// Why the device stopped.
#[derive(Debug)]
pub enum DeviceError {
    /// Could not connect, or the server closed the socket (4029 when the
    /// token already has its connections, 4030 once it is deleted).
    Session(SessionError),
    /// A publication was refused (`read_only`, `not_granted`, ...).
    Call(CallError),
}

impl std::fmt::Display for DeviceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceError::Session(e) => write!(f, "{e}"),
            DeviceError::Call(e) => write!(f, "publish: {e}"),
        }
    }
}

impl std::error::Error for DeviceError {}

/// The reading of round `n`: a slow wave around 21 °C and 45 %.
pub fn reading(number: u32, n: u64) -> (f64, f64) {
    let phase = (n as f64) / 10.0 + f64::from(number);
    let celsius = 21.0 + 2.0 * phase.sin();
    let humidity = 45.0 + 5.0 * phase.cos();
    ((celsius * 10.0).round() / 10.0, humidity.round())
}

/// Runs the device.
pub async fn run(device: &Device) -> Result<(), DeviceError> {
    let url = format!("{}/ws/topics", device.base_url.trim_end_matches('/'));
    let mut session: Session<Token> = Session::connect_with_header(&url, &device.token)
        .await
        .map_err(DeviceError::Session)?;
    let mut tick = tokio::time::interval(device.every);
    let mut n = 0;
    while device.rounds.is_none_or(|rounds| n < rounds) {
        tick.tick().await;
        let (celsius, humidity) = reading(device.number, n);
        let prefix = format!("sensors/{}", device.number);
        for (topic, payload) in [
            (
                format!("{prefix}/temperature"),
                json!({ "celsius": celsius, "round": n }),
            ),
            (
                format!("{prefix}/humidity"),
                json!({ "percent": humidity, "round": n }),
            ),
        ] {
            session
                .call::<()>("publish", vec![json!(topic), payload])
                .await
                .map_err(DeviceError::Call)?;
        }
        n += 1;
    }
    let _ = session.close().await;
    Ok(())
}

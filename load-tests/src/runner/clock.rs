//! Virtual time (working time) for runs against the real services: compressed by the scenario's
//! time scale. The services see real seconds; the runner reports virtual ones.

use std::time::Duration;

use tokio::time::Instant;

/// Maps between real instants and virtual seconds since the start.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
    scale: f64,
}

impl Clock {
    /// A clock starting now; `scale` virtual seconds pass per real second.
    pub fn start(scale: f64) -> Clock {
        Clock {
            start: Instant::now(),
            scale,
        }
    }

    /// Virtual seconds since the start.
    pub fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * self.scale
    }

    /// The real instant of virtual second `v`.
    pub fn at(&self, v: f64) -> Instant {
        self.start + self.real(v)
    }

    /// The real duration of `v` virtual seconds.
    pub fn real(&self, v: f64) -> Duration {
        Duration::from_secs_f64((v / self.scale).max(0.0))
    }
}

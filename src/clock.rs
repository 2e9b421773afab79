//! Wall-clock time, read in one place.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time since the Unix epoch; zero if the system clock is set before 1970 (a broken clock
/// must not panic the exporter).
pub fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

/// Wall-clock seconds that follow tokio's clock, so tests with a paused clock see days and
/// windows pass without sleeping.
#[derive(Clone, Debug)]
pub struct Clock {
    base_unix: f64,
    base: tokio::time::Instant,
}

impl Clock {
    pub fn new() -> Clock {
        Clock {
            base_unix: unix_now().as_secs_f64(),
            base: tokio::time::Instant::now(),
        }
    }

    /// Unix seconds now.
    pub fn now(&self) -> i64 {
        (self.base_unix + self.base.elapsed().as_secs_f64()) as i64
    }

    /// Unix milliseconds now.
    pub fn now_ms(&self) -> i64 {
        ((self.base_unix + self.base.elapsed().as_secs_f64()) * 1000.0) as i64
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_now_is_after_this_code_was_written() {
        // 2024-01-01T00:00:00Z.
        assert!(unix_now() > Duration::from_secs(1_704_067_200));
    }

    #[tokio::test(start_paused = true)]
    async fn clock_follows_tokio_time() {
        let clock = Clock::new();
        let start = clock.now();
        assert!((start - unix_now().as_secs() as i64).abs() <= 1);
        tokio::time::advance(Duration::from_secs(86_400)).await;
        assert_eq!(clock.now() - start, 86_400);
        let ms = clock.now_ms();
        tokio::time::advance(Duration::from_millis(1500)).await;
        assert!((clock.now_ms() - ms - 1500).abs() <= 1);
    }
}

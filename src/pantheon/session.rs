//! One machine token's account: its session (renewed before `expires_at` and once on a 401,
//! one login at a time) and its identity (the `account` label).

use std::sync::{Arc, OnceLock};

use reqwest::Method;
use serde_json::json;
use tokio::sync::Mutex;

use super::endpoint::Endpoint;
use super::error::ApiError;
use super::http::{Call, Transport};
use super::secret::Secret;
use super::wire;
use crate::clock::Clock;

/// Renew at most this long before `expires_at`...
const MAX_RENEW_MARGIN: i64 = 60;

#[derive(Clone)]
pub(crate) struct Session {
    pub secret: Secret,
    pub user_id: String,
    expires_at: i64,
    /// Seconds before `expires_at` at which we renew: a quarter of the lifetime, at most a
    /// minute, so a 15-minute session is not renewed every call and a day-long one is not
    /// used until the last second.
    margin: i64,
}

impl Session {
    fn fresh(&self, now: i64) -> bool {
        now < self.fresh_until()
    }

    /// Unix seconds after which the session is renewed rather than sent.
    pub(crate) fn fresh_until(&self) -> i64 {
        self.expires_at - self.margin
    }
}

/// A machine token and what logging in with it gave us.
pub struct Account {
    /// 1-based position among the configured tokens.
    index: usize,
    token: Secret,
    session: Mutex<Option<Session>>,
    label: OnceLock<Arc<str>>,
    /// Judges session freshness; follows tokio's clock, so a test with a paused clock sees
    /// sessions age without sleeping.
    clock: Clock,
}

impl Account {
    pub fn new(index: usize, token: Secret) -> Account {
        Account {
            index,
            token,
            session: Mutex::new(None),
            label: OnceLock::new(),
            clock: Clock::new(),
        }
    }

    pub fn index(&self) -> usize {
        self.index
    }

    /// How logs name this token: `token #N (sha256:1a2b3c4d)`, never any of its characters.
    pub fn describe(&self) -> String {
        format!("token #{} ({})", self.index, self.token.fingerprint())
    }

    /// The `account` label (e-mail, or user id), once known.
    pub fn label(&self) -> Option<Arc<str>> {
        self.label.get().cloned()
    }

    pub(crate) fn set_label(&self, label: &str) {
        let _ = self.label.set(Arc::from(label));
    }

    /// A session that is good for a while, logging in if needed. Concurrent callers wait on
    /// one login instead of each starting their own.
    pub(crate) async fn session(&self, transport: &Transport) -> Result<Session, ApiError> {
        let mut guard = self.session.lock().await;
        if let Some(s) = guard.as_ref().filter(|s| s.fresh(self.clock.now())) {
            return Ok(s.clone());
        }
        let session = self.login(transport).await?;
        *guard = Some(session.clone());
        Ok(session)
    }

    /// Forgets `stale` (a session the API refused) unless another task already replaced it.
    pub(crate) async fn invalidate(&self, stale: &Session) {
        let mut guard = self.session.lock().await;
        if guard.as_ref().is_some_and(|s| s.secret == stale.secret) {
            *guard = None;
        }
    }

    async fn login(&self, transport: &Transport) -> Result<Session, ApiError> {
        transport.scrubber.register(&self.token);
        let wrap = |e: ApiError| ApiError::Login {
            account: self.describe(),
            source: Box::new(e),
        };
        let call = Call {
            endpoint: Endpoint::Login,
            method: Method::POST,
            segments: &["authorize", "machine-token"],
            query: &[],
            bearer: None,
            fresh_until: None,
            body: Some(json!({"machine_token": self.token.expose(), "client": "pantheon-metrics"})),
        };
        let value = transport.send(call).await.map_err(wrap)?;
        let answer = wire::login(&value).ok_or_else(|| {
            wrap(ApiError::Decode {
                endpoint: Endpoint::Login,
                message: "the login answer has no session or user_id".into(),
            })
        })?;
        let secret = Secret::new(answer.session);
        transport.scrubber.register(&secret);
        let now = self.clock.now();
        let lifetime = (answer.expires_at - now).max(0);
        tracing::debug!(account = %self.describe(), expires_in_s = lifetime, "logged in");
        Ok(Session {
            secret,
            user_id: answer.user_id,
            expires_at: answer.expires_at,
            margin: (lifetime / 4).min(MAX_RENEW_MARGIN),
        })
    }
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("token", &self.describe())
            .field("label", &self.label.get())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_uses_the_margin() {
        let s = Session {
            secret: Secret::new("x"),
            user_id: "u".into(),
            expires_at: 1000,
            margin: 60,
        };
        assert!(s.fresh(939));
        assert!(!s.fresh(940));
    }

    #[test]
    fn describe_shows_no_token_characters() {
        let a = Account::new(2, Secret::new("abcdefghijklmnop"));
        let d = a.describe();
        assert!(d.starts_with("token #2 (sha256:"), "{d}");
        assert!(!d.contains("abcdefgh"));
    }
}

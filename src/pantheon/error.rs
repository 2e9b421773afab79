use super::endpoint::Endpoint;

/// Everything that can go wrong talking to the API. Messages never carry a token or a
/// session: bodies are scrubbed before they are quoted.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Config(String),
    #[error("{} answered HTTP {status}: {body}", endpoint.as_str())]
    Status {
        endpoint: Endpoint,
        status: u16,
        body: String,
    },
    #[error("{} answered HTTP 401 (session not accepted)", endpoint.as_str())]
    Unauthorized { endpoint: Endpoint },
    /// The session went stale while the request waited for its turn; nothing was sent.
    #[error("{}: the session expired before the request was sent", endpoint.as_str())]
    SessionExpired { endpoint: Endpoint },
    #[error("{}: {message}", endpoint.as_str())]
    Transport { endpoint: Endpoint, message: String },
    #[error("{}: {message}", endpoint.as_str())]
    Decode { endpoint: Endpoint, message: String },
    #[error("{} failed after {attempts} attempts: {last}", endpoint.as_str())]
    RetriesExhausted {
        endpoint: Endpoint,
        attempts: u32,
        last: Box<ApiError>,
    },
    #[error("login failed for {account}: {source}")]
    Login {
        account: String,
        source: Box<ApiError>,
    },
}

impl ApiError {
    /// The HTTP status behind this error, if the API answered at all.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            ApiError::Unauthorized { .. } => Some(401),
            ApiError::RetriesExhausted { last, .. } | ApiError::Login { source: last, .. } => {
                last.status()
            }
            _ => None,
        }
    }

    /// True for "this thing is not there or not yours" (403, 404): a site lookup moves on
    /// to the next account instead of failing.
    pub fn is_not_found(&self) -> bool {
        matches!(self.status(), Some(403 | 404))
    }
}

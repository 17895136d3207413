//! The envelope every client API answer comes in, and the error codes it carries.

use serde::{Deserialize, Serialize};

/// The response envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

impl<T> Envelope<T> {
    /// A success envelope around `data`.
    pub fn ok(data: T) -> Self {
        Envelope {
            success: true,
            data: Some(data),
            error: None,
        }
    }
}

/// The error part of a failed response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable machine-readable code, e.g. `KEY_NOT_FOUND`.
    pub code: String,
    /// One sentence for a person.
    pub message: String,
    /// With `CONDITION_FAILED`: the key's current version (0 = absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<u64>,
}

/// Error codes the server answers with, and their HTTP statuses. On the wire (and in serde)
/// a code is its string, e.g. `"KEY_NOT_FOUND"`; a string this build does not know becomes
/// [`ErrorCode::Unknown`] instead of an error, so a newer server's codes still reach the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ErrorCode {
    /// 400: the request is malformed.
    InvalidRequest,
    /// 404: the key does not exist.
    KeyNotFound,
    /// 404: no such route.
    NotFound,
    /// 405: the route exists with another method.
    MethodNotAllowed,
    /// 412: an `if_version` condition did not hold.
    ConditionFailed,
    /// 413: the key, value or body exceeds a limit.
    PayloadTooLarge,
    /// 404: no member has that name or id.
    MemberNotFound,
    /// 409: the leader refused a leadership transfer (target down, learner or behind).
    TransferRefused,
    /// 409: the leader refused a membership change.
    Conflict,
    /// 503: the cluster has no leader (election in progress, or no quorum).
    NoLeader,
    /// 503: this node is starting or stopping.
    NotReady,
    /// 504: the cluster did not answer within the request timeout.
    Timeout,
    /// 500: a bug or a storage failure on the node.
    Internal,
    /// 401: the node requires a client token and the request has none, or an unknown one.
    Unauthorized,
    /// 403: the token is valid but its role does not allow the request (read-only token, write).
    Forbidden,
    /// 408: the client took longer than the request timeout to send its body.
    RequestTimeout,
    /// 409: the operation needs a newer format than the cluster version (a member is not
    /// upgraded yet).
    ClusterVersion,
    /// 503: the node already serves `max-watchers` watch streams.
    TooManyWatchers,
    /// 503: the node is already sending a backup (one at a time).
    BackupInProgress,
    /// A code this build does not know (from a newer server, or a client-side pseudo-code),
    /// kept verbatim. The server never sends one it cannot name; its status is taken as 500.
    Unknown(String),
}

impl ErrorCode {
    /// Every code this build knows, for parsing.
    pub(super) const KNOWN: [ErrorCode; 19] = [
        ErrorCode::InvalidRequest,
        ErrorCode::KeyNotFound,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::ConditionFailed,
        ErrorCode::PayloadTooLarge,
        ErrorCode::MemberNotFound,
        ErrorCode::TransferRefused,
        ErrorCode::Conflict,
        ErrorCode::NoLeader,
        ErrorCode::NotReady,
        ErrorCode::Timeout,
        ErrorCode::Internal,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::RequestTimeout,
        ErrorCode::ClusterVersion,
        ErrorCode::TooManyWatchers,
        ErrorCode::BackupInProgress,
    ];

    /// The code string carried in [`ErrorBody::code`].
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::InvalidRequest => "INVALID_REQUEST",
            ErrorCode::KeyNotFound => "KEY_NOT_FOUND",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::MemberNotFound => "MEMBER_NOT_FOUND",
            ErrorCode::TransferRefused => "TRANSFER_REFUSED",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ErrorCode::ConditionFailed => "CONDITION_FAILED",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::NoLeader => "NO_LEADER",
            ErrorCode::NotReady => "NOT_READY",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::RequestTimeout => "REQUEST_TIMEOUT",
            ErrorCode::ClusterVersion => "CLUSTER_VERSION",
            ErrorCode::TooManyWatchers => "TOO_MANY_WATCHERS",
            ErrorCode::BackupInProgress => "BACKUP_IN_PROGRESS",
            ErrorCode::Unknown(code) => code,
        }
    }

    /// The code named by `code`; never fails (unknown strings become [`ErrorCode::Unknown`]).
    pub fn parse(code: &str) -> ErrorCode {
        Self::KNOWN
            .into_iter()
            .find(|c| c.as_str() == code)
            .unwrap_or_else(|| ErrorCode::Unknown(code.to_string()))
    }

    /// The HTTP status that goes with the code.
    pub fn status(&self) -> u16 {
        match self {
            ErrorCode::InvalidRequest => 400,
            ErrorCode::KeyNotFound | ErrorCode::NotFound | ErrorCode::MemberNotFound => 404,
            ErrorCode::TransferRefused | ErrorCode::Conflict | ErrorCode::ClusterVersion => 409,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::ConditionFailed => 412,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::NoLeader | ErrorCode::NotReady | ErrorCode::TooManyWatchers | ErrorCode::BackupInProgress => 503,
            ErrorCode::Timeout => 504,
            ErrorCode::Internal => 500,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::RequestTimeout => 408,
            ErrorCode::Unknown(_) => 500,
        }
    }
}

impl From<String> for ErrorCode {
    fn from(code: String) -> Self {
        ErrorCode::parse(&code)
    }
}

impl From<ErrorCode> for String {
    fn from(code: ErrorCode) -> Self {
        code.as_str().to_string()
    }
}

impl std::fmt::Display for ErrorCode {
    /// The wire string, e.g. `KEY_NOT_FOUND`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

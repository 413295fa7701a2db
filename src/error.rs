//! Error codes that cross the native boundary.
//!
//! The TypeScript layer (`js/internal/errors.ts`) turns each code into the DOMException of the
//! same name (or a TypeError); it never looks at the message text.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// webrtc-pc: the call is not allowed in the current signaling state, or the connection is closed.
    InvalidState,
    /// webrtc-pc: the description is well-formed but unusable (e.g. no DTLS fingerprint).
    InvalidAccess,
    /// webrtc-pc: the operation failed (unparseable SDP, bad candidate, webrtcbin refused it).
    Operation,
    InvalidModification,
    /// A WebIDL type/enum violation.
    Type,
    /// webrtc-pc §4.4.1.5: SDP that is not SDP; an RTCError (OperationError) with
    /// errorDetail "sdp-syntax-error" and the line, where known.
    SdpSyntax,
}

impl ErrorCode {
    /// The DOMException name the TS layer throws for this code.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidState => "InvalidStateError",
            ErrorCode::InvalidAccess => "InvalidAccessError",
            ErrorCode::Operation => "OperationError",
            ErrorCode::InvalidModification => "InvalidModificationError",
            ErrorCode::Type => "TypeError",
            ErrorCode::SdpSyntax => "SdpSyntaxError",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcError {
    pub code: ErrorCode,
    pub message: String,
    /// RTCError.sdpLineNumber (1-based) of an `SdpSyntax` error.
    pub sdp_line: Option<u32>,
}

impl PcError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), sdp_line: None }
    }
    pub fn sdp_syntax(line: Option<u32>, message: impl Into<String>) -> Self {
        Self { sdp_line: line, ..Self::new(ErrorCode::SdpSyntax, message) }
    }
    pub fn invalid_state(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidState, message)
    }
    pub fn invalid_access(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidAccess, message)
    }
    pub fn operation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Operation, message)
    }
    pub fn type_error(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Type, message)
    }
}

impl fmt::Display for PcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for PcError {}

pub type PcResult<T> = Result<T, PcError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_w3c_exception_names() {
        assert_eq!(ErrorCode::InvalidState.as_str(), "InvalidStateError");
        assert_eq!(ErrorCode::InvalidAccess.as_str(), "InvalidAccessError");
        assert_eq!(ErrorCode::Operation.as_str(), "OperationError");
        assert_eq!(ErrorCode::InvalidModification.as_str(), "InvalidModificationError");
        assert_eq!(ErrorCode::Type.as_str(), "TypeError");
    }
}

/// A native error for napi, its code the W3C name (`js/internal/errors.ts` maps it).
pub fn coded(e: PcError) -> napi::Error<&'static str> {
    napi::Error::new(e.code.as_str(), e.message)
}

/// An error without a W3C name (a failure of ours, not of the caller's input).
pub fn napi_err(e: impl std::fmt::Display) -> napi::Error {
    napi::Error::from_reason(e.to_string())
}

//! Time as tokens and stores count it.

/// Seconds since the Unix epoch, the unit of every JWT time claim (RFC 7519 §2, NumericDate)
/// and of every time the stores keep.
pub type UnixTime = u64;

/// The current [`UnixTime`].
pub fn now() -> UnixTime {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

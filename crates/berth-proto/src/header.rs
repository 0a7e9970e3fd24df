//! The 8-byte header each side sends first.

/// Identifies a berth socket; anything else on the socket is not berth.
pub const MAGIC: [u8; 4] = *b"BRTH";

/// The wire version this crate speaks. Bump it on any incompatible change.
pub const PROTOCOL_VERSION: u16 = 1;

/// Size of the header on the wire.
pub const HEADER_LEN: usize = 8;

/// The first bytes on a connection, in both directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub version: u16,
}

/// Why a peer's header was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HeaderError {
    #[error("the peer is not speaking the berth protocol")]
    NotBerth,
    #[error("protocol version mismatch: this side speaks version {ours}, the peer speaks version {theirs}")]
    VersionMismatch { ours: u16, theirs: u16 },
}

impl Header {
    /// The header for this crate's version.
    pub const fn ours() -> Self {
        Self {
            version: PROTOCOL_VERSION,
        }
    }

    pub fn to_bytes(self) -> [u8; HEADER_LEN] {
        let v = self.version.to_be_bytes();
        [MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], v[0], v[1], 0, 0]
    }

    /// Parses a header without judging its version.
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> Result<Self, HeaderError> {
        if bytes[..4] != MAGIC {
            return Err(HeaderError::NotBerth);
        }
        Ok(Self {
            version: u16::from_be_bytes([bytes[4], bytes[5]]),
        })
    }

    /// Parses a header and requires it to be our version.
    pub fn check(bytes: &[u8; HEADER_LEN]) -> Result<Self, HeaderError> {
        let header = Self::parse(bytes)?;
        if header.version != PROTOCOL_VERSION {
            return Err(HeaderError::VersionMismatch {
                ours: PROTOCOL_VERSION,
                theirs: header.version,
            });
        }
        Ok(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(
            Header::check(&Header::ours().to_bytes()),
            Ok(Header::ours())
        );
    }

    #[test]
    fn other_version_names_both() {
        let bytes = Header { version: 7 }.to_bytes();
        let err = Header::check(&bytes).unwrap_err();
        assert_eq!(
            err.to_string(),
            "protocol version mismatch: this side speaks version 1, the peer speaks version 7"
        );
    }

    #[test]
    fn junk_is_not_berth() {
        assert_eq!(Header::check(b"GET / HT"), Err(HeaderError::NotBerth));
    }
}

//! Schema versions: an ordered `major.minor` pair with the compatibility rule readers apply.

use std::fmt;
use std::str::FromStr;

use crate::ArtifactError;

/// The version of an artifact's schema, written into every file.
///
/// A minor bump adds nullable columns that old readers may ignore; a major bump renames, removes
/// or retypes columns, so a reader refuses any file whose major version differs from its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SchemaVersion {
    /// Incompatible changes.
    pub major: u16,
    /// Backwards-compatible additions.
    pub minor: u16,
}

impl SchemaVersion {
    /// A version from its parts.
    pub const fn new(major: u16, minor: u16) -> Self {
        Self { major, minor }
    }

    /// Whether a reader at `self` can read a file written at `written`: same major version.
    /// A newer minor only adds columns, which the reader projects away.
    pub fn can_read(self, written: SchemaVersion) -> bool {
        self.major == written.major
    }
}

impl fmt::Display for SchemaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for SchemaVersion {
    type Err = ArtifactError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || ArtifactError::InvalidVersion {
            text: text.to_owned(),
        };
        let (major, minor) = text.trim().split_once('.').ok_or_else(invalid)?;
        Ok(Self {
            major: major.parse().map_err(|_| invalid())?,
            minor: minor.parse().map_err(|_| invalid())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_orders_and_displays() {
        let v: SchemaVersion = "1.10".parse().unwrap();
        assert_eq!(v, SchemaVersion::new(1, 10));
        assert!(SchemaVersion::new(1, 2) < v);
        assert!(v < SchemaVersion::new(2, 0));
        assert_eq!(v.to_string(), "1.10");
    }

    #[test]
    fn rejects_malformed_versions() {
        for text in ["", "1", "1.", "a.b", "1.2.3", "-1.0"] {
            assert!(text.parse::<SchemaVersion>().is_err(), "{text:?} parsed");
        }
    }

    #[test]
    fn same_major_is_readable_other_major_is_not() {
        let reader = SchemaVersion::new(1, 0);
        assert!(reader.can_read(SchemaVersion::new(1, 3)));
        assert!(!reader.can_read(SchemaVersion::new(2, 0)));
        assert!(!reader.can_read(SchemaVersion::new(0, 9)));
    }
}

//! `oci://` component references and `hookhost.registries`.
//!
//! A reference is `oci://HOST[:PORT]/REPO:TAG` or
//! `oci://HOST[:PORT]/REPO@sha256:DIGEST` (a tag and a digest together:
//! the digest wins, as in OCI tools). Pulling is [`crate::registry`]'s.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// A component in an OCI registry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OciRef {
    /// `HOST[:PORT]`.
    pub registry: String,
    /// The repository path (`hooks/deny-exe`).
    pub repository: String,
    /// The tag, when given.
    pub tag: Option<String>,
    /// `sha256:HEX`, when pinned by digest.
    pub digest: Option<String>,
}

impl OciRef {
    /// Parse `oci://HOST[:PORT]/REPO[:TAG][@sha256:DIGEST]`.
    pub fn parse(text: &str) -> Result<OciRef, String> {
        let rest = text
            .strip_prefix("oci://")
            .ok_or_else(|| format!("{text:?}: an OCI reference starts with oci://"))?;
        let (registry, path) = rest.split_once('/').ok_or_else(|| {
            format!("{text:?}: no repository (oci://HOST[:PORT]/REPO:TAG or @sha256:DIGEST)")
        })?;
        if registry.is_empty() {
            return Err(format!("{text:?}: no registry host"));
        }
        let (path, digest) = match path.split_once('@') {
            Some((path, digest)) => {
                let hex = digest
                    .strip_prefix("sha256:")
                    .ok_or_else(|| format!("{text:?}: the digest must be sha256:HEX"))?;
                if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(format!(
                        "{text:?}: {digest:?} is not sha256:<64 hex digits>"
                    ));
                }
                (path, Some(format!("sha256:{}", hex.to_ascii_lowercase())))
            }
            None => (path, None),
        };
        // A tag follows the last ':' after the last '/'.
        let last = path.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match path[last..].rfind(':') {
            Some(i) => (&path[..last + i], Some(path[last + i + 1..].to_owned())),
            None => (path, None),
        };
        let valid_repo = !repository.is_empty()
            && repository.split('/').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
            });
        if !valid_repo {
            return Err(format!(
                "{text:?}: {repository:?} is not a repository name (lowercase letters, digits, . _ - and /)"
            ));
        }
        if tag.as_deref() == Some("") {
            return Err(format!("{text:?}: empty tag"));
        }
        if tag.is_none() && digest.is_none() {
            return Err(format!(
                "{text:?}: name a tag (:TAG) or a digest (@sha256:...)"
            ));
        }
        Ok(OciRef {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            tag,
            digest,
        })
    }

    /// The name of the component (the repository's last part).
    pub fn name(&self) -> &str {
        self.repository
            .rsplit('/')
            .next()
            .unwrap_or(&self.repository)
    }
}

impl std::fmt::Display for OciRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "oci://{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// One registry's settings (`hookhost.registries["HOST[:PORT]"]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrySettings {
    /// Plain HTTP (a registry on loopback, for tests and labs).
    pub insecure: bool,
    /// Basic credentials: the user name.
    pub username: Option<String>,
    /// Basic credentials: a file holding the password (relative to the
    /// configuration file).
    pub password_file: Option<PathBuf>,
}

/// `hookhost.registries`, by `HOST[:PORT]`.
pub type Registries = BTreeMap<String, RegistrySettings>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_or_say_what_is_wrong() {
        let r = OciRef::parse("oci://127.0.0.1:5000/hooks/deny-exe:v1").unwrap();
        assert_eq!(
            (
                r.registry.as_str(),
                r.repository.as_str(),
                r.tag.as_deref(),
                r.digest.as_deref()
            ),
            ("127.0.0.1:5000", "hooks/deny-exe", Some("v1"), None)
        );
        assert_eq!(r.name(), "deny-exe");
        let hex = "ab".repeat(32);
        let r = OciRef::parse(&format!("oci://ghcr.io/a/b@sha256:{hex}")).unwrap();
        assert_eq!((r.tag, r.digest), (None, Some(format!("sha256:{hex}"))));
        assert_eq!(
            OciRef::parse("oci://reg:5000/x:1").unwrap().to_string(),
            "oci://reg:5000/x:1"
        );
        for (bad, says) in [
            ("oci://reg:5000", "no repository"),
            ("oci:///x:1", "no registry host"),
            ("oci://reg/x", "name a tag"),
            ("oci://reg/X:1", "not a repository name"),
            ("oci://reg/x@sha256:12", "not sha256:<64 hex digits>"),
            ("oci://reg/x@md5:12", "must be sha256"),
            ("oci://reg/x:", "empty tag"),
        ] {
            let err = OciRef::parse(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}

//! Components in OCI registries (`oci://HOST[:PORT]/REPO:TAG` or
//! `…@sha256:DIGEST`), in the layout of the CNCF wasm OCI artifact — what
//! `wkg oci push` and `oras push` write: a manifest whose config has the
//! media type `application/vnd.wasm.config.v0+json` and whose one layer is
//! `application/wasm`.
//!
//! A reference is resolved when a host is built (at start and at reload,
//! never per event). The component is stored by the sha256 of its bytes
//! under the compile cache's directory (`oci/blobs/`), with what each
//! reference resolved to (`oci/refs/`), so a restart with the registry down
//! starts from the cache when the reference is pinned by digest or was
//! resolved before — and the log says which.

use std::path::{Path, PathBuf};

use oci_client::client::{ClientConfig, ClientProtocol, Config as OciConfig, ImageLayer};
use oci_client::manifest::{OCI_IMAGE_MEDIA_TYPE, OciManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::{Value, json};

use crate::config::{OciRef, Registries};
use crate::signature::sha256_hex;

/// The config media type of a wasm artifact.
pub const WASM_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// The media type of its one layer.
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/wasm";

/// What a reference resolved to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The reference as configured.
    pub reference: OciRef,
    /// The manifest's digest (`sha256:…`): the digest in force.
    pub manifest: String,
    /// The component's file in the cache.
    pub path: PathBuf,
    /// Where it came from this time.
    pub source: Source,
}

/// Where a resolved component came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Pulled from the registry now.
    Registry,
    /// From the cache, without asking the registry: pinned by digest.
    CachePinned,
    /// From the cache because the registry could not be reached: the tag
    /// as it was last resolved (the registry's error).
    CacheResolvedBefore(String),
}

/// Pulls and pushes components.
pub struct Puller {
    registries: Registries,
    dir: Option<PathBuf>,
}

fn meta_name(reference: &OciRef) -> String {
    reference
        .to_string()
        .trim_start_matches("oci://")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Puller {
    /// With `registries`' settings, storing under `cache_dir/oci` (no
    /// cache directory: pulled into a temporary directory each time).
    pub fn new(registries: &Registries, cache_dir: Option<&Path>) -> Puller {
        Puller {
            registries: registries.clone(),
            dir: cache_dir.map(|d| d.join("oci")),
        }
    }

    fn dir(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("hookhost-oci-{}", std::process::id()))
        })
    }

    fn client(&self, registry: &str) -> Result<Client, String> {
        let insecure = self
            .registries
            .get(registry)
            .is_some_and(|settings| settings.insecure);
        // oci-client builds its own reqwest client, on the process's
        // provider: hookhost's (rustls on ring), as for URL hooks.
        let _ = crate::crypto::ring_provider().install_default();
        Client::try_from(ClientConfig {
            protocol: if insecure {
                ClientProtocol::HttpsExcept(vec![registry.to_owned()])
            } else {
                ClientProtocol::Https
            },
            ..ClientConfig::default()
        })
        .map_err(|e| format!("cannot make a client for {registry}: {e}"))
    }

    /// The credentials for `registry`: `hookhost.registries`' username and
    /// password file, else Docker's `config.json` (`auths`, as oras and
    /// skopeo read it), else anonymous.
    fn auth(&self, registry: &str) -> Result<Credentials, String> {
        if let Some(settings) = self.registries.get(registry)
            && let Some(user) = &settings.username
        {
            let file = settings.password_file.as_ref().ok_or_else(|| {
                format!("hookhost.registries[{registry:?}]: username without password_file")
            })?;
            let password = std::fs::read_to_string(file).map_err(|e| {
                format!(
                    "hookhost.registries[{registry:?}].password_file {}: {e}",
                    file.display()
                )
            })?;
            return Ok(Credentials {
                auth: RegistryAuth::Basic(
                    user.clone(),
                    password.trim_end_matches(['\n', '\r']).to_owned(),
                ),
                from: format!(
                    "the credentials of hookhost.registries[{registry:?}].username and password_file"
                ),
            });
        }
        Ok(match docker_credentials(registry) {
            Some(auth) => Credentials {
                auth,
                from: format!("the credentials for {registry} in Docker's config.json"),
            },
            None => Credentials {
                auth: RegistryAuth::Anonymous,
                from: format!(
                    "no credentials (set hookhost.registries[{registry:?}].username and password_file, or log in to it as for docker, oras or skopeo)"
                ),
            },
        })
    }

    /// Resolve `reference` to a component file, pulling it when needed.
    pub async fn pull(&self, reference: &OciRef) -> Result<Resolved, String> {
        let dir = self.dir();
        let blobs = dir.join("blobs");
        let refs = dir.join("refs");
        let manifests = dir.join("manifests");
        let cached = |manifest: &str| -> Option<PathBuf> {
            let layer = std::fs::read_to_string(manifests.join(manifest.replace(':', "-"))).ok()?;
            let path = blobs.join(format!("{}.wasm", layer.trim().replace(':', "-")));
            path.is_file().then_some(path)
        };
        if let Some(digest) = &reference.digest
            && let Some(path) = cached(digest)
        {
            return Ok(Resolved {
                reference: reference.clone(),
                manifest: digest.clone(),
                path,
                source: Source::CachePinned,
            });
        }
        match self.fetch(reference, &blobs).await {
            Ok((manifest, layer, path)) => {
                for (dir, name, text) in [
                    (&manifests, manifest.replace(':', "-"), layer.clone()),
                    (&refs, meta_name(reference), manifest.clone()),
                ] {
                    std::fs::create_dir_all(dir)
                        .and_then(|()| std::fs::write(dir.join(name), text))
                        .map_err(|e| format!("cannot write the cache in {}: {e}", dir.display()))?;
                }
                Ok(Resolved {
                    reference: reference.clone(),
                    manifest,
                    path,
                    source: Source::Registry,
                })
            }
            Err(Fetch::Unreachable(why)) => {
                let before = std::fs::read_to_string(refs.join(meta_name(reference))).ok();
                match before
                    .as_deref()
                    .map(str::trim)
                    .and_then(|m| Some((m, cached(m)?)))
                {
                    Some((manifest, path)) => Ok(Resolved {
                        reference: reference.clone(),
                        manifest: manifest.to_owned(),
                        path,
                        source: Source::CacheResolvedBefore(why),
                    }),
                    None => Err(format!(
                        "{reference}: the registry cannot be reached ({why}) and the reference was never resolved here"
                    )),
                }
            }
            Err(Fetch::Refused(why)) => Err(format!("{reference}: {why}")),
        }
    }

    /// The manifest's digest, the layer's digest and the stored component.
    async fn fetch(
        &self,
        reference: &OciRef,
        blobs: &Path,
    ) -> Result<(String, String, PathBuf), Fetch> {
        let image = oci_reference(reference);
        let client = self.client(&reference.registry).map_err(Fetch::Refused)?;
        let credentials = self.auth(&reference.registry).map_err(Fetch::Refused)?;
        let auth = &credentials.auth;
        let (raw, _) = client
            .pull_manifest_raw(&image, auth, &[OCI_IMAGE_MEDIA_TYPE])
            .await
            .map_err(|e| Fetch::from_oci(e, &credentials))?;
        let computed = format!("sha256:{}", sha256_hex(&raw));
        if let Some(pinned) = &reference.digest
            && *pinned != computed
        {
            return Err(Fetch::Refused(format!(
                "the registry's manifest has the digest {computed}, not the one pinned"
            )));
        }
        let manifest: OciManifest = serde_json::from_slice(&raw)
            .map_err(|e| Fetch::Refused(format!("the manifest cannot be read: {e}")))?;
        let OciManifest::Image(manifest) = manifest else {
            return Err(Fetch::Refused(
                "an image index, not a wasm artifact's manifest".into(),
            ));
        };
        if manifest.config.media_type != WASM_CONFIG_MEDIA_TYPE {
            return Err(Fetch::Refused(format!(
                "not a wasm artifact: its config's media type is {:?}, not {WASM_CONFIG_MEDIA_TYPE:?}",
                manifest.config.media_type
            )));
        }
        let layer = match manifest.layers.as_slice() {
            [layer] if layer.media_type == WASM_LAYER_MEDIA_TYPE => layer,
            [layer] => {
                return Err(Fetch::Refused(format!(
                    "not a wasm artifact: its layer's media type is {:?}, not {WASM_LAYER_MEDIA_TYPE:?}",
                    layer.media_type
                )));
            }
            layers => {
                return Err(Fetch::Refused(format!(
                    "not a wasm artifact: {} layers, not one",
                    layers.len()
                )));
            }
        };
        let mut wasm = Vec::with_capacity(usize::try_from(layer.size).unwrap_or(0));
        client
            .pull_blob(&image, layer, &mut wasm)
            .await
            .map_err(|e| Fetch::from_oci(e, &credentials))?;
        let layer_digest = format!("sha256:{}", sha256_hex(&wasm));
        if layer_digest != layer.digest {
            return Err(Fetch::Refused(format!(
                "the layer's bytes have the digest {layer_digest}, not {}",
                layer.digest
            )));
        }
        let path = blobs.join(format!("{}.wasm", layer_digest.replace(':', "-")));
        std::fs::create_dir_all(blobs)
            .and_then(|()| std::fs::write(&path, &wasm))
            .map_err(|e| Fetch::Refused(format!("cannot write {}: {e}", path.display())))?;
        Ok((computed, layer_digest, path))
    }

    /// Push `wasm` as a wasm artifact to `reference`; returns the
    /// manifest's digest.
    pub async fn push(&self, wasm: &[u8], reference: &OciRef) -> Result<String, String> {
        if !wasm.starts_with(b"\0asm") {
            return Err("not WebAssembly (a component starts with the bytes \\0asm)".into());
        }
        let image = oci_reference(reference);
        let client = self.client(&reference.registry)?;
        let credentials = self.auth(&reference.registry)?;
        let auth = &credentials.auth;
        let layer_digest = format!("sha256:{}", sha256_hex(wasm));
        let config = json!({
            "created": crate::clock::rfc3339_now(),
            "architecture": "wasm",
            "os": "wasip2",
            "layerDigests": [layer_digest],
        });
        let layers = [ImageLayer::new(
            wasm.to_vec(),
            WASM_LAYER_MEDIA_TYPE.to_owned(),
            None,
        )];
        let config = OciConfig::new(
            serde_json::to_vec(&config).expect("a config serializes"),
            WASM_CONFIG_MEDIA_TYPE.to_owned(),
            None,
        );
        client
            .push(&image, &layers, config, auth, None)
            .await
            .map_err(|e| match Fetch::from_oci(e, &credentials) {
                Fetch::Unreachable(why) | Fetch::Refused(why) => format!("{reference}: {why}"),
            })?;
        let (_, digest) = client
            .pull_manifest_raw(&image, auth, &[OCI_IMAGE_MEDIA_TYPE])
            .await
            .map_err(|e| {
                format!("{reference}: pushed, but the manifest cannot be read back: {e}")
            })?;
        Ok(digest)
    }
}

/// Why a fetch failed: the registry could not be reached (the cache may
/// stand in), or it answered and the answer is refused.
enum Fetch {
    Unreachable(String),
    Refused(String),
}

/// What a registry is called with, and where that came from (for the
/// message when the registry says no).
struct Credentials {
    auth: RegistryAuth,
    from: String,
}

impl Fetch {
    fn from_oci(err: oci_client::errors::OciDistributionError, credentials: &Credentials) -> Fetch {
        use oci_client::errors::OciDistributionError as E;
        match err {
            E::RequestError(e) if e.is_connect() || e.is_timeout() => Fetch::Unreachable(chain(&e)),
            E::UnauthorizedError { .. }
            | E::AuthenticationFailure(_)
            | E::ServerError {
                code: 401 | 403, ..
            } => Fetch::Refused(format!(
                "the registry refused access ({err}) with {}",
                credentials.from
            )),
            E::ImageManifestNotFoundError(what) => Fetch::Refused(format!("not found: {what}")),
            other => {
                let text = other.to_string();
                if text.contains("manifest unknown") || text.contains("name unknown") {
                    Fetch::Refused(format!("not found in the registry: {text}"))
                } else {
                    Fetch::Refused(text)
                }
            }
        }
    }
}

/// An error and its causes (reqwest's own text leaves the cause out).
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn oci_reference(reference: &OciRef) -> Reference {
    match (&reference.tag, &reference.digest) {
        (_, Some(digest)) => Reference::with_digest(
            reference.registry.clone(),
            reference.repository.clone(),
            digest.clone(),
        ),
        (Some(tag), None) => Reference::with_tag(
            reference.registry.clone(),
            reference.repository.clone(),
            tag.clone(),
        ),
        (None, None) => unreachable!("OciRef::parse requires a tag or a digest"),
    }
}

/// Docker's stored credentials for `registry` (`$DOCKER_CONFIG/config.json`
/// or `~/.docker/config.json`, `auths[registry].auth`: base64 of
/// `user:password`). Credential helpers are not run.
fn docker_credentials(registry: &str) -> Option<RegistryAuth> {
    use base64::Engine;
    let file = match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => PathBuf::from(dir).join("config.json"),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".docker/config.json"),
    };
    let config: Value = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
    let auths = config.get("auths")?.as_object()?;
    let entry = auths.get(registry).or_else(|| {
        auths.iter().find_map(|(key, value)| {
            let host = key
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .split('/')
                .next()?;
            (host == registry).then_some(value)
        })
    })?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(entry.get("auth")?.as_str()?)
        .ok()?;
    let (user, password) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some(RegistryAuth::Basic(user.to_owned(), password.to_owned()))
}

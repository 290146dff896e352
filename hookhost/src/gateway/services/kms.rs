//! `proto.KMS`: SFTPGo's secrets, encrypted and decrypted by the component.
//! SFTPGo picked this plugin by its `kms_options`; hookhost's entry gives
//! the scheme and encrypted status the component is called with.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::status;
use crate::Host;
use crate::config::KmsOptions;
use crate::gateway::proto::sftpgo as pb;
use crate::plugin::kms::Secret;

pub(super) struct KmsService {
    pub(super) host: Arc<Host>,
    pub(super) options: KmsOptions,
}

#[tonic::async_trait]
impl pb::kms_server::Kms for KmsService {
    async fn encrypt(
        &self,
        request: Request<pb::EncryptRequest>,
    ) -> Result<Response<pb::EncryptResponse>, Status> {
        let r = request.into_inner();
        let secret = Secret::plain(r.payload, r.additional_data);
        let encrypted = self
            .host
            .plugins()
            .kms_encrypt(&self.options.scheme, &secret, &r.url, &r.master_key)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::EncryptResponse {
            payload: encrypted.payload,
            key: encrypted.key,
            mode: encrypted.mode,
        }))
    }

    async fn decrypt(
        &self,
        request: Request<pb::DecryptRequest>,
    ) -> Result<Response<pb::DecryptResponse>, Status> {
        let r = request.into_inner();
        let secret = Secret {
            status: self.options.encrypted_status.clone(),
            payload: r.payload,
            key: r.key,
            additional_data: r.additional_data,
            mode: r.mode,
        };
        let payload = self
            .host
            .plugins()
            .kms_decrypt(&secret, &r.url, &r.master_key)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::DecryptResponse { payload }))
    }
}

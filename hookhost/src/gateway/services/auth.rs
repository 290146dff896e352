//! `proto.Auth`: SFTPGo's logins, checked by the component. `user` is
//! SFTPGo's user JSON (empty for a user it does not know) both ways; an
//! empty answer tells SFTPGo to log the stored user in unchanged, an error
//! refuses the login.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::{json_text, status};
use crate::Host;
use crate::gateway::proto::sftpgo as pb;
use crate::plugin::Credential;
use crate::plugin::auth::KeyboardRequest;

pub(super) struct AuthService {
    pub(super) host: Arc<Host>,
}

impl AuthService {
    async fn check(
        &self,
        username: &str,
        credential: Credential,
        ip: &str,
        protocol: &str,
        user: Vec<u8>,
    ) -> Result<Response<pb::AuthResponse>, Status> {
        let user = json_text(user, "user")?;
        let answer = self
            .host
            .plugins()
            .authenticate(username, credential, ip, protocol, user.as_deref())
            .await
            .map_err(status)?;
        Ok(Response::new(pb::AuthResponse {
            user: answer.map(String::into_bytes).unwrap_or_default(),
        }))
    }
}

#[tonic::async_trait]
impl pb::auth_server::Auth for AuthService {
    async fn check_user_and_pass(
        &self,
        request: Request<pb::CheckUserAndPassRequest>,
    ) -> Result<Response<pb::AuthResponse>, Status> {
        let r = request.into_inner();
        let credential = Credential::Password(r.password);
        self.check(&r.username, credential, &r.ip, &r.protocol, r.user)
            .await
    }

    async fn check_user_and_tls_cert(
        &self,
        request: Request<pb::CheckUserAndTlsCertRequest>,
    ) -> Result<Response<pb::AuthResponse>, Status> {
        let r = request.into_inner();
        let credential = Credential::TlsCertificate(r.tls_cert);
        self.check(&r.username, credential, &r.ip, &r.protocol, r.user)
            .await
    }

    async fn check_user_and_public_key(
        &self,
        request: Request<pb::CheckUserAndPublicKeyRequest>,
    ) -> Result<Response<pb::AuthResponse>, Status> {
        let r = request.into_inner();
        let credential = Credential::PublicKey(r.pub_key);
        self.check(&r.username, credential, &r.ip, &r.protocol, r.user)
            .await
    }

    async fn check_user_and_keyboard_interactive(
        &self,
        request: Request<pb::CheckUserAndKeyboardInteractiveRequest>,
    ) -> Result<Response<pb::AuthResponse>, Status> {
        let r = request.into_inner();
        let credential = Credential::KeyboardInteractive;
        self.check(&r.username, credential, &r.ip, &r.protocol, r.user)
            .await
    }

    async fn send_keyboard_auth_request(
        &self,
        request: Request<pb::KeyboardAuthRequest>,
    ) -> Result<Response<pb::KeyboardAuthResponse>, Status> {
        let r = request.into_inner();
        let round = KeyboardRequest {
            request_id: r.request_id,
            username: r.username,
            password: r.password,
            ip: r.ip,
            answers: r.answers,
            questions: r.questions,
            step: r.step,
        };
        let answer = self
            .host
            .plugins()
            .send_keyboard_auth_request(&round)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::KeyboardAuthResponse {
            instructions: answer.instruction,
            questions: answer.questions,
            echos: answer.echos,
            auth_result: answer.auth_result,
            check_password: answer.check_password,
        }))
    }
}

//! `proto.IPFilter`: SFTPGo asks whether a client IP may connect (an error
//! refuses it) and, on its own reload, has the filter reload its rules.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::status;
use crate::Host;
use crate::gateway::proto::sftpgo as pb;

pub(super) struct IpFilterService {
    pub(super) host: Arc<Host>,
}

#[tonic::async_trait]
impl pb::ip_filter_server::IpFilter for IpFilterService {
    async fn check_ip(&self, request: Request<pb::CheckIpRequest>) -> Result<Response<()>, Status> {
        let r = request.into_inner();
        self.host
            .plugins()
            .check_ip(&r.ip, &r.protocol)
            .await
            .map_err(status)?;
        Ok(Response::new(()))
    }

    async fn reload(&self, _request: Request<()>) -> Result<Response<()>, Status> {
        self.host
            .plugins()
            .reload_ip_filter()
            .await
            .map_err(status)?;
        Ok(Response::new(()))
    }
}

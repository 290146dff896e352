//! go-plugin's own services next to the plugin's: health (the client's
//! ping), the controller (its request to shut down), the broker (extra
//! connections, which SFTPGo's plugins never open) and stdio (a mirror of
//! the plugin's output, which hookhost writes to stderr instead). The two
//! streams stay open, silent, until shutdown.

use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use tokio::sync::watch;
use tonic::{Request, Response, Status, Streaming};

use crate::gateway::proto::goplugin as pb;

/// The health service name go-plugin's client checks.
pub(crate) const HEALTH_SERVICE: &str = "plugin";

/// Turns true when the process should stop serving.
pub(crate) type Stop = Arc<watch::Sender<bool>>;

/// A stream that sends nothing and ends when `stop` turns true.
fn silent_until_stopped<T: Send + 'static>(
    stop: &Stop,
) -> Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>> {
    let mut stopped = stop.subscribe();
    Box::pin(
        futures::stream::once(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        })
        .filter_map(|()| async { None }),
    )
}

/// `plugin.GRPCController`.
pub(crate) struct Controller {
    pub(crate) stop: Stop,
}

#[tonic::async_trait]
impl pb::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(&self, _request: Request<pb::Empty>) -> Result<Response<pb::Empty>, Status> {
        tracing::info!("the client asked the plugin to shut down");
        self.stop.send_replace(true);
        Ok(Response::new(pb::Empty {}))
    }
}

/// `plugin.GRPCBroker`.
pub(crate) struct Broker {
    pub(crate) stop: Stop,
}

#[tonic::async_trait]
impl pb::grpc_broker_server::GrpcBroker for Broker {
    type StartStreamStream = Pin<Box<dyn Stream<Item = Result<pb::ConnInfo, Status>> + Send>>;

    async fn start_stream(
        &self,
        request: Request<Streaming<pb::ConnInfo>>,
    ) -> Result<Response<Self::StartStreamStream>, Status> {
        let mut inbound = request.into_inner();
        let mut stopped = self.stop.subscribe();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    offer = inbound.message() => match offer {
                        Ok(Some(info)) => tracing::debug!(
                            service_id = info.service_id,
                            "broker connection offered; hookhost's plugins open none"
                        ),
                        _ => break,
                    },
                    // Dropping the client's half closes the stream, so a
                    // graceful shutdown does not wait for the client.
                    _ = stopped.wait_for(|stop| *stop) => break,
                }
            }
        });
        Ok(Response::new(silent_until_stopped(&self.stop)))
    }
}

/// `plugin.GRPCStdio`.
pub(crate) struct Stdio {
    pub(crate) stop: Stop,
}

#[tonic::async_trait]
impl pb::grpc_stdio_server::GrpcStdio for Stdio {
    type StreamStdioStream = Pin<Box<dyn Stream<Item = Result<pb::StdioData, Status>> + Send>>;

    async fn stream_stdio(
        &self,
        _request: Request<()>,
    ) -> Result<Response<Self::StreamStdioStream>, Status> {
        Ok(Response::new(silent_until_stopped(&self.stop)))
    }
}

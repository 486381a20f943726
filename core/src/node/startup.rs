//! A cluster-mode broker answers Metadata only once it is ready to serve, as a KRaft broker
//! opens its client listeners only after startup.
//!
//! # Contract
//! - A broker is *ready* once its own metadata image has caught up with the controller's
//!   log and lists at least one unfenced broker, so a Metadata answer names brokers and a
//!   controller among them. From then on it stays ready (a broker fenced later, e.g. cut
//!   off from the controller, answers from what it knows, as Kafka's do). A standalone
//!   broker is always ready. (Kafka's starting broker also waits until it is unfenced
//!   itself; waiting only for a usable image keeps a restarted broker from stalling its
//!   clients for a whole session timeout while its old incarnation expires.)
//! - Until then, Metadata requests are held and answered, in arrival order, as soon as it
//!   is ready (from the image at that moment); a client that gives up first just closes
//!   its connection. At most [`HELD_METADATA_MAX`] are held; beyond that one is answered
//!   at once from the image as it is, so a broker that never gets ready cannot grow
//!   without bound.
//!
//! Why: before it catches up, a broker's image may list no broker at all.
//! librdkafka takes such an answer at face value (no brokers, no controller) and waits for
//! its next metadata refresh, seconds later, before it can create a topic; Kafka never
//! shows that state because a starting broker does not serve clients.

use super::{Node, RequestContext};
use crate::storage::StorageProvider;
use crate::time::Now;
use crate::wire::ResponseBody;
use kafka_protocol::messages::MetadataRequest;

/// Most Metadata requests held at once.
pub const HELD_METADATA_MAX: usize = 1024;

/// Metadata requests held until the broker is ready (see the module docs).
#[derive(Default)]
pub(super) struct StartupGate {
    ready: bool,
    held: Vec<(RequestContext, MetadataRequest)>,
}

impl<P: StorageProvider> Node<P> {
    /// Answers a Metadata request now if the broker is ready, else holds it.
    pub(super) fn metadata_when_ready(
        &mut self,
        now: Now,
        ctx: RequestContext,
        request: MetadataRequest,
    ) -> Option<ResponseBody> {
        let full =
            (self.cluster.as_ref()).is_some_and(|c| c.startup.held.len() >= HELD_METADATA_MAX);
        if full || self.ready_to_serve() {
            return Some(self.handle_metadata(now, &request, ctx.api_version));
        }
        let cluster = self.cluster.as_mut()?;
        cluster.startup.held.push((ctx, request));
        None
    }

    /// Whether the broker is ready (see the module docs); remembers the first time.
    fn ready_to_serve(&mut self) -> bool {
        let caught_up = self.metadata_caught_up();
        let image = self.controller.image();
        let Some(cluster) = self.cluster.as_mut() else {
            return true;
        };
        if !cluster.startup.ready {
            let any_broker = image.brokers().keys().any(|b| image.is_unfenced(*b));
            cluster.startup.ready = caught_up && any_broker;
        }
        cluster.startup.ready
    }

    /// Answers the held Metadata requests once the broker is ready (after every metadata
    /// the broker applies).
    pub(super) fn answer_held_metadata(&mut self, now: Now) {
        let holding = self
            .cluster
            .as_ref()
            .is_some_and(|c| !c.startup.held.is_empty());
        if !holding || !self.ready_to_serve() {
            return;
        }
        let Some(cluster) = self.cluster.as_mut() else {
            return;
        };
        for (ctx, request) in std::mem::take(&mut cluster.startup.held) {
            let body = self.handle_metadata(now, &request, ctx.api_version);
            self.respond(ctx, body);
        }
    }
}

//! The closed sets of request and response bodies the broker handles: one variant per api in
//! [`SUPPORTED_APIS`](super::SUPPORTED_APIS) for the client-facing path, and one per api in
//! [`INTER_BROKER_APIS`](super::INTER_BROKER_APIS) for the internal broker-to-broker and
//! broker-to-controller path.
//!
//! Contract: [`RequestBody`] and [`ResponseBody`] have exactly the variants of the supported
//! api table (a test checks both directions) plus `OffsetForLeaderEpoch`, which the broker
//! node exchanges with its peers as a typed value (a follower's epoch query, carried by the
//! driver; see `crate::node`) and which [`decode_request`](super::decode_request) never
//! yields, as it is not in the client table, so the node can `match` exhaustively instead of
//! carrying a catch-all arm for `kafka-protocol`'s 80-odd apis; [`InterBrokerRequestBody`] and
//! [`InterBrokerResponseBody`] likewise have exactly the variants of the inter-broker table,
//! and are kept apart so that adding them forces no change on the client-facing node. Each
//! body knows its [`ApiKey`] and encodes/decodes itself at a version through `kafka-protocol`
//! (the crate-private [`WireBody`] trait lets one frame codec serve both sets).
//!
//! Why our own enums: `kafka-protocol`'s `RequestKind`/`ResponseKind` sit behind its
//! `messages_enums` feature, are `#[non_exhaustive]`, and cover every api Kafka has.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, AlterPartitionRequest,
    AlterPartitionResponse, ApiKey, ApiVersionsRequest, ApiVersionsResponse,
    BrokerHeartbeatRequest, BrokerHeartbeatResponse, BrokerRegistrationRequest,
    BrokerRegistrationResponse, CreatePartitionsRequest, CreatePartitionsResponse,
    CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    DescribeClusterRequest, DescribeClusterResponse, DescribeConfigsRequest,
    DescribeConfigsResponse, FetchRequest, FetchResponse, ListOffsetsRequest, ListOffsetsResponse,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, MetadataRequest,
    MetadataResponse, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, ProduceRequest,
    ProduceResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable};

/// A closed set of message bodies that the frame codec can encode and decode.
pub(crate) trait WireBody: Sized {
    /// The api this body belongs to.
    fn body_api_key(&self) -> ApiKey;

    /// Appends the body, encoded at `version`, to `buf`.
    fn encode_into(&self, buf: &mut BytesMut, version: i16) -> anyhow::Result<()>;

    /// Decodes a body of api `api_key` at `version` from the front of `buf`; `None` when the
    /// api is not one of this set.
    fn decode_from(api_key: ApiKey, buf: &mut Bytes, version: i16) -> Option<anyhow::Result<Self>>;
}

macro_rules! body_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident($ty:ty)),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub enum $name {
            $(
                #[doc = concat!("A `", stringify!($ty), "`.")]
                $variant($ty),
            )*
        }

        impl $name {
            /// The api this body belongs to.
            pub fn api_key(&self) -> ApiKey {
                match self {
                    $(Self::$variant(_) => ApiKey::$variant,)*
                }
            }
        }

        impl WireBody for $name {
            fn body_api_key(&self) -> ApiKey {
                self.api_key()
            }

            fn encode_into(&self, buf: &mut BytesMut, version: i16) -> anyhow::Result<()> {
                match self {
                    $(Self::$variant(message) => message.encode(buf, version),)*
                }
            }

            fn decode_from(
                api_key: ApiKey,
                buf: &mut Bytes,
                version: i16,
            ) -> Option<anyhow::Result<Self>> {
                match api_key {
                    $(ApiKey::$variant => Some(<$ty>::decode(buf, version).map(Self::$variant)),)*
                    _ => None,
                }
            }
        }

        $(
            impl From<$ty> for $name {
                fn from(message: $ty) -> Self {
                    Self::$variant(message)
                }
            }
        )*
    };
}

body_enum! {
    /// A decoded request body of one of the supported apis.
    RequestBody {
        Produce(ProduceRequest),
        Fetch(FetchRequest),
        ListOffsets(ListOffsetsRequest),
        Metadata(MetadataRequest),
        ApiVersions(ApiVersionsRequest),
        CreateTopics(CreateTopicsRequest),
        DeleteTopics(DeleteTopicsRequest),
        DescribeConfigs(DescribeConfigsRequest),
        CreatePartitions(CreatePartitionsRequest),
        AlterPartitionReassignments(AlterPartitionReassignmentsRequest),
        ListPartitionReassignments(ListPartitionReassignmentsRequest),
        DescribeCluster(DescribeClusterRequest),
        OffsetForLeaderEpoch(OffsetForLeaderEpochRequest),
    }
}

body_enum! {
    /// A response body of one of the supported apis.
    ResponseBody {
        Produce(ProduceResponse),
        Fetch(FetchResponse),
        ListOffsets(ListOffsetsResponse),
        Metadata(MetadataResponse),
        ApiVersions(ApiVersionsResponse),
        CreateTopics(CreateTopicsResponse),
        DeleteTopics(DeleteTopicsResponse),
        DescribeConfigs(DescribeConfigsResponse),
        CreatePartitions(CreatePartitionsResponse),
        AlterPartitionReassignments(AlterPartitionReassignmentsResponse),
        ListPartitionReassignments(ListPartitionReassignmentsResponse),
        DescribeCluster(DescribeClusterResponse),
        OffsetForLeaderEpoch(OffsetForLeaderEpochResponse),
    }
}

body_enum! {
    /// A decoded request body of one of the inter-broker apis (never sent by clients).
    InterBrokerRequestBody {
        Fetch(FetchRequest),
        OffsetForLeaderEpoch(OffsetForLeaderEpochRequest),
        AlterPartition(AlterPartitionRequest),
        BrokerRegistration(BrokerRegistrationRequest),
        BrokerHeartbeat(BrokerHeartbeatRequest),
    }
}

body_enum! {
    /// A response body of one of the inter-broker apis.
    InterBrokerResponseBody {
        Fetch(FetchResponse),
        OffsetForLeaderEpoch(OffsetForLeaderEpochResponse),
        AlterPartition(AlterPartitionResponse),
        BrokerRegistration(BrokerRegistrationResponse),
        BrokerHeartbeat(BrokerHeartbeatResponse),
    }
}

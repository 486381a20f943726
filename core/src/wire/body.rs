//! The closed sets of request and response bodies the broker handles, one variant per api in
//! [`SUPPORTED_APIS`](super::SUPPORTED_APIS).
//!
//! Contract: [`RequestBody`] and [`ResponseBody`] have exactly the variants of the supported
//! api table (a test checks both directions), so the node can `match` exhaustively instead of
//! carrying a catch-all arm for `kafka-protocol`'s 80-odd apis. Each body knows its
//! [`ApiKey`] and encodes/decodes itself at a version through `kafka-protocol`.
//!
//! Why our own enums: `kafka-protocol`'s `RequestKind`/`ResponseKind` sit behind its
//! `messages_enums` feature, are `#[non_exhaustive]`, and cover every api Kafka has.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, CreatePartitionsRequest,
    CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest,
    DeleteTopicsResponse, DescribeClusterRequest, DescribeClusterResponse, DescribeConfigsRequest,
    DescribeConfigsResponse, FetchRequest, FetchResponse, ListOffsetsRequest, ListOffsetsResponse,
    MetadataRequest, MetadataResponse, ProduceRequest, ProduceResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable};

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

            /// Appends the body, encoded at `version`, to `buf`.
            pub(crate) fn encode_into(&self, buf: &mut BytesMut, version: i16) -> anyhow::Result<()> {
                match self {
                    $(Self::$variant(message) => message.encode(buf, version),)*
                }
            }

            /// Decodes a body of api `api_key` at `version` from the front of `buf`; `None`
            /// when the api is not one of ours.
            pub(crate) fn decode_from(
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
        DescribeCluster(DescribeClusterRequest),
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
        DescribeCluster(DescribeClusterResponse),
    }
}

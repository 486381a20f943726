//! `odradek topics create|list|describe|delete` (Kafka's `kafka-topics.sh`).
//!
//! Contract: `create` sends CreateTopics (partitions and replication factor default to the
//! broker's defaults, `-1`, where the negotiated version allows it; `--config k=v` pairs are
//! passed through); `list` prints every topic name, sorted, one per line; `describe` prints a
//! summary line per topic (partition count, replication factor, configs whose source is not
//! the default) and a line per partition (leader, replicas, isr) in `kafka-topics.sh`'s
//! layout; `delete` sends DeleteTopics. A broker error is printed with Kafka's error name and
//! message and gives exit status 1.

use clap::{Args, Subcommand};
use odradek_core::wire::kafka_protocol::messages::create_topics_request::{
    CreatableTopic, CreatableTopicConfig,
};
use odradek_core::wire::kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use odradek_core::wire::kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use odradek_core::wire::kafka_protocol::messages::metadata_response::MetadataResponseTopic;
use odradek_core::wire::kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, DeleteTopicsRequest, DescribeConfigsRequest, TopicName,
};
use odradek_core::wire::kafka_protocol::protocol::StrBytes;
use odradek_core::wire::{RequestBody, ResponseBody};

use super::{fail, BootstrapArgs, EXIT_BAD_FLAGS, EXIT_OK, IO_TIMEOUT};
use crate::client::{BrokerError, Client, ClientError};

/// DescribeConfigs resource type of a topic.
const RESOURCE_TOPIC: i8 = 2;
/// DescribeConfigs config source meaning "a default, not set on the topic".
const SOURCE_DEFAULT: i8 = 5;
/// How long the broker may take for admin requests.
const ADMIN_TIMEOUT_MS: i32 = 30_000;

/// `odradek topics …`.
#[derive(Args, Debug)]
pub struct TopicsArgs {
    /// Broker connection.
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    /// What to do.
    #[command(subcommand)]
    pub action: TopicsAction,
}

/// The `topics` actions.
#[derive(Subcommand, Debug)]
pub enum TopicsAction {
    /// Create a topic.
    Create {
        /// Topic name.
        topic: String,
        /// Number of partitions (broker default when absent).
        #[arg(long)]
        partitions: Option<i32>,
        /// Replication factor (broker default when absent).
        #[arg(long)]
        replication_factor: Option<i16>,
        /// A topic config `key=value`; repeatable.
        #[arg(long = "config", value_name = "KEY=VALUE")]
        configs: Vec<String>,
    },
    /// List topic names.
    List,
    /// Describe one topic, or all topics.
    Describe {
        /// Topic name (all topics when absent).
        topic: Option<String>,
    },
    /// Delete a topic.
    Delete {
        /// Topic name.
        topic: String,
    },
}

/// Runs `odradek topics …`; returns the exit status.
pub fn run(args: &TopicsArgs) -> u8 {
    if let TopicsAction::Create { configs, .. } = &args.action {
        if let Some(bad) = configs.iter().find(|pair| !pair.contains('=')) {
            eprintln!("error: --config expects key=value, got {bad:?}");
            return EXIT_BAD_FLAGS;
        }
    }
    let mut client = match Client::connect(&args.bootstrap.bootstrap_server, IO_TIMEOUT) {
        Ok(client) => client,
        Err(error) => return fail(error),
    };
    let outcome = match &args.action {
        TopicsAction::Create {
            topic,
            partitions,
            replication_factor,
            configs,
        } => create(
            &mut client,
            topic,
            *partitions,
            *replication_factor,
            configs,
        ),
        TopicsAction::List => list(&mut client),
        TopicsAction::Describe { topic } => describe(&mut client, topic.as_deref()),
        TopicsAction::Delete { topic } => delete(&mut client, topic),
    };
    match outcome {
        Ok(()) => EXIT_OK,
        Err(error) => fail(format_args!("Error while executing topic command: {error}")),
    }
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

fn create(
    client: &mut Client,
    topic: &str,
    partitions: Option<i32>,
    replication_factor: Option<i16>,
    configs: &[String],
) -> Result<(), ClientError> {
    let version = client.bootstrap().version(ApiKey::CreateTopics)?;
    // Versions below 4 cannot ask for the broker's default.
    let unset = if version >= 4 { -1 } else { 1 };
    let configs = configs
        .iter()
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| {
            CreatableTopicConfig::default()
                .with_name(StrBytes::from_string(key.to_string()))
                .with_value(Some(StrBytes::from_string(value.to_string())))
        })
        .collect();
    let creatable = CreatableTopic::default()
        .with_name(topic_name(topic))
        .with_num_partitions(partitions.unwrap_or(unset))
        .with_replication_factor(replication_factor.unwrap_or(unset as i16))
        .with_configs(configs);
    let request = CreateTopicsRequest::default()
        .with_topics(vec![creatable])
        .with_timeout_ms(ADMIN_TIMEOUT_MS);
    let ResponseBody::CreateTopics(response) = client
        .bootstrap()
        .call(RequestBody::CreateTopics(request))?
    else {
        return Err(ClientError::UnexpectedResponse {
            api: ApiKey::CreateTopics,
        });
    };
    for result in &response.topics {
        BrokerError::check(result.error_code, result.error_message.as_deref())?;
    }
    println!("Created topic {topic}.");
    Ok(())
}

fn list(client: &mut Client) -> Result<(), ClientError> {
    let response = client.metadata(None, false)?;
    let mut names: Vec<String> = response
        .topics
        .iter()
        .filter_map(|topic| topic.name.as_ref().map(|name| name.to_string()))
        .collect();
    names.sort();
    for name in names {
        println!("{name}");
    }
    Ok(())
}

fn describe(client: &mut Client, topic: Option<&str>) -> Result<(), ClientError> {
    let wanted = topic.map(|name| vec![name.to_string()]);
    let response = client.metadata(wanted.as_deref(), false)?;
    let mut topics = response.topics;
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    for entry in &topics {
        BrokerError::check(entry.error_code, None)?;
        let name = entry
            .name
            .as_ref()
            .map(|n| n.to_string())
            .unwrap_or_default();
        let configs = non_default_configs(client, &name)?;
        print!("{}", describe_topic(entry, &configs));
    }
    Ok(())
}

/// `kafka-topics.sh --describe`'s layout for one topic.
fn describe_topic(entry: &MetadataResponseTopic, configs: &[(String, String)]) -> String {
    let name = entry
        .name
        .as_ref()
        .map(|n| n.to_string())
        .unwrap_or_default();
    let mut partitions: Vec<_> = entry.partitions.iter().collect();
    partitions.sort_by_key(|p| p.partition_index);
    let replication = partitions.first().map_or(0, |p| p.replica_nodes.len());
    let configs = configs
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut out = format!(
        "Topic: {name}\tTopicId: {}\tPartitionCount: {}\tReplicationFactor: {replication}\tConfigs: {configs}\n",
        entry.topic_id,
        partitions.len(),
    );
    let ids = |nodes: &[odradek_core::wire::kafka_protocol::messages::BrokerId]| {
        nodes
            .iter()
            .map(|node| node.0.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    for partition in partitions {
        out.push_str(&format!(
            "\tTopic: {name}\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}\n",
            partition.partition_index,
            partition.leader_id.0,
            ids(&partition.replica_nodes),
            ids(&partition.isr_nodes),
        ));
    }
    out
}

/// The topic's configs that were set on it (source other than the default), sorted by key.
fn non_default_configs(
    client: &mut Client,
    topic: &str,
) -> Result<Vec<(String, String)>, ClientError> {
    let resource = DescribeConfigsResource::default()
        .with_resource_type(RESOURCE_TOPIC)
        .with_resource_name(StrBytes::from_string(topic.to_string()))
        .with_configuration_keys(None);
    let request = DescribeConfigsRequest::default().with_resources(vec![resource]);
    let ResponseBody::DescribeConfigs(response) = client
        .bootstrap()
        .call(RequestBody::DescribeConfigs(request))?
    else {
        return Err(ClientError::UnexpectedResponse {
            api: ApiKey::DescribeConfigs,
        });
    };
    let mut configs = Vec::new();
    for result in &response.results {
        BrokerError::check(result.error_code, result.error_message.as_deref())?;
        for config in &result.configs {
            if config.config_source != SOURCE_DEFAULT && !config.is_sensitive {
                let value = config.value.as_deref().unwrap_or("null").to_string();
                configs.push((config.name.to_string(), value));
            }
        }
    }
    configs.sort();
    Ok(configs)
}

fn delete(client: &mut Client, topic: &str) -> Result<(), ClientError> {
    let version = client.bootstrap().version(ApiKey::DeleteTopics)?;
    let mut request = DeleteTopicsRequest::default().with_timeout_ms(ADMIN_TIMEOUT_MS);
    if version >= 6 {
        request = request.with_topics(vec![
            DeleteTopicState::default().with_name(Some(topic_name(topic)))
        ]);
    } else {
        request = request.with_topic_names(vec![topic_name(topic)]);
    }
    let ResponseBody::DeleteTopics(response) = client
        .bootstrap()
        .call(RequestBody::DeleteTopics(request))?
    else {
        return Err(ClientError::UnexpectedResponse {
            api: ApiKey::DeleteTopics,
        });
    };
    for result in &response.responses {
        BrokerError::check(result.error_code, result.error_message.as_deref())?;
    }
    println!("Deleted topic {topic}.");
    Ok(())
}

//! Model test: random sequences of create (some validate-only) / auto-create / delete /
//! create-partitions / alter-config run against the controller (committing through a `LocalMetadataLog`) and
//! against `odradek_model::controller::ModelCluster`; after every step the topic set,
//! partition counts and configs are equal, and the image's invariants hold. At the end the
//! committed log replayed into a fresh image gives an identical image.

mod controller_support;

use controller_support::*;
use odradek_core::controller::{
    ConfigChange, ConfigOperation, Controller, ControllerConfig, CreateTopicRequest,
    LocalMetadataLog, MetadataImage, MetadataLog, MetadataOffset, TopicRef,
};
use odradek_model::controller::{ModelCluster, ModelTopic};
use proptest::prelude::*;
use std::collections::BTreeMap;

const NAMES: [&str; 5] = ["a", "b", "c.d", "e_f", "bad name"];
const DEFAULT_PARTITIONS: u32 = 2;

/// (key, value, whether the controller must accept it)
const CONFIG_MENU: [(&str, &str, bool); 9] = [
    ("retention.ms", "1000", true),
    ("retention.ms", "-5", false),
    ("segment.bytes", "1048576", true),
    ("segment.bytes", "10", false),
    ("cleanup.policy", "delete", true),
    ("cleanup.policy", "compact", false),
    ("min.insync.replicas", "2", true),
    ("bogus.key", "1", false),
    ("unclean.leader.election.enable", "true", true),
];

#[derive(Clone, Debug)]
enum Op {
    Create {
        name: usize,
        partitions: i32,
        replication_factor: i16,
        configs: Vec<usize>,
        validate_only: bool,
    },
    AutoCreate {
        name: usize,
    },
    Delete {
        name: usize,
    },
    CreatePartitions {
        name: usize,
        new_total: i32,
    },
    AlterConfig {
        name: usize,
        menu: usize,
        delete: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let name = 0..NAMES.len();
    prop_oneof![
        3 => (
            name.clone(),
            -2..5i32,
            0..5i16,
            prop::collection::vec(0..CONFIG_MENU.len(), 0..3),
            prop::bool::weighted(0.2),
        )
            .prop_map(|(name, partitions, replication_factor, configs, validate_only)| Op::Create {
                name, partitions, replication_factor, configs, validate_only
            }),
        1 => name.clone().prop_map(|name| Op::AutoCreate { name }),
        2 => name.clone().prop_map(|name| Op::Delete { name }),
        2 => (name.clone(), -1..8i32).prop_map(|(name, new_total)| Op::CreatePartitions { name, new_total }),
        3 => (name, 0..CONFIG_MENU.len(), any::<bool>())
            .prop_map(|(name, menu, delete)| Op::AlterConfig { name, menu, delete }),
    ]
}

fn name_is_valid(name: &str) -> bool {
    !name.contains(' ')
}

/// Runs `op` on the controller, committing what it yields; returns whether it succeeded.
fn run_controller(controller: &mut Controller, log: &mut LocalMetadataLog, op: &Op) -> bool {
    let records = match op {
        Op::Create {
            name,
            partitions,
            replication_factor,
            configs,
            validate_only,
        } => {
            let mut request =
                CreateTopicRequest::new(NAMES[*name], *partitions, *replication_factor);
            request.configs = configs
                .iter()
                .map(|i| {
                    (
                        CONFIG_MENU[*i].0.to_owned(),
                        Some(CONFIG_MENU[*i].1.to_owned()),
                    )
                })
                .collect();
            let result = controller
                .create_topics(&[request], *validate_only)
                .remove(0)
                .result;
            if *validate_only {
                // Validation answers like a real create but yields nothing to commit.
                assert!(result.as_ref().map_or(true, |c| c.records.is_empty()));
            }
            result.map(|c| c.records)
        }
        Op::AutoCreate { name } => controller
            .auto_create_topic(NAMES[*name])
            .map(|c| c.records),
        Op::Delete { name } => controller
            .delete_topics(&[TopicRef::Name(NAMES[*name].to_owned())])
            .remove(0)
            .result
            .map(|d| d.records),
        Op::CreatePartitions { name, new_total } => {
            controller.create_partitions(NAMES[*name], *new_total, None, false)
        }
        Op::AlterConfig { name, menu, delete } => {
            let (key, value, _) = CONFIG_MENU[*menu];
            let operation = if *delete {
                ConfigOperation::Delete
            } else {
                ConfigOperation::Set(value.to_owned())
            };
            let change = ConfigChange {
                key: key.to_owned(),
                operation,
            };
            controller.alter_configs(NAMES[*name], &[change], false)
        }
    };
    match records {
        Ok(records) => {
            commit(controller, log, records);
            true
        }
        Err(_) => false,
    }
}

/// Runs `op` on the model, knowing which inputs the controller must refuse.
fn run_model(model: &mut ModelCluster, op: &Op) -> bool {
    match op {
        Op::Create {
            name,
            partitions,
            replication_factor,
            configs,
            validate_only,
        } => {
            let mut scratch = model.clone();
            let model = if *validate_only { &mut scratch } else { model };
            let chosen: Vec<_> = configs.iter().map(|i| CONFIG_MENU[*i]).collect();
            let keys: std::collections::BTreeSet<_> = chosen.iter().map(|c| c.0).collect();
            let configs_ok = chosen.iter().all(|c| c.2) && keys.len() == chosen.len();
            let count = if *partitions == -1 {
                DEFAULT_PARTITIONS as i32
            } else {
                *partitions
            };
            let factor_ok = (1..=3).contains(replication_factor) || *replication_factor == -1;
            let map: BTreeMap<String, String> = chosen
                .iter()
                .map(|c| (c.0.to_owned(), c.1.to_owned()))
                .collect();
            name_is_valid(NAMES[*name])
                && configs_ok
                && factor_ok
                && count >= 0
                && model.create(NAMES[*name], count as u32, map).is_ok()
        }
        Op::AutoCreate { name } => {
            name_is_valid(NAMES[*name])
                && model
                    .create(NAMES[*name], DEFAULT_PARTITIONS, BTreeMap::new())
                    .is_ok()
        }
        Op::Delete { name } => model.delete(NAMES[*name]).is_ok(),
        Op::CreatePartitions { name, new_total } => {
            *new_total >= 0
                && model
                    .create_partitions(NAMES[*name], *new_total as u32)
                    .is_ok()
        }
        Op::AlterConfig { name, menu, delete } => {
            let (key, value, valid) = CONFIG_MENU[*menu];
            let allowed = if *delete { key != "bogus.key" } else { valid };
            let value = (!*delete).then_some(value);
            allowed && model.alter_config(NAMES[*name], key, value).is_ok()
        }
    }
}

fn observed(controller: &Controller) -> BTreeMap<String, ModelTopic> {
    let image = controller.image();
    image
        .topics()
        .values()
        .map(|topic| {
            let topic_state = ModelTopic {
                partitions: topic.partitions.len() as u32,
                configs: image
                    .topic_configs(&topic.name)
                    .cloned()
                    .unwrap_or_default(),
            };
            (topic.name.clone(), topic_state)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_controller_agrees_with_the_model_after_every_command(
        ops in prop::collection::vec(op(), 1..40),
        seed in any::<u64>(),
    ) {
        let config = ControllerConfig {
            seed,
            num_partitions: DEFAULT_PARTITIONS as i32,
            ..ControllerConfig::default()
        };
        let (mut controller, mut log) =
            cluster_with(config, vec![broker(0, None), broker(1, Some("r")), broker(2, None)]);
        let mut model = ModelCluster::new();
        for op in &ops {
            let accepted = run_controller(&mut controller, &mut log, op);
            let expected = run_model(&mut model, op);
            prop_assert_eq!(accepted, expected, "{:?}", op);
            prop_assert_eq!(&observed(&controller), &model.topics, "after {:?}", op);
            controller.image().check_invariants();
        }
        let mut replayed = MetadataImage::new();
        for committed in log.read_committed(MetadataOffset(0), usize::MAX) {
            prop_assert_eq!(replayed.apply(committed.offset, &committed.record), Ok(()));
        }
        prop_assert_eq!(&replayed, controller.image());
    }
}

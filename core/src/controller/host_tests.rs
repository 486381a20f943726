//! The host over a log whose commits and leadership the test controls.

use super::*;
use crate::controller::{BrokerRegistration, IncarnationId, Listener, MetadataLogError};
use crate::time::Now;

/// A log that commits only when told to, led in `term` (or not led).
#[derive(Default)]
struct ManualLog {
    records: Vec<MetadataRecord>,
    committed_through: usize,
    polled: usize,
    term: Option<u64>,
}

impl ManualLog {
    fn led() -> ManualLog {
        ManualLog {
            term: Some(1),
            ..ManualLog::default()
        }
    }

    fn commit_all(&mut self) {
        self.committed_through = self.records.len();
    }
}

impl MetadataLog for ManualLog {
    fn append(&mut self, records: Vec<MetadataRecord>) -> Result<MetadataOffset, MetadataLogError> {
        if self.term.is_none() {
            return Err(MetadataLogError::NotLeader);
        }
        self.records.extend(records);
        Ok(MetadataOffset(self.records.len().saturating_sub(1) as u64))
    }

    fn poll_committed(&mut self) -> Option<CommittedRecord> {
        if self.polled >= self.committed_through {
            return None;
        }
        let offset = self.polled;
        self.polled += 1;
        Some(CommittedRecord {
            offset: MetadataOffset(offset as u64),
            record: self.records[offset].clone(),
        })
    }

    fn committed_offset(&self) -> Option<MetadataOffset> {
        (self.committed_through > 0).then(|| MetadataOffset(self.committed_through as u64 - 1))
    }

    fn read_committed(&self, _from: MetadataOffset, _max: usize) -> Vec<CommittedRecord> {
        Vec::new()
    }

    fn leader_term(&self) -> Option<u64> {
        self.term
    }
}

fn register(broker: i32) -> ControllerEnvelope<ControllerRequest> {
    ControllerEnvelope {
        correlation_id: 7,
        body: ControllerRequest::Register(BrokerRegistration {
            broker_id: BrokerId(broker),
            incarnation: IncarnationId(1),
            listeners: vec![Listener {
                name: "PLAINTEXT".to_owned(),
                host: "127.0.0.1".to_owned(),
                port: 9092,
            }],
            rack: None,
        }),
    }
}

fn replies(host: &mut ControllerHost) -> Vec<HostReply> {
    std::iter::from_fn(|| host.poll_reply()).collect()
}

fn host() -> ControllerHost {
    ControllerHost::new(ControllerConfig::default()).unwrap()
}

#[test]
fn a_registration_is_answered_only_after_its_record_commits() {
    let (mut host, mut log) = (host(), ManualLog::led());
    host.handle_request(Now::ZERO, &mut log, 3, register(1));
    assert_eq!(replies(&mut host), vec![]);
    assert_eq!(host.pending_answers(), 1);
    log.commit_all();
    host.settle(&mut log);
    let answered = replies(&mut host);
    assert_eq!(answered.len(), 1);
    assert_eq!(answered[0].client, 3);
    assert_eq!(answered[0].envelope.correlation_id, 7);
    assert_eq!(answered[0].envelope.body, ControllerResponse::Registered);
    assert!(host
        .controller()
        .image()
        .brokers()
        .contains_key(&BrokerId(1)));
}

#[test]
fn a_host_whose_log_is_not_led_answers_not_controller_even_to_fetches() {
    let (mut host, mut log) = (host(), ManualLog::default());
    host.handle_request(Now::ZERO, &mut log, 1, register(1));
    let fetch = ControllerEnvelope {
        correlation_id: 8,
        body: ControllerRequest::FetchMetadata {
            after: None,
            max_records: 10,
        },
    };
    host.handle_request(Now::ZERO, &mut log, 1, fetch);
    let bodies: Vec<_> = replies(&mut host)
        .into_iter()
        .map(|r| r.envelope.body)
        .collect();
    assert_eq!(
        bodies,
        vec![
            ControllerResponse::NotController,
            ControllerResponse::NotController
        ]
    );
}

#[test]
fn losing_leadership_answers_every_pending_command_not_controller() {
    let (mut host, mut log) = (host(), ManualLog::led());
    host.handle_request(Now::ZERO, &mut log, 4, register(1));
    log.term = None;
    host.settle(&mut log);
    let answered = replies(&mut host);
    assert_eq!(answered.len(), 1);
    assert_eq!(answered[0].envelope.body, ControllerResponse::NotController);
    assert_eq!(host.pending_answers(), 0);
}

#[test]
fn a_fetch_returns_the_committed_records_after_the_brokers_offset() {
    let (mut host, mut log) = (host(), ManualLog::led());
    host.handle_request(Now::ZERO, &mut log, 1, register(1));
    host.handle_request(Now::ZERO, &mut log, 2, register(2));
    log.commit_all();
    host.settle(&mut log);
    replies(&mut host);
    let fetch = |after| ControllerEnvelope {
        correlation_id: 9,
        body: ControllerRequest::FetchMetadata {
            after,
            max_records: 10,
        },
    };
    host.handle_request(Now::ZERO, &mut log, 1, fetch(Some(MetadataOffset(0))));
    host.handle_request(Now::ZERO, &mut log, 1, fetch(None));
    let counts: Vec<usize> = replies(&mut host)
        .into_iter()
        .map(|reply| match reply.envelope.body {
            ControllerResponse::Metadata { records } => records.len(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(counts, vec![1, 2]);
}

fn heartbeat(broker: i32, want_shut_down: bool) -> ControllerEnvelope<ControllerRequest> {
    ControllerEnvelope {
        correlation_id: 11,
        body: ControllerRequest::Heartbeat {
            broker_id: BrokerId(broker),
            incarnation: IncarnationId(1),
            applied_offset: None,
            want_shut_down,
        },
    }
}

#[test]
fn a_controlled_shutdown_is_granted_only_once_the_fencing_commits() {
    let (mut host, mut log) = (host(), ManualLog::led());
    host.handle_request(Now::ZERO, &mut log, 1, register(1));
    host.handle_request(Now::ZERO, &mut log, 1, heartbeat(1, false));
    log.commit_all();
    host.settle(&mut log);
    let unfenced = ControllerResponse::Heartbeat {
        fenced: false,
        should_shut_down: false,
    };
    assert_eq!(replies(&mut host).last().unwrap().envelope.body, unfenced);
    host.handle_request(Now::ZERO, &mut log, 1, heartbeat(1, true));
    assert_eq!(replies(&mut host), vec![], "not before the fencing commits");
    log.commit_all();
    host.settle(&mut log);
    let granted = ControllerResponse::Heartbeat {
        fenced: true,
        should_shut_down: true,
    };
    assert_eq!(replies(&mut host)[0].envelope.body, granted);
    host.handle_request(Now::ZERO, &mut log, 1, heartbeat(1, false));
    log.commit_all();
    host.settle(&mut log);
    let body = &replies(&mut host)[0].envelope.body;
    assert_eq!(
        *body,
        ControllerResponse::Heartbeat {
            fenced: false,
            should_shut_down: false
        },
        "a plain heartbeat of the same run unfences it again (the broker stopped asking)"
    );
}

//! Broker registration, heartbeats and fencing (KIP-631's broker lifecycle, classic mode).
//!
//! # Contract
//! - **Registration** (`register_broker`) logs a `RegisterBroker` record. A new broker, or a
//!   new incarnation of a known one, starts *fenced*: it leads nothing and is given no new
//!   replicas. A new incarnation is refused with DUPLICATE_BROKER_REGISTRATION while the
//!   previous one is unfenced and has a heartbeat session on this controller; if it is
//!   unfenced without a session (this controller has not heard from it since it became
//!   active), its partitions are first moved away exactly as fencing would.
//! - **Heartbeats** ([`Controller::handle_heartbeat`]) are not logged: they renew the broker's
//!   session in this controller's memory. A heartbeat from an unregistered broker gets
//!   BROKER_ID_NOT_REGISTERED, from another incarnation STALE_BROKER_EPOCH. The first
//!   heartbeat of a fenced incarnation unfences it (`UnfenceBroker`) and elects leaders for
//!   leaderless partitions it can now lead.
//! - **Controlled shutdown** ([`Controller::handle_controlled_shutdown`]): a heartbeat that
//!   says the broker is stopping fences it at once, with the same records as a session
//!   expiry, so leadership moves before the process exits instead of a session timeout
//!   later. It stays fenced while its heartbeats keep asking (a stopping broker asks in
//!   every one); a plain heartbeat of the same run would unfence it as usual.
//! - **Fencing** ([`Controller::handle_timeout`]): a broker whose session is older than
//!   `broker.session.timeout.ms` is fenced: `PartitionChange` records take it out of every
//!   ISR (never emptying one: the last member stays, the leader becomes none) and elect new
//!   leaders for the partitions it led, then `FenceBroker`. Unfenced brokers without a
//!   session (after a controller failover) get a full session from the first
//!   `handle_timeout`, as Kafka's heartbeat manager does.
//! - Sessions live only in the active controller's memory; a controller that loses leadership
//!   may drop them ([`Controller::discard_uncommitted`] keeps them: they are facts about
//!   heartbeats received, not about the log).

use super::election::{push_fencing_changes, push_leaderless_elections, ChangeBatch};
use super::error::ControllerError;
use super::ids::{BrokerId, IncarnationId};
use super::record::{BrokerFencingRecord, BrokerRegistration, MetadataRecord};
use super::Controller;
use crate::time::{Mono, Now};
use std::collections::BTreeSet;

/// One broker's heartbeat session, as the active controller sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BrokerSession {
    /// The incarnation that heartbeats.
    pub incarnation: IncarnationId,
    /// When the session ends unless renewed.
    pub expires_at: Mono,
}

impl Controller {
    /// A broker registers (or re-registers after a restart, with a new incarnation). See the
    /// module docs. Registering the same registration again yields no records.
    pub fn register_broker(
        &self,
        registration: BrokerRegistration,
    ) -> Result<Vec<MetadataRecord>, ControllerError> {
        let broker_id = registration.broker_id;
        validate_registration(&registration)?;
        let view = self.view();
        let existing = view.brokers().get(&broker_id);
        if existing == Some(&registration) {
            return Ok(Vec::new());
        }
        let mut batch = ChangeBatch::new(view);
        if let Some(previous) = existing {
            let new_run = previous.incarnation != registration.incarnation;
            if new_run && view.is_unfenced(broker_id) {
                let live = self
                    .sessions
                    .get(&broker_id)
                    .is_some_and(|s| s.incarnation == previous.incarnation);
                if live {
                    return Err(ControllerError::DuplicateBrokerRegistration { broker_id });
                }
                push_fencing_changes(&mut batch, &self.config, broker_id);
            }
        }
        batch.push(MetadataRecord::RegisterBroker(registration));
        Ok(batch.into_records())
    }

    /// A heartbeat from `broker_id`'s `incarnation` at `now`: renews its session and, if it is
    /// fenced, returns the records that unfence it and elect the leaders it makes possible.
    pub fn handle_heartbeat(
        &mut self,
        now: Now,
        broker_id: BrokerId,
        incarnation: IncarnationId,
    ) -> Result<Vec<MetadataRecord>, ControllerError> {
        self.renew_session(now, broker_id, incarnation)?;
        if !self.view().is_fenced(broker_id) {
            return Ok(Vec::new());
        }
        let mut batch = ChangeBatch::new(self.view());
        batch.push(MetadataRecord::UnfenceBroker(BrokerFencingRecord {
            broker_id,
            incarnation,
        }));
        push_leaderless_elections(&mut batch, &self.config);
        Ok(batch.into_records())
    }

    /// A heartbeat with `want_shut_down` (KRaft's controlled shutdown): renews the session
    /// like [`Controller::handle_heartbeat`] and, if the broker is unfenced, returns the
    /// records that fence it now: out of every ISR (never emptying one), new leaders for
    /// what it led, then `FenceBroker`, exactly as a session expiry would. A fenced broker
    /// stays fenced (no records): a stopping broker must not be given leadership again.
    pub fn handle_controlled_shutdown(
        &mut self,
        now: Now,
        broker_id: BrokerId,
        incarnation: IncarnationId,
    ) -> Result<Vec<MetadataRecord>, ControllerError> {
        self.renew_session(now, broker_id, incarnation)?;
        if self.view().is_fenced(broker_id) {
            return Ok(Vec::new());
        }
        let mut batch = ChangeBatch::new(self.view());
        push_fencing_changes(&mut batch, &self.config, broker_id);
        batch.push(MetadataRecord::FenceBroker(BrokerFencingRecord {
            broker_id,
            incarnation,
        }));
        Ok(batch.into_records())
    }

    /// Renews `broker_id`'s session for `incarnation`, which must be the registered one
    /// (BROKER_ID_NOT_REGISTERED or STALE_BROKER_EPOCH otherwise).
    fn renew_session(
        &mut self,
        now: Now,
        broker_id: BrokerId,
        incarnation: IncarnationId,
    ) -> Result<(), ControllerError> {
        let registered = self
            .view()
            .brokers()
            .get(&broker_id)
            .ok_or(ControllerError::BrokerNotRegistered { broker_id })?
            .incarnation;
        if registered != incarnation {
            return Err(ControllerError::StaleBrokerEpoch {
                broker_id,
                incarnation,
                registered,
            });
        }
        let expires_at = now.mono.plus_millis(self.config.broker_session_timeout_ms);
        let session = BrokerSession {
            incarnation,
            expires_at,
        };
        self.sessions.insert(broker_id, session);
        Ok(())
    }

    /// Fences every unfenced broker whose session expired by `now`; returns the records (one
    /// batch for all of them, possibly empty). Gives unfenced brokers without a session a
    /// fresh one.
    pub fn handle_timeout(&mut self, now: Now) -> Vec<MetadataRecord> {
        let timeout_ms = self.config.broker_session_timeout_ms;
        let view = self.view();
        let mut expired = BTreeSet::new();
        let mut unsessioned = Vec::new();
        for (broker_id, registration) in view.brokers() {
            if !view.is_unfenced(*broker_id) {
                continue;
            }
            match self.sessions.get(broker_id) {
                Some(s) if s.incarnation == registration.incarnation => {
                    if s.expires_at <= now.mono {
                        expired.insert((*broker_id, registration.incarnation));
                    }
                }
                _ => unsessioned.push((*broker_id, registration.incarnation)),
            }
        }
        for (broker_id, incarnation) in unsessioned {
            let expires_at = now.mono.plus_millis(timeout_ms);
            let session = BrokerSession {
                incarnation,
                expires_at,
            };
            self.sessions.insert(broker_id, session);
        }
        if expired.is_empty() {
            return Vec::new();
        }
        let mut batch = ChangeBatch::new(self.view());
        for (broker_id, incarnation) in expired {
            push_fencing_changes(&mut batch, &self.config, broker_id);
            batch.push(MetadataRecord::FenceBroker(BrokerFencingRecord {
                broker_id,
                incarnation,
            }));
        }
        batch.into_records()
    }

    /// When [`Controller::handle_timeout`] must next run: the earliest session expiry of an
    /// unfenced broker, or `Mono(0)` (now) if an unfenced broker has no session yet.
    pub fn poll_timeout(&self) -> Option<Mono> {
        let view = self.view();
        view.brokers()
            .iter()
            .filter(|(broker_id, _)| view.is_unfenced(**broker_id))
            .map(
                |(broker_id, registration)| match self.sessions.get(broker_id) {
                    Some(s) if s.incarnation == registration.incarnation => s.expires_at,
                    _ => Mono(0),
                },
            )
            .min()
    }

    /// The heartbeat session of `broker_id`, if this controller has one.
    pub fn session(&self, broker_id: BrokerId) -> Option<BrokerSession> {
        self.sessions.get(&broker_id).copied()
    }
}

fn validate_registration(registration: &BrokerRegistration) -> Result<(), ControllerError> {
    let invalid = |reason: &'static str| ControllerError::InvalidBrokerRegistration {
        broker_id: registration.broker_id,
        reason: reason.into(),
    };
    if registration.broker_id.0 < 0 {
        return Err(invalid("broker ids are non-negative"));
    }
    if registration.listeners.is_empty() {
        return Err(invalid("a broker needs at least one listener"));
    }
    let names: BTreeSet<&str> = registration
        .listeners
        .iter()
        .map(|l| l.name.as_str())
        .collect();
    if names.len() != registration.listeners.len() {
        return Err(invalid("listener names must be unique"));
    }
    Ok(())
}

//! The audit trail: append-only events chained by SHA-256.
//!
//! Every change a store makes writes one event in the same transaction. An
//! event's hash covers its own fields and the previous event's hash, so
//! altering, removing or reordering any stored event breaks the chain from
//! that point on. The store also keeps the chain's head (last sequence number
//! and hash) in a one-row table, so removing the newest events is seen too.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A change to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Verb: `create`, `update`, `import`, `save`, …
    pub action: String,
    /// Kind of record: `user`, `study`, `patient`, `reading`, …
    pub entity: String,
    /// Which record (store id or name).
    pub entity_id: String,
    /// The record before the change (JSON), if it existed.
    pub before: Option<String>,
    /// The record after the change (JSON), if it still exists.
    pub after: Option<String>,
}

impl NewEvent {
    /// An event with `before` and `after` serialised to JSON.
    pub fn new<B: Serialize, A: Serialize>(
        action: &str,
        entity: &str,
        entity_id: impl ToString,
        before: Option<&B>,
        after: Option<&A>,
    ) -> Self {
        NewEvent {
            action: action.into(),
            entity: entity.into(),
            entity_id: entity_id.to_string(),
            before: before.map(json),
            after: after.map(json),
        }
    }
}

fn json<T: Serialize>(value: &T) -> String {
    // Serialising plain data records to a string cannot fail.
    serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"unserialisable\":\"{e}\"}}"))
}

/// Which events an audit search keeps: each given field must match
/// exactly; `from` and `until` bound `at` (RFC 3339 text, compared as
/// text: `2026-12-03` is the start of that day).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Who (`rita`, `cli:root`, `web:first-start`).
    pub actor: Option<String>,
    /// What was done (`create`, `disable`, `save`, …).
    pub action: Option<String>,
    /// The kind of record (`user`, `patient`, `reading`, …).
    pub entity: Option<String>,
    /// Which record.
    pub entity_id: Option<String>,
    /// At or after.
    pub from: Option<String>,
    /// Before.
    pub until: Option<String>,
}

/// How many characters of an event's `before` and `after` an audit search
/// returns: enough to read a change, bounded for a page of them (a large
/// import's row digests run to 190 KB an event).
pub const SEARCH_RECORD_CHARS: usize = 2000;

/// One stored event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// When (RFC 3339, UTC, microseconds).
    pub at: String,
    /// Who: a user name or `cli:…`.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// To which kind of record.
    pub entity: String,
    /// To which record.
    pub entity_id: String,
    /// The record before (JSON).
    pub before: Option<String>,
    /// The record after (JSON).
    pub after: Option<String>,
    /// The previous event's hash ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// SHA-256 of this event's fields and `prev_hash`, lower-case hex.
    pub hash: String,
}

impl AuditEvent {
    /// Builds event `seq` from `event`, chained to `prev_hash`.
    pub fn chain(seq: i64, at: String, actor: &str, event: NewEvent, prev_hash: &str) -> Self {
        let mut e = AuditEvent {
            seq,
            at,
            actor: actor.into(),
            action: event.action,
            entity: event.entity,
            entity_id: event.entity_id,
            before: event.before,
            after: event.after,
            prev_hash: prev_hash.into(),
            hash: String::new(),
        };
        e.hash = e.expected_hash();
        e
    }

    /// The hash this event's fields call for.
    pub fn expected_hash(&self) -> String {
        // A JSON array of every field: unambiguous, and the same bytes on
        // every platform and back end.
        let fields = (
            self.seq,
            &self.at,
            &self.actor,
            &self.action,
            &self.entity,
            &self.entity_id,
            &self.before,
            &self.after,
            &self.prev_hash,
        );
        let text = json(&fields);
        let digest = Sha256::digest(text.as_bytes());
        sclerad_model::hex(&digest)
    }
}

/// Where and why a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at event {seq}: {reason}")]
pub struct BrokenLink {
    /// The first event (sequence number) that does not check out.
    pub seq: i64,
    /// What is wrong with it.
    pub reason: String,
}

/// A hash recorded outside the database (in the study log, a signed
/// e-mail…): the chain must still have it at that event. This catches
/// someone who rewrites the trail and recomputes every hash after it, which
/// the chain alone cannot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// Event sequence number.
    pub seq: i64,
    /// Its hash when it was recorded.
    pub hash: String,
}

impl std::str::FromStr for Anchor {
    type Err = String;

    /// `SEQ:HASH`, as `sclerad audit verify` prints it.
    fn from_str(text: &str) -> Result<Self, String> {
        let (seq, hash) = text
            .split_once(':')
            .ok_or_else(|| format!("{text:?}: expected SEQ:HASH"))?;
        let seq: i64 = seq
            .trim()
            .parse()
            .map_err(|_| format!("{seq:?} is not an event number"))?;
        let hash = hash.trim().to_ascii_lowercase();
        if seq < 1 || hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("{text:?}: expected SEQ:HASH with 64 hex digits"));
        }
        Ok(Anchor { seq, hash })
    }
}

/// Checks a chain event by event, in sequence order.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    next_seq: i64,
    prev_hash: String,
    anchors: Vec<Anchor>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier {
            next_seq: 1,
            prev_hash: GENESIS.into(),
            anchors: Vec::new(),
        }
    }
}

impl ChainVerifier {
    /// A verifier that also checks `anchors`.
    pub fn with_anchors(anchors: &[Anchor]) -> Self {
        ChainVerifier {
            anchors: anchors.to_vec(),
            ..ChainVerifier::default()
        }
    }

    /// Checks the next event.
    pub fn check(&mut self, event: &AuditEvent) -> Result<(), BrokenLink> {
        let broken = |reason: String| BrokenLink {
            seq: self.next_seq.min(event.seq),
            reason,
        };
        if event.seq != self.next_seq {
            return Err(broken(format!(
                "event {} is missing (the next stored event is {})",
                self.next_seq, event.seq
            )));
        }
        if event.prev_hash != self.prev_hash {
            return Err(broken(format!(
                "its prev_hash {} is not the hash of event {} ({})",
                event.prev_hash,
                event.seq - 1,
                self.prev_hash
            )));
        }
        let expected = event.expected_hash();
        if event.hash != expected {
            return Err(broken(format!(
                "its content was altered (stored hash {}, content hashes to {expected})",
                event.hash
            )));
        }
        if let Some(anchor) = self
            .anchors
            .iter()
            .find(|a| a.seq == event.seq && a.hash != event.hash)
        {
            return Err(broken(format!(
                "its hash {} differs from the recorded anchor {}: the trail was rewritten up to here",
                event.hash, anchor.hash
            )));
        }
        self.next_seq += 1;
        self.prev_hash = event.hash.clone();
        Ok(())
    }

    /// Events checked so far.
    pub fn checked(&self) -> i64 {
        self.next_seq - 1
    }

    /// Checks the end of the chain against the stored head (last sequence
    /// number and hash), which catches removal of the newest events.
    pub fn finish(&self, head: Option<(i64, String)>) -> Result<i64, BrokenLink> {
        let (seq, hash) = head.unwrap_or((0, GENESIS.into()));
        if let Some(anchor) = self.anchors.iter().find(|a| a.seq > self.checked()) {
            return Err(BrokenLink {
                seq: self.checked() + 1,
                reason: format!(
                    "the trail ends at event {} but an anchor was recorded at event {}: events were removed",
                    self.checked(),
                    anchor.seq
                ),
            });
        }
        if seq != self.checked() || hash != self.prev_hash {
            return Err(BrokenLink {
                seq: self.checked().min(seq) + 1,
                reason: format!(
                    "the chain head records event {seq} with hash {hash}, but the events end at {} with hash {}",
                    self.checked(),
                    self.prev_hash
                ),
            });
        }
        Ok(self.checked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEvent> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let e = AuditEvent::chain(
                    seq,
                    format!("2026-11-29T12:00:{seq:02}.000000Z"),
                    "alice",
                    NewEvent::new("update", "patient", seq, Some(&seq), Some(&(seq + 1))),
                    &prev,
                );
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn verify(events: &[AuditEvent], head: Option<(i64, String)>) -> Result<i64, BrokenLink> {
        let mut v = ChainVerifier::default();
        for e in events {
            v.check(e)?;
        }
        v.finish(head)
    }

    #[test]
    fn intact_chain_verifies() {
        let events = chain(5);
        let head = Some((5, events[4].hash.clone()));
        assert_eq!(verify(&events, head), Ok(5));
        assert_eq!(verify(&[], None), Ok(0));
    }

    #[test]
    fn altered_removed_and_truncated_events_are_named() {
        let events = chain(5);
        let head = Some((5, events[4].hash.clone()));

        let mut altered = events.clone();
        altered[2].after = Some("\"tampered\"".into());
        assert_eq!(verify(&altered, head.clone()).unwrap_err().seq, 3);

        let mut removed = events.clone();
        removed.remove(1);
        assert_eq!(verify(&removed, head.clone()).unwrap_err().seq, 2);

        let truncated = &events[..4];
        assert_eq!(verify(truncated, head.clone()).unwrap_err().seq, 5);

        // Recomputing every hash from an altered event on passes the chain,
        // but not an anchor recorded before.
        let mut rewritten = events.clone();
        rewritten[1].actor = "mallory".into();
        for i in 1..rewritten.len() {
            rewritten[i].prev_hash = rewritten[i - 1].hash.clone();
            rewritten[i].hash = rewritten[i].expected_hash();
        }
        let new_head = Some((5, rewritten[4].hash.clone()));
        let mut plain = ChainVerifier::default();
        assert!(rewritten.iter().all(|e| plain.check(e).is_ok()));
        let anchor: Anchor = format!("3:{}", events[2].hash).parse().expect("anchor");
        let mut anchored = ChainVerifier::with_anchors(&[anchor]);
        let broken = rewritten
            .iter()
            .map(|e| anchored.check(e))
            .find_map(Result::err)
            .expect("caught");
        assert_eq!(broken.seq, 3);
        assert!(plain.finish(new_head).is_ok());
        let late: Anchor = format!("9:{}", events[2].hash).parse().expect("anchor");
        let mut short = ChainVerifier::with_anchors(&[late]);
        assert!(events.iter().all(|e| short.check(e).is_ok()));
        assert_eq!(short.finish(head.clone()).map_err(|b| b.seq), Err(6));
        assert!("3:abc".parse::<Anchor>().is_err());

        // Rehashing an altered event does not help: the next link breaks.
        let mut rehashed = events.clone();
        rehashed[1].actor = "mallory".into();
        rehashed[1].hash = rehashed[1].expected_hash();
        assert_eq!(verify(&rehashed, head).unwrap_err().seq, 3);
    }
}

//! The access log of a case: its creation and a few reads, as the API records them, both
//! as `audit_events` rows and as the events the loader seals into the hash chain.
//! Transitions are in the case's history; their access-log entries are left out to keep
//! the log at a few rows per case.

use serde_json::json;

use super::batch::Batch;
use super::life::Life;
use super::{Generator, HOUR, MINUTE};
use crate::audit::StoredEvent;

impl Generator {
    /// The access-log events of the case whose life is `life`.
    pub(super) fn access_log(&mut self, life: &Life, medical: bool, batch: &mut Batch) {
        let cutoff = self.cutoff;
        let counsellor = life.counsellor;
        let created = life.steps[0].at;
        let mut fields = vec!["destination_country", "persons", "programme"];
        if medical {
            fields.insert(0, "medical");
        }
        let mut events = vec![(created, counsellor, "case.create", json!({ "fields": fields }))];
        let read_at = created + self.between(2 * MINUTE, 30 * MINUTE);
        if read_at < cutoff {
            events.push((read_at, counsellor, "case.read", json!({})));
        }
        if let Some(review) = life.steps.iter().find(|s| s.action == "start_review") {
            events.push((
                review.at + self.between(MINUTE, HOUR),
                review.actor,
                "case.read",
                json!({}),
            ));
        }
        if let Some(booking) = life.steps.iter().find(|s| s.action == "book_travel") {
            events.push((
                booking.at - self.between(5 * MINUTE, HOUR),
                booking.actor,
                "case.read",
                json!({}),
            ));
        }
        for (at, actor, action, details) in events {
            if at >= cutoff {
                continue;
            }
            let event_id = self.id_at(at);
            batch
                .tables
                .audit
                .uuid(event_id)
                .ts(at)
                .text("user")
                .uuid(actor.user_id)
                .uuid(actor.institution_id)
                .text(actor.role)
                .text(action)
                .text("case")
                .uuid(life.id)
                .text_array::<&str>(&[])
                .text("allowed")
                .json(&details)
                .null()
                .null()
                .end();
            batch.audit.push(StoredEvent {
                id: event_id,
                occurred_at: chrono::DateTime::from_timestamp_micros(at).unwrap_or_default(),
                actor_type: "user".to_owned(),
                actor_id: Some(actor.user_id),
                actor_institution_id: Some(actor.institution_id),
                actor_role: Some(actor.role.to_owned()),
                action: action.to_owned(),
                resource_type: Some("case".to_owned()),
                resource_id: Some(life.id),
                resource_ids: Vec::new(),
                outcome: "allowed".to_owned(),
                details,
                request_id: None,
                client_addr: None,
            });
        }
    }
}

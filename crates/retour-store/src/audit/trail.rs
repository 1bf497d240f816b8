//! What the access log knows of the request being served: who made it (once signed in),
//! which workflow action it attempted, which record it concerned, and whether a refusal was
//! already recorded. The API's refusal layer runs each request inside [`watch`] and, when
//! the answer is a refusal that no handler recorded, records one event from this trail, so
//! that every refusal leaves exactly one event however the handler failed.
//!
//! A task-local: outside [`watch`] (the command line, background tasks) every function here
//! does nothing.

use std::cell::RefCell;
use std::future::Future;

use uuid::Uuid;

use super::AuditActor;

/// The trail of one request.
#[derive(Debug, Clone, Default)]
pub struct Trail {
    /// The signed-in caller, once the token was accepted.
    pub actor: Option<AuditActor>,
    /// The workflow action (or other operation) the request attempted.
    pub attempted: Option<&'static str>,
    /// The record the request concerned, where a handler named one.
    pub resource: Option<(&'static str, Uuid)>,
    /// Fields of the request a refusal is about, by name.
    pub fields: Vec<String>,
    /// A refusal of this request is in the access log already.
    pub refusal_recorded: bool,
}

tokio::task_local! {
    static TRAIL: RefCell<Trail>;
}

/// Runs `request` with a trail of its own and returns its output with the trail.
pub async fn watch<F: Future>(request: F) -> (F::Output, Trail) {
    TRAIL
        .scope(RefCell::new(Trail::default()), async move {
            let output = request.await;
            let trail = TRAIL.with(|trail| trail.borrow().clone());
            (output, trail)
        })
        .await
}

fn update(change: impl FnOnce(&mut Trail)) {
    // Outside a watched request there is nothing to note.
    let _ = TRAIL.try_with(|trail| change(&mut trail.borrow_mut()));
}

/// Notes the signed-in caller.
pub fn identified(actor: AuditActor) {
    update(|trail| trail.actor = Some(actor));
}

/// Notes the action the request attempts (e.g. a workflow action), which every refusal of
/// the request then names.
pub fn attempting(action: &'static str) {
    update(|trail| trail.attempted = Some(action));
}

/// Notes the record the request concerns (e.g. the case a duplicate number belongs to).
pub fn concerning(resource_type: &'static str, id: Uuid) {
    update(|trail| trail.resource = Some((resource_type, id)));
}

/// Notes the name of a field the request is refused for (a duplicate number, say).
pub fn refused_field(field: &str) {
    update(|trail| trail.fields.push(field.to_owned()));
}

/// Notes that a refusal was recorded; returns the attempted action to record with it.
pub(super) fn refusal_recorded() -> Option<&'static str> {
    TRAIL
        .try_with(|trail| {
            let mut trail = trail.borrow_mut();
            trail.refusal_recorded = true;
            trail.attempted
        })
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_trail_holds_what_its_request_noted_and_nothing_leaks_between_requests() {
        let id = Uuid::now_v7();
        let ((), trail) = watch(async {
            identified(AuditActor::anonymous());
            attempting("approve");
            concerning("case", id);
            assert_eq!(refusal_recorded(), Some("approve"));
        })
        .await;
        assert!(trail.refusal_recorded);
        assert_eq!(trail.attempted, Some("approve"));
        assert_eq!(trail.resource, Some(("case", id)));
        let ((), other) = watch(async {}).await;
        assert!(!other.refusal_recorded && other.attempted.is_none() && other.actor.is_none());
        // Outside a request nothing is noted, and nothing fails.
        attempting("approve");
        assert_eq!(refusal_recorded(), None);
    }
}

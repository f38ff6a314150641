//! The fake steered and read from inside the process (`dev`, the tests):
//! what `/fake/...` offers over HTTP, and a little more.

use super::outcome::{self, FakeOutcome, FakePlan, RecordedPush};
use super::{FakeDaraja, PostedCallback};
use crate::phone::Msisdn;

impl FakeDaraja {
    /// Every accepted push, oldest first.
    pub fn pushes(&self) -> Vec<RecordedPush> {
        self.lock()
            .pushes
            .iter()
            .map(|p| p.record.clone())
            .collect()
    }

    /// Every callback posted so far (STK, C2B, Transaction Status), oldest first.
    pub fn callbacks(&self) -> Vec<PostedCallback> {
        self.lock().callbacks.clone()
    }

    /// How pushes to phones without their own plan end (from the next push on).
    pub fn set_default_outcome(&self, outcome: FakeOutcome) {
        self.lock().default_plan.outcome = outcome;
    }

    /// How pushes to `phone` end, decided at once with one callback.
    pub fn set_outcome_for(&self, phone: &Msisdn, outcome: FakeOutcome) {
        self.set_plan_for(phone, FakePlan::of(outcome));
    }

    /// How long after a push the payer takes to decide, for phones without
    /// their own plan (from the next push on): the query says "being
    /// processed" and no callback leaves until then.
    pub fn set_query_delay(&self, delay: std::time::Duration) {
        self.lock().default_plan.decide_after = delay;
    }

    /// The whole plan for pushes to phones without their own.
    pub fn set_default_plan(&self, plan: FakePlan) {
        self.lock().default_plan = plan;
    }

    /// The whole plan for pushes to `phone` (from the next push on).
    pub fn set_plan_for(&self, phone: &Msisdn, plan: FakePlan) {
        self.lock()
            .per_phone
            .insert(phone.to_daraja().to_owned(), plan);
    }

    /// Logs a line per push and callback (`dev`), or stops.
    pub fn set_quiet(&self, quiet: bool) {
        self.quiet
            .store(quiet, std::sync::atomic::Ordering::Relaxed);
    }

    /// Turns external C2B validation on or off.
    pub fn set_c2b_validation(&self, on: bool) {
        self.lock().c2b_validation = on;
    }

    /// Makes the current token stale at once, as when another client of the
    /// same app fetched one.
    pub fn expire_tokens(&self) {
        self.lock().token = None;
    }

    /// The STK callback JSON of this push as the fake posts it, or `None`
    /// for an id it never issued: for tests that post variants themselves.
    pub fn callback_payload(&self, checkout_request_id: &str) -> Option<serde_json::Value> {
        let state = self.lock();
        let push = state.find(checkout_request_id)?;
        Some(outcome::callback_json(
            &push.record,
            push.plan.callback.amount_delta,
        ))
    }
}

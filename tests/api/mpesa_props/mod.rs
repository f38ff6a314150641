//! Property tests of money in: random interleavings of STK pushes settled
//! by callback, duplicate callbacks (one after another and at once), late
//! callbacks after a query, failure callbacks, queries (paid, failed, still
//! processing) and paybill confirmations (by member number, by phone,
//! unmatched, a repeated TransID, and the receipt of an STK push) keep every
//! invariant: `ledger check` clean, each payment booked once, each member's
//! savings the sum of what they paid.
//!
//! The results go through the gateway's own routes (the STK callback and the
//! paybill confirmation, which settle and confirm, and settle again after a
//! lost race) and its reconciliation pass, against one database: each case
//! has a chama of its own.

mod model;
mod run;

use std::sync::atomic::{AtomicU32, Ordering};

use proptest::test_runner::{Config, TestRunner};

use crate::helpers::spawn_app_with;

/// Cases per run: a few seconds on a loaded machine.
const CASES: u32 = 32;

#[test]
fn any_interleaving_of_results_and_paybill_confirmations_books_each_payment_once() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Passes run when a case says, not every few seconds.
    let app = runtime.block_on(spawn_app_with(|raw| {
        raw.insert("MPESA_RECONCILE_EVERY_SECS".into(), "600".into());
    }));
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        max_shrink_iters: 256,
        failure_persistence: None,
        ..Config::default()
    });
    let case = AtomicU32::new(0);
    let outcome = runner.run(&model::scenarios(), |(ops, model)| {
        let n = case.fetch_add(1, Ordering::Relaxed);
        runtime.block_on(run::case(&app, n, &ops, &model));
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}

//! Delivery reports from the fake to a tiny receiver standing in for the
//! gateway's `/sms/africastalking/delivery`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::routing::post;
use tokio::sync::mpsc;

use super::tests::{msisdn, start_fake};
use super::*;
use crate::sms::SmsClient;

/// One report as the receiver got it: its form and its query.
type Report = (HashMap<String, String>, HashMap<String, String>);

#[derive(Clone)]
struct Receiver {
    reports: mpsc::UnboundedSender<Report>,
    /// Answers 503 to this many posts before taking any.
    refuse: Arc<AtomicUsize>,
}

async fn delivery(
    State(receiver): State<Receiver>,
    Query(query): Query<HashMap<String, String>>,
    Form(form): Form<HashMap<String, String>>,
) -> StatusCode {
    let refuse = receiver.refuse.load(Ordering::SeqCst);
    if refuse > 0 {
        receiver.refuse.store(refuse - 1, Ordering::SeqCst);
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    receiver.reports.send((form, query)).unwrap();
    StatusCode::OK
}

/// Starts a receiver that refuses its first `refuse` posts; returns its
/// delivery URL (with a token) and the reports it takes.
async fn start_receiver(refuse: usize) -> (reqwest::Url, mpsc::UnboundedReceiver<Report>) {
    let (reports, received) = mpsc::unbounded_channel();
    let receiver = Receiver {
        reports,
        refuse: Arc::new(AtomicUsize::new(refuse)),
    };
    let app = axum::Router::new()
        .route("/sms/africastalking/delivery", post(delivery))
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://{addr}/sms/africastalking/delivery?token=secret-1");
    (url.parse().unwrap(), received)
}

/// The next `n` reports; a generous bound only so a broken poster fails the
/// test instead of hanging it.
async fn next(received: &mut mpsc::UnboundedReceiver<Report>, n: usize) -> Vec<Report> {
    let mut reports = Vec::new();
    for _ in 0..n {
        let report = tokio::time::timeout(Duration::from_secs(30), received.recv())
            .await
            .expect("a report arrives")
            .expect("the receiver runs");
        reports.push(report);
    }
    reports
}

/// (status, failureReason) of each report about `message_id`, in order.
fn statuses(reports: &[Report], message_id: &str) -> Vec<(String, Option<String>)> {
    reports
        .iter()
        .filter(|(form, _)| form["id"] == message_id)
        .map(|(form, _)| (form["status"].clone(), form.get("failureReason").cloned()))
        .collect()
}

fn owned(steps: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    steps
        .iter()
        .map(|(s, r)| (s.to_string(), r.map(str::to_owned)))
        .collect()
}

#[tokio::test]
async fn reports_follow_each_numbers_plan() {
    let fake = start_fake().await;
    let (url, mut received) = start_receiver(0).await;
    fake.report_to(url);
    let (happy, inactive, late) = (
        msisdn("0712345678"),
        msisdn("0722000111"),
        msisdn("0733000222"),
    );
    fake.set_delivery(&inactive, DeliveryPlan::Failed("UserIsInactive".into()));
    fake.set_delivery(
        &late,
        DeliveryPlan::Steps(vec![
            ReportStep::now("Buffered", None),
            ReportStep::now("Failed", Some("DeliveryFailure")),
            ReportStep {
                after: Duration::from_millis(50),
                ..ReportStep::now("Success", None)
            },
        ]),
    );
    let to = [happy.clone(), inactive.clone(), late.clone()];
    let results = fake
        .client()
        .unwrap()
        .send(&to, "Habari", "k")
        .await
        .unwrap();
    let id = |i: usize| results[i].message_id.clone().unwrap();

    let reports = next(&mut received, 7).await;
    assert_eq!(
        statuses(&reports, &id(0)),
        owned(&[("Submitted", None), ("Success", None)])
    );
    assert_eq!(
        statuses(&reports, &id(1)),
        owned(&[("Submitted", None), ("Failed", Some("UserIsInactive"))])
    );
    assert_eq!(
        statuses(&reports, &id(2)),
        owned(&[
            ("Buffered", None),
            ("Failed", Some("DeliveryFailure")),
            ("Success", None)
        ])
    );
    for (form, query) in &reports {
        assert_eq!(query["token"], "secret-1");
        assert_eq!(form["networkCode"], "63902");
        let number = to
            .iter()
            .zip(0..)
            .find(|(_, i)| form["id"] == id(*i))
            .map(|(n, _)| n.as_e164())
            .unwrap();
        assert_eq!(form["phoneNumber"], number);
    }
}

#[tokio::test]
async fn a_gateway_that_refuses_for_a_while_still_gets_its_reports() {
    let fake = start_fake().await;
    let (url, mut received) = start_receiver(2).await;
    fake.report_to(url);
    fake.set_delivery(
        &msisdn("0712345678"),
        DeliveryPlan::Rejected("UserInBlackList".into()),
    );
    let results = fake
        .client()
        .unwrap()
        .send(&[msisdn("0712345678")], "Habari", "k")
        .await
        .unwrap();
    let reports = next(&mut received, 1).await;
    assert_eq!(
        statuses(&reports, results[0].message_id.as_ref().unwrap()),
        owned(&[("Rejected", Some("UserInBlackList"))])
    );
}

#[tokio::test]
async fn a_silent_plan_and_a_refused_number_post_nothing_while_others_do() {
    let fake = start_fake().await;
    let (url, mut received) = start_receiver(0).await;
    fake.report_to(url);
    let (silent, refused, heard) = (
        msisdn("0712345678"),
        msisdn("0722000111"),
        msisdn("0733000222"),
    );
    fake.set_delivery(&silent, DeliveryPlan::Silent);
    fake.refuse_number(&refused, 406, "UserInBlacklist");
    let client = fake.client().unwrap();
    client
        .send(&[silent, refused], "Habari", "quiet")
        .await
        .unwrap();
    // Reports leave in the order of the sends, so the heard number's two
    // reports are the first to arrive only if the earlier send posted none.
    let results = client.send(&[heard], "Habari", "loud").await.unwrap();
    let reports = next(&mut received, 2).await;
    let id = results[0].message_id.clone().unwrap();
    assert!(reports.iter().all(|(form, _)| form["id"] == id));
}

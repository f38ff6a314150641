use uuid::Uuid;

use super::*;
use crate::sms::SmsKind;

fn recipient(phone: &str, kind: SmsKind) -> Recipient {
    Recipient {
        id: Uuid::new_v4(),
        phone: Msisdn::parse(phone).unwrap(),
        template: "sms-test".into(),
        kind,
        segments: 1,
        attempts: 1,
    }
}

fn result(phone: &str, status_code: u16, status: &str) -> SmsRecipientResult {
    SmsRecipientResult {
        number: Msisdn::parse(phone).unwrap(),
        status_code,
        status: status.into(),
        message_id: (status_code < 200).then(|| format!("ATXid_{phone}")),
        cost: "KES 0.8000".into(),
    }
}

#[test]
fn each_recipient_gets_its_own_verdict() {
    let to = [
        recipient("0712000001", SmsKind::Receipt),
        recipient("0712000002", SmsKind::Receipt),
        recipient("0712000003", SmsKind::Receipt),
        recipient("0712000004", SmsKind::Otp),
    ];
    let answer = Ok(vec![
        result("0712000003", 407, "CouldNotRoute"),
        result("0712000001", 101, "Success"),
        result("0712000002", 406, "UserInBlacklist"),
    ]);
    let verdicts = verdicts(&to, &answer);
    assert!(matches!(verdicts[0], Verdict::Sent { .. }));
    assert_eq!(
        verdicts[1],
        Verdict::Failed {
            reason: "UserInBlacklist".into()
        }
    );
    assert_eq!(
        verdicts[2],
        Verdict::Retry {
            reason: "CouldNotRoute".into(),
            keep_key: false
        }
    );
    // Missing from AT's answer: it may have gone out.
    assert_eq!(
        verdicts[3],
        Verdict::Park {
            reason: "no_result".into()
        }
    );
}

#[test]
fn every_permanent_code_fails_and_every_retryable_code_retries() {
    let to = recipient("0712000001", SmsKind::Receipt);
    for code in PERMANENT {
        let v = for_result(&to, &result("0712000001", code, "X"));
        assert!(matches!(v, Verdict::Failed { .. }), "{code}");
    }
    for code in RETRYABLE {
        let v = for_result(&to, &result("0712000001", code, "X"));
        assert!(
            matches!(
                v,
                Verdict::Retry {
                    keep_key: false,
                    ..
                }
            ),
            "{code}"
        );
    }
}

#[test]
fn a_number_twice_in_one_request_gets_both_of_its_results() {
    let to = [
        recipient("0712000001", SmsKind::Receipt),
        recipient("0712000001", SmsKind::Receipt),
    ];
    let answer = Ok(vec![
        result("0712000001", 101, "Success"),
        result("0712000001", 101, "Success"),
    ]);
    assert!(
        verdicts(&to, &answer)
            .iter()
            .all(|v| matches!(v, Verdict::Sent { .. }))
    );
}

#[test]
fn an_unanswered_send_is_retried_under_its_key_or_parked_by_kind() {
    let to = [
        recipient("0712000001", SmsKind::Receipt),
        recipient("0712000002", SmsKind::Otp),
    ];
    for error in [
        SmsError::Unanswered("timeout".into()),
        SmsError::BadResponse("junk".into()),
    ] {
        let verdicts = verdicts(&to, &Err(error));
        assert!(matches!(verdicts[0], Verdict::Retry { keep_key: true, .. }));
        assert!(matches!(verdicts[1], Verdict::Park { .. }));
    }
}

#[test]
fn a_failed_request_is_retried_under_a_new_key_whatever_the_kind() {
    let to = [recipient("0712000002", SmsKind::Otp)];
    for error in [
        SmsError::Transient("HTTP 503".into()),
        SmsError::Throttled,
        SmsError::Unauthorized,
        SmsError::Rejected("InvalidSenderId".into()),
    ] {
        let verdicts = verdicts(&to, &Err(error.clone()));
        assert!(
            matches!(
                verdicts[0],
                Verdict::Retry {
                    keep_key: false,
                    ..
                }
            ),
            "{error}"
        );
    }
}

#[test]
fn reason_labels_are_bounded() {
    assert_eq!(reason_label("UserInBlacklist"), "UserInBlacklist");
    assert_eq!(reason_label("transient"), "transient");
    assert_eq!(reason_label("+254712345678 said no"), "other");
}

#[test]
fn an_answer_we_cannot_place_settles_nothing_it_should_not() {
    let to = [
        recipient("0712000001", SmsKind::Receipt),
        recipient("0712000002", SmsKind::Otp),
    ];
    // A code AT never documented, a number we did not ask for, and nothing
    // at all about the second recipient.
    let answer = Ok(vec![
        result("0712000001", 999, "Mystery"),
        result("0712999999", 101, "Success"),
    ]);
    let verdicts = verdicts(&to, &answer);
    assert_eq!(
        verdicts[0],
        Verdict::Retry {
            reason: "Mystery".into(),
            keep_key: true
        },
        "an unknown code may mean it went out"
    );
    assert!(matches!(verdicts[1], Verdict::Park { .. }));
    // An empty answer leaves everyone unsure rather than sent.
    let verdicts = super::verdicts(&to, &Ok(Vec::new()));
    assert!(matches!(verdicts[0], Verdict::Retry { keep_key: true, .. }));
}

#[test]
fn a_long_status_is_cut_before_it_is_stored() {
    let to = recipient("0712000001", SmsKind::Receipt);
    let v = for_result(&to, &result("0712000001", 403, &"x".repeat(10_000)));
    let Verdict::Failed { reason } = v else {
        panic!("a 403 fails")
    };
    assert_eq!(reason.len(), MAX_REASON);
}

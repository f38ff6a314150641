//! The operator's command line against a real database: chama and member
//! admin, configuration checks, and refusals that must change nothing.

use std::process::{Command, Output};

use crate::helpers::TestDb;

pub(crate) fn pesachama(database_url: Option<&str>, args: &[&str]) -> Output {
    pesachama_with(database_url, &[], args)
}

/// [`pesachama`] with more environment variables.
fn pesachama_with(database_url: Option<&str>, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pesachama"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied());
    if let Some(url) = database_url {
        cmd.env("DATABASE_URL", url);
    }
    cmd.args(args).output().expect("pesachama runs")
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&db.pool().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn chama_create_prints_the_code_and_leaves_an_audit_row() {
    let db = TestDb::new().await;
    let out = pesachama(
        Some(&db.url),
        &[
            "chama",
            "create",
            "--name",
            "Umoja Women",
            "--code",
            "umoja",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "UMOJA");

    let generated = pesachama(
        Some(&db.url),
        &["chama", "create", "--name", "Jirani Self Help"],
    );
    assert!(generated.status.success(), "{}", stderr(&generated));
    assert!(
        stdout(&generated).trim().starts_with("JIRANI"),
        "{}",
        stdout(&generated)
    );

    assert_eq!(
        count(
            &db,
            "select count(*) from audit_logs where action = 'chama.create'"
        )
        .await,
        2
    );
    // The chart of accounts comes with the chama.
    assert!(count(&db, "select count(*) from ledger_accounts").await >= 20);
}

#[tokio::test]
async fn member_add_refuses_a_phone_of_another_country_and_says_why() {
    let db = TestDb::new().await;
    pesachama(
        Some(&db.url),
        &["chama", "create", "--name", "Umoja", "--code", "UMOJA"],
    );
    let add = [
        "member",
        "add",
        "--chama",
        "UMOJA",
        "--phone",
        "+12025550100",
        "--name",
        "Abroad",
    ];

    let refused = pesachama(Some(&db.url), &add);
    assert!(!refused.status.success());
    let why = stderr(&refused);
    assert!(
        why.contains("a number of US; members need a phone of KE (PESACHAMA_MEMBER_COUNTRIES)"),
        "{why}"
    );
    assert_eq!(count(&db, "select count(*) from users").await, 0);

    let bad_setting = pesachama_with(Some(&db.url), &[("PESACHAMA_MEMBER_COUNTRIES", "XX")], &add);
    assert!(!bad_setting.status.success());
    assert!(
        stderr(&bad_setting).contains("PESACHAMA_MEMBER_COUNTRIES"),
        "{}",
        stderr(&bad_setting)
    );

    let allowed = pesachama_with(
        Some(&db.url),
        &[("PESACHAMA_MEMBER_COUNTRIES", "KE,US")],
        &add,
    );
    assert!(allowed.status.success(), "{}", stderr(&allowed));
    assert_eq!(count(&db, "select count(*) from users").await, 1);
}

#[tokio::test]
async fn member_add_accepts_phones_as_kenyans_type_them() {
    let db = TestDb::new().await;
    pesachama(
        Some(&db.url),
        &["chama", "create", "--name", "Umoja", "--code", "UMOJA"],
    );
    for (phone, name, role) in [
        ("0712 345 678", "Grace Wanjiku", "chairperson"),
        ("254712345679", "Jane Achieng", "treasurer"),
        ("+254712345680", "Peter Kamau", "member"),
    ] {
        let out = pesachama(
            Some(&db.url),
            &[
                "member", "add", "--chama", "UMOJA", "--phone", phone, "--name", name, "--role",
                role,
            ],
        );
        assert!(out.status.success(), "{phone}: {}", stderr(&out));
    }

    let list = pesachama(Some(&db.url), &["member", "list", "--chama", "umoja"]);
    assert!(list.status.success(), "{}", stderr(&list));
    let text = stdout(&list);
    for expected in [
        "+254712345678",
        "+254712345679",
        "+254712345680",
        "chairperson",
        "Grace Wanjiku",
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
    assert_eq!(
        count(
            &db,
            "select count(*) from audit_logs where action = 'member.add'"
        )
        .await,
        3
    );
}

#[tokio::test]
async fn bad_member_input_is_refused_and_changes_nothing() {
    let db = TestDb::new().await;
    pesachama(
        Some(&db.url),
        &["chama", "create", "--name", "Umoja", "--code", "UMOJA"],
    );
    let add = |phone: &str, chama: &str, role: &str| {
        pesachama(
            Some(&db.url),
            &[
                "member", "add", "--chama", chama, "--phone", phone, "--name", "Mary", "--role",
                role,
            ],
        )
    };
    assert!(add("0712345678", "UMOJA", "treasurer").status.success());

    let cases = [
        (add("0712 34", "UMOJA", "member"), "invalid phone"),
        (add("020 2222222", "UMOJA", "member"), "not a mobile number"),
        (
            add("0712345679", "NOPE", "member"),
            "no chama has the code NOPE",
        ),
        (add("0712345678", "UMOJA", "member"), "already a member"),
        (
            add("0712345679", "UMOJA", "treasurer"),
            "already has an active treasurer",
        ),
        (add("0712345679", "UMOJA", "king"), "invalid value 'king'"),
    ];
    for (out, why) in cases {
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains(why),
            "expected `{why}` in {}",
            stderr(&out)
        );
    }
    assert_eq!(count(&db, "select count(*) from chama_members").await, 1);
    assert_eq!(count(&db, "select count(*) from users").await, 1);
    assert_eq!(
        count(
            &db,
            "select count(*) from audit_logs where action = 'member.add'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn member_unlock_pin_clears_a_lock_once_with_an_audit_row_and_an_alert() {
    let db = TestDb::new().await;
    pesachama(
        Some(&db.url),
        &["chama", "create", "--name", "Umoja", "--code", "UMOJA"],
    );
    pesachama(
        Some(&db.url),
        &[
            "member",
            "add",
            "--chama",
            "UMOJA",
            "--phone",
            "0712345678",
            "--name",
            "Grace",
        ],
    );
    // A member locked out for a long time after many locks.
    sqlx::query("update users set pin_locked_until = now() + interval '1 day', pin_lock_count = 9")
        .execute(&db.pool().await)
        .await
        .unwrap();
    let unlock =
        |phone: &str| pesachama(Some(&db.url), &["member", "unlock-pin", "--phone", phone]);

    let out = unlock("0712 345 678");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("unlocked the PIN of +254712***678"),
        "{}",
        stdout(&out)
    );
    let again = unlock("+254712345678");
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).contains("not locked"), "{}", stdout(&again));

    for (out, why) in [
        (unlock("0712 34"), "invalid phone"),
        (unlock("0799999999"), "no user has the phone"),
    ] {
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains(why),
            "expected `{why}` in {}",
            stderr(&out)
        );
    }
    assert_eq!(
        count(
            &db,
            "select count(*) from users where pin_locked_until is null and pin_lock_count = 0"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &db,
            "select count(*) from audit_logs where action = 'pin.unlock' and actor = 'cli'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &db,
            "select count(*) from sms_outbox where phone = '+254712345678' and message like '%unlocked%'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn ledger_check_passes_clean_books_and_fails_on_a_tampered_balance() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let chama = crate::seed::chama(&pool, "UMOJA", "Umoja Women Group").await;
    let phone = "+254711000004";
    let member = crate::seed::member(
        &pool,
        "UMOJA",
        phone,
        "Dan",
        pesachama::chama::Role::Member,
        None,
        "en",
    )
    .await;
    crate::seed::contribution(&pool, chama, member, "c1", 1_000, 200).await;

    let clean = pesachama(Some(&db.url), &["ledger", "check"]);
    assert!(clean.status.success(), "{}", stderr(&clean));
    assert_eq!(
        stdout(&clean).trim(),
        "ledger check: 3 balances, 1 entries, 0 mismatches"
    );

    // Only the owner can write balances; the check runs as the runtime role.
    sqlx::query("update ledger_balances set credits_posted = 1 where account_code = 3000")
        .execute(&db.owner_pool().await)
        .await
        .unwrap();
    let tampered = pesachama(Some(&db.url), &["ledger", "check"]);
    assert!(!tampered.status.success());
    let out = stdout(&tampered);
    assert!(
        out.contains("ledger check: 3 balances, 1 entries, 1 mismatches"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "chama UMOJA account 3000 member {member}: stored debits 0 credits 1, \
             posted debits 0 credits 200"
        )),
        "{out}"
    );
    assert!(!out.contains("711000004"), "a phone in {out}");
    assert!(
        stderr(&tampered).contains("1 mismatches"),
        "{}",
        stderr(&tampered)
    );
}

#[tokio::test]
async fn ledger_statement_prints_the_chama_accounts_and_a_members_lines() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (chama, member) = crate::seed::dan(&pool).await;
    crate::seed::contribution(&pool, chama, member, "c1", 1_000, 200).await;
    crate::seed::contribution(&pool, chama, member, "c2", 2_400, 100).await;

    let whole = pesachama(Some(&db.url), &["ledger", "statement", "--chama", "UMOJA"]);
    assert!(whole.status.success(), "{}", stderr(&whole));
    let out = stdout(&whole);
    assert!(out.contains("UMOJA Umoja Women Group: accounts"), "{out}");
    assert!(
        out.lines().any(|l| l.contains("1000")
            && l.contains("M-Pesa collection")
            && l.contains("KES 3,700")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.contains("2000") && l.contains("Member savings") && l.contains("KES 3,400")),
        "{out}"
    );

    let mine = pesachama(
        Some(&db.url),
        &[
            "ledger",
            "statement",
            "--chama",
            "UMOJA",
            "--member",
            "0711000004",
            "--limit",
            "1",
        ],
    );
    assert!(mine.status.success(), "{}", stderr(&mine));
    let out = stdout(&mine);
    assert!(
        out.contains("Savings") && out.contains("KES 3,400"),
        "{out}"
    );
    assert!(out.contains("Shares") && out.contains("KES 300"), "{out}");
    // The latest entry only, and only the member's own lines of it, as the
    // member reads them (paid in is positive).
    let lines: Vec<&str> = out.lines().filter(|l| l.contains("Contribution")).collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].contains("2000") && lines[0].ends_with(" 2400"),
        "{out}"
    );
    assert!(
        lines[1].contains("3000") && lines[1].ends_with(" 100"),
        "{out}"
    );
    assert!(!out.contains("711000004"), "a phone in {out}");

    for args in [
        &["ledger", "statement", "--chama", "NOPE"][..],
        &[
            "ledger",
            "statement",
            "--chama",
            "UMOJA",
            "--member",
            "0722000000",
        ],
        &[
            "ledger",
            "statement",
            "--chama",
            "UMOJA",
            "--member",
            "not-a-phone",
        ],
        &["ledger", "statement", "--chama", "UMOJA", "--limit", "0"],
    ] {
        let out = pesachama(Some(&db.url), args);
        assert!(!out.status.success(), "{args:?}");
    }
}

#[test]
fn config_check_reports_every_missing_setting_at_once() {
    let out = pesachama(None, &["config", "check"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    for v in [
        "DATABASE_URL",
        "REDIS_URL",
        "PESACHAMA_PIN_SECRET",
        "MPESA_CONSUMER_KEY",
        "AT_API_KEY",
    ] {
        assert!(err.contains(v), "{v} missing from {err}");
    }
}

#[test]
fn a_malformed_config_file_is_refused() {
    let path = std::env::temp_dir().join(format!("pc-bad-{}.toml", std::process::id()));
    std::fs::write(&path, "database_url = [1, 2").unwrap();
    let out = pesachama(
        None,
        &["--config", path.to_str().unwrap(), "config", "check"],
    );
    std::fs::remove_file(&path).unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot read config file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unknown_arguments_are_refused() {
    let out = pesachama(None, &["chama", "explode"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("unrecognized subcommand"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_database_that_is_down_gives_one_clear_message() {
    // Port 1 on loopback: nothing listens there.
    let out = pesachama(
        Some("postgres://postgres@127.0.0.1:1/x"),
        &["member", "list", "--chama", "UMOJA"],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot reach PostgreSQL"),
        "{}",
        stderr(&out)
    );
}

/// A production configuration file that passes `config check`, as TOML.
fn production_toml(overrides: &[(&str, &str)]) -> String {
    let mut values: Vec<(&str, &str)> = vec![
        (
            "DATABASE_URL",
            "postgres://app:s3cret-db@db.internal/pesachama",
        ),
        ("REDIS_URL", "redis://cache.internal:6379"),
        (
            "PESACHAMA_PIN_SECRET",
            "7f3a1c9e5b2d8f4a6c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a",
        ),
        (
            "PESACHAMA_USSD_CALLBACK_TOKEN",
            "at-callback-token-7f3a1c9e5b2d",
        ),
        ("PESACHAMA_SMS_CALLBACK_TOKEN", "at-sms-token-7f3a1c9e5b2d"),
        ("MPESA_API_URL", "https://api.safaricom.co.ke"),
        ("MPESA_CONSUMER_KEY", "ck-live"),
        ("MPESA_CONSUMER_SECRET", "cs-live-s3cret"),
        ("MPESA_SHORTCODE", "174379"),
        ("MPESA_PASSKEY", "pk-live-s3cret"),
        ("MPESA_CALLBACK_URL", "https://gateway.example.co.ke"),
        ("MPESA_CALLBACK_TOKEN", "cb-token-7f3a1c9e5b2d8f4a"),
        ("AT_API_URL", "https://api.africastalking.com"),
        ("AT_USERNAME", "umoja"),
        ("AT_API_KEY", "at-live-s3cret"),
    ];
    for (name, value) in overrides {
        values.retain(|(n, _)| n != name);
        if !value.is_empty() {
            values.push((name, value));
        }
    }
    values
        .iter()
        .map(|(name, value)| format!("{name} = \"{value}\"\n"))
        .collect()
}

fn config_check_with(toml: &str) -> Output {
    let path = std::env::temp_dir().join(format!("pc-prod-{}.toml", uuid::Uuid::new_v4()));
    std::fs::write(&path, toml).unwrap();
    let out = pesachama(
        None,
        &["--config", path.to_str().unwrap(), "config", "check"],
    );
    std::fs::remove_file(&path).unwrap();
    out
}

#[test]
fn config_check_passes_a_production_file_and_warns_without_an_allow_list() {
    let out = config_check_with(&production_toml(&[]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("configuration ok"));
    assert!(
        stderr(&out).contains("warning: PESACHAMA_USSD_ALLOWED_SOURCES is empty"),
        "{}",
        stderr(&out)
    );

    let fenced = config_check_with(&production_toml(&[(
        "PESACHAMA_USSD_ALLOWED_SOURCES",
        "196.201.214.0/24",
    )]));
    assert!(fenced.status.success(), "{}", stderr(&fenced));
    assert!(!stderr(&fenced).contains("warning"), "{}", stderr(&fenced));
}

#[test]
fn config_check_refuses_unsafe_production_values_all_at_once_without_echoing_them() {
    let out = config_check_with(&production_toml(&[
        ("PESACHAMA_USSD_CALLBACK_TOKEN", ""),
        (
            "PESACHAMA_PIN_SECRET",
            "our-chama-pin-secret-is-definitely-long-enough",
        ),
        ("MPESA_PASSKEY", "CHANGE-ME"),
        ("AT_API_URL", "http://api.africastalking.com"),
    ]));
    assert!(!out.status.success());
    let err = stderr(&out);
    for v in [
        "PESACHAMA_USSD_CALLBACK_TOKEN",
        "PESACHAMA_PIN_SECRET",
        "MPESA_PASSKEY",
        "AT_API_URL",
    ] {
        assert!(err.contains(v), "{v} missing from {err}");
    }
    for secret in ["our-chama-pin-secret", "s3cret"] {
        assert!(!err.contains(secret), "{secret} echoed in {err}");
    }
}

/// `pesachama ARGS` run from `folder` with an empty environment (no
/// `DATABASE_URL`).
fn pesachama_in(folder: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pesachama"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(folder)
        .args(args)
        .output()
        .expect("pesachama runs")
}

#[tokio::test]
async fn admin_commands_without_database_url_use_the_running_dev_stacks_database() {
    let db = TestDb::new().await;
    let folder = std::env::temp_dir().join(format!("pc-dev-{}", uuid::Uuid::new_v4()));
    let state_dir = folder.join(pesachama::dev::STATE_DIR);
    std::fs::create_dir_all(&state_dir).unwrap();

    // Arrange: no dev stack running from the folder.
    let without = pesachama_in(&folder, &["member", "list", "--chama", "UMOJA"]);
    assert!(!without.status.success());
    assert!(
        stderr(&without).contains("DATABASE_URL") && stderr(&without).contains("cargo run -- dev"),
        "{}",
        stderr(&without)
    );

    // Act: what `dev` publishes while it serves.
    std::fs::write(
        state_dir.join(pesachama::dev::DATABASE_URL_FILE),
        format!("{}\n", db.url),
    )
    .unwrap();
    let created = pesachama_in(
        &folder,
        &[
            "chama",
            "create",
            "--name",
            "Umoja Women",
            "--code",
            "UMOJA",
        ],
    );
    std::fs::remove_dir_all(&folder).unwrap();

    // Assert
    assert!(created.status.success(), "{}", stderr(&created));
    assert_eq!(stdout(&created).trim(), "UMOJA");
    assert!(
        stderr(&created).contains("using the running dev stack's database")
            && stderr(&created).contains(".local/dev/database-url"),
        "{}",
        stderr(&created)
    );
    assert!(
        !stderr(&created).contains(crate::helpers::RUNTIME_PASSWORD),
        "{}",
        stderr(&created)
    );
    assert_eq!(
        count(&db, "select count(*) from chamas where code = 'UMOJA'").await,
        1
    );
}

#[test]
fn sms_check_passes_the_shipped_templates_and_names_each_problem() {
    let ok = pesachama(None, &["sms", "check", "--locales", "locales"]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(
        stdout(&ok).starts_with("sms templates ok: "),
        "{}",
        stdout(&ok)
    );

    // The shipped Swahili texts with one template over its budget and one
    // with a character outside GSM-7.
    let dir = std::env::temp_dir().join(format!("pc-sms-{}", uuid::Uuid::new_v4()));
    for lang in ["en", "sw"] {
        std::fs::create_dir_all(dir.join(lang)).unwrap();
        std::fs::copy(
            format!("locales/{lang}/sms.ftl"),
            dir.join(lang).join("sms.ftl"),
        )
        .unwrap();
    }
    let sw = std::fs::read_to_string(dir.join("sw/sms.ftl"))
        .unwrap()
        .replace(
            "@var chama=30 @var amount=15 @var receipt=10 @var balance=15",
            "@var chama=90 @var amount=15 @var receipt=10 @var balance=15",
        )
        .replace("Asante!", "Asante \u{1f64f}");
    std::fs::write(dir.join("sw/sms.ftl"), sw).unwrap();
    let bad = pesachama(None, &["sms", "check", "--locales", dir.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    let report = stderr(&bad);
    assert!(!bad.status.success());
    assert!(report.contains("sms check failed"), "{report}");
    assert!(
        report.contains("sw/sms.ftl: template `sms-receipt` (sw): characters outside GSM-7"),
        "{report}"
    );
    assert!(!report.contains("(en)"), "{report}");

    let dir = std::env::temp_dir().join(format!("pc-sms-{}", uuid::Uuid::new_v4()));
    for lang in ["en", "sw"] {
        std::fs::create_dir_all(dir.join(lang)).unwrap();
        std::fs::copy(
            format!("locales/{lang}/sms.ftl"),
            dir.join(lang).join("sms.ftl"),
        )
        .unwrap();
    }
    let en = std::fs::read_to_string(dir.join("en/sms.ftl"))
        .unwrap()
        .replace(
            "@var chama=30 @var amount=15 @var receipt=10 @var balance=15",
            "@var chama=90 @var amount=15 @var receipt=10 @var balance=15",
        );
    std::fs::write(dir.join("en/sms.ftl"), en).unwrap();
    let over = pesachama(None, &["sms", "check", "--locales", dir.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    let report = stderr(&over);
    assert!(!over.status.success());
    assert!(
        report.contains("en/sms.ftl: template `sms-receipt` (en): worst case is 215 characters, 2 segments, over the declared 1"),
        "{report}"
    );
}

#[tokio::test]
async fn serve_refuses_to_start_on_a_failing_sms_check() {
    let dir = std::env::temp_dir().join(format!("pc-sms-{}", uuid::Uuid::new_v4()));
    for lang in ["en", "sw"] {
        std::fs::create_dir_all(dir.join(lang)).unwrap();
        for file in ["ussd.ftl", "sms.ftl"] {
            std::fs::copy(format!("locales/{lang}/{file}"), dir.join(lang).join(file)).unwrap();
        }
    }
    std::fs::write(
        dir.join("en/sms.ftl"),
        std::fs::read_to_string(dir.join("en/sms.ftl"))
            .unwrap()
            .replace("# @kind alert @segments 1\nsms-pin-set", "sms-pin-set"),
    )
    .unwrap();
    let db = TestDb::new().await;
    let mut raw = crate::helpers::test_settings(&db, "sms-check:");
    raw.insert("PESACHAMA_LOCALES_DIR".into(), dir.to_str().unwrap().into());
    let settings = pesachama::config::Settings::parse_for_fakes(&raw).unwrap();
    let built = pesachama::app::Application::build(settings).await;
    std::fs::remove_dir_all(&dir).unwrap();
    let error = format!("{:#}", built.err().expect("the start is refused"));
    assert!(error.contains("SMS templates fail their check"), "{error}");
    assert!(
        error.contains("template `sms-pin-set` (en): no `# @kind"),
        "{error}"
    );
}

//! The CPU-only steps of one USSD hop, without PostgreSQL or Redis: what the
//! gateway spends on a hop besides waiting for its stores and the network.
//!
//! ```sh
//! cargo bench --bench hop -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! The hop is the load test's (`loadtest/README.md`): a member of one chama
//! dials, picks Balance (`1`), types the PIN (`1*4831`) and goes back
//! (`1*4831*0`). Menus and words are the real `menus/` and `locales/`; the
//! actions are answered by the menu tests' in-memory host
//! ([`pesachama::menu::fake::FakeHost`]), so the engine figures leave out
//! what the real operations cost (the PIN hash and the SQL).

use std::future::Future;
use std::hint::black_box;
use std::path::Path;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use uuid::Uuid;

use pesachama::chama::Role;
use pesachama::dev::DEV_PIN_SECRET;
use pesachama::i18n::Lang;
use pesachama::menu::fake::FakeHost;
use pesachama::menu::{Catalog, SessionState, load_catalog};
use pesachama::ops::{self, vars};
use pesachama::phone::Msisdn;
use pesachama::user::{Caller, Membership};
use pesachama::ussd::{Fingerprinter, RawHop, SessionRecord, TextTrail};

/// The fingerprint key: `dev`'s PIN secret, as in the side-by-side runs.
const KEY: &[u8] = DEV_PIN_SECRET.as_bytes();
const SESSION: &str = "ATUid_0123456789abcdef0123456789abcdef";
const PHONE: &str = "+254711000001";
const PIN: &str = "4831";
/// The third hop's body as Africa's Talking posts it (`#` and `+` escaped,
/// `*` left as is, as form encoders do).
const FORM: &[u8] = b"sessionId=ATUid_0123456789abcdef0123456789abcdef&serviceCode=*384*1234%23\
&phoneNumber=%2B254711000001&networkCode=63902&text=1*4831";

/// Runs a future of the engine to completion. The fake host's actions never
/// wait, so one poll finishes it, and no async runtime is timed with the engine.
fn now<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the fake host never waits"),
    }
}

/// The real catalog, loaded and checked as `Menus::load` does at start-up.
fn catalog() -> Catalog {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    load_catalog(&root.join("menus"), &root.join("locales"), &ops::registry())
        .unwrap_or_else(|report| panic!("menus check failed:\n{report}"))
}

/// A registered member's session on the main menu, in `lang`.
fn at_main(catalog: &Catalog, host: &FakeHost, lang: Lang) -> SessionState {
    let mut state = SessionState::new(0, lang);
    let reply = now(catalog.begin(&mut state, host));
    assert_eq!(state.screen, "main", "{}", reply.text());
    state
}

/// Form body to `Hop` as the handler gets it, and what the member typed.
fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    // The handler's `Form` extractor runs this same deserializer (wrapped in
    // serde_path_to_error for its messages). The phone is answered from the
    // recent-numbers cache after the first iteration, as on every hop of a
    // session but its first.
    group.bench_function("form_to_hop", |b| {
        b.iter(|| {
            let raw: RawHop = serde_urlencoded::from_bytes(black_box(FORM)).expect("form decodes");
            raw.parse().expect("hop parses")
        })
    });
    // What a hop from a phone not seen recently adds: libphonenumber's parse.
    group.bench_function("phone_first_seen", |b| {
        b.iter(|| Msisdn::parse(black_box(PHONE)).expect("valid phone"))
    });
    let fp = Fingerprinter::new(KEY, SESSION);
    let mut trail = TextTrail::starting_with("", &fp);
    trail.answered("1", &fp);
    trail.answered("1*4831", &fp);
    group.bench_function("text_trail_after_3_hops", |b| {
        b.iter(|| trail.decode(black_box("1*4831*0"), &fp))
    });
}

/// The keyed fingerprints every hop computes: its idempotency key and the
/// phone binding.
fn fingerprints(c: &mut Criterion) {
    let phone = Msisdn::parse(PHONE).expect("valid phone");
    let mut group = c.benchmark_group("fingerprints");
    group.bench_function("request_key_and_phone", |b| {
        b.iter(|| {
            let fp = Fingerprinter::new(black_box(KEY), black_box(SESSION));
            (fp.request_key(black_box("1*4831"), 2), fp.phone(&phone))
        })
    });
}

/// Engine advances from the main menu and back to it, so every iteration
/// starts where the last one ended.
fn engine_step(c: &mut Criterion) {
    let catalog = catalog();
    let host = FakeHost::registered(PIN);
    let mut group = c.benchmark_group("engine");
    for lang in Lang::ALL {
        let mut state = at_main(&catalog, &host, lang);
        // Two advances, no action: main -> PIN prompt -> back to main.
        group.bench_function(format!("pin_prompt_and_back/{lang}"), |b| {
            b.iter(|| {
                let there = now(catalog.advance(&mut state, black_box("1"), &host));
                let back = now(catalog.advance(&mut state, black_box("0"), &host));
                (there, back)
            })
        });
        // The load test's three advances: main -> PIN prompt -> balance
        // (the fake's verify_pin and load_balance) -> back to main.
        group.bench_function(format!("balance_and_back/{lang}"), |b| {
            b.iter(|| {
                let prompt = now(catalog.advance(&mut state, black_box("1"), &host));
                let balance = now(catalog.advance(&mut state, black_box(PIN), &host));
                let back = now(catalog.advance(&mut state, black_box("0"), &host));
                (prompt, balance, back)
            })
        });
        assert_eq!(state.screen, "main", "each iteration ends on the main menu");
    }
}

/// Drawing a screen whose actions have run: the balance with its five
/// `KES` amounts, and the main menu.
fn render(c: &mut Criterion) {
    let catalog = catalog();
    let host = FakeHost::registered(PIN);
    let mut group = c.benchmark_group("render");
    for lang in Lang::ALL {
        let main = at_main(&catalog, &host, lang);
        let mut balance = main.clone();
        now(catalog.advance(&mut balance, "1", &host));
        let shown = now(catalog.advance(&mut balance, PIN, &host));
        assert!(shown.text().contains("KES 12,400"), "{}", shown.text());
        group.bench_function(format!("balance/{lang}"), |b| {
            b.iter(|| catalog.draw(black_box(&balance), &host, None))
        });
        group.bench_function(format!("main_menu/{lang}"), |b| {
            b.iter(|| catalog.draw(black_box(&main), &host, None))
        });
    }
}

/// The record the gateway saves after the load test's balance hop: the
/// engine on the balance screen, with the hidden variables the real
/// operations keep (caller, chama, role, PIN verified) so it has the stored
/// size, three fingerprints, and the balance screen as the last reply.
fn balance_record(catalog: &Catalog, host: &FakeHost) -> SessionRecord {
    let fp = Fingerprinter::new(KEY, SESSION);
    let caller = Caller {
        user_id: Uuid::from_u128(0x0198_0000_0000_7000_8000_0000_0000_0001),
        name: "Wanjiku Kamau".into(),
        lang: Lang::En,
        has_pin: true,
        language_chosen: true,
        memberships: vec![Membership {
            chama_id: Uuid::from_u128(0x0198_0000_0000_7000_8000_0000_0000_0002),
            chama_name: "Umoja Women".into(),
            role: Role::Member,
        }],
        interrupted_ago: None,
        payment: None,
    };
    let mut engine = SessionState::new(0, Lang::En);
    vars::remember_caller(&mut engine, &caller);
    now(catalog.begin(&mut engine, host));
    let mut trail = TextTrail::starting_with("", &fp);
    now(catalog.advance(&mut engine, "1", host));
    trail.answered("1", &fp);
    vars::pin_verified_now(&mut engine);
    let reply = now(catalog.advance(&mut engine, PIN, host));
    trail.answered("1*4831", &fp);
    assert_eq!(engine.screen, "balance", "{}", reply.text());
    SessionRecord {
        engine,
        trail,
        last_reply: reply.into(),
        hops: 3,
        user: Some(caller.user_id),
        resume_offer: None,
        phone: Some(fp.phone(&Msisdn::parse(PHONE).expect("valid phone"))),
    }
}

/// The JSON a hop loads from the session store and saves back.
fn session_record(c: &mut Criterion) {
    let record = balance_record(&catalog(), &FakeHost::registered(PIN));
    let json = serde_json::to_string(&record).expect("record serialises");
    let mut group = c.benchmark_group("session_record");
    // Reported as bytes per second too, which also records the JSON's size.
    group.throughput(Throughput::Bytes(json.len() as u64));
    group.bench_function("serialise", |b| {
        b.iter(|| serde_json::to_string(black_box(&record)).expect("record serialises"))
    });
    group.bench_function("deserialise", |b| {
        b.iter(|| serde_json::from_str::<SessionRecord>(black_box(&json)).expect("record reads"))
    });
}

criterion_group!(
    benches,
    decode,
    fingerprints,
    engine_step,
    render,
    session_record
);
criterion_main!(benches);

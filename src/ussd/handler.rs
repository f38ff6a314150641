//! `POST /ussd/africastalking`: one hop, from form to `CON`/`END`.
//!
//! The steps: parse the form (a malformed one is refused with a problem
//! document: 400, or 413/415 for a body too large or not a form), apply the rate limits
//! (answered from memory in the service's default language: a refused hop
//! costs no PostgreSQL or session-store call), load the session under its hop
//! lock, refuse a hop from another phone than the one that dialled, decode the
//! hop against the text we last answered, let the menu engine answer a new
//! input, and save with compare-and-set, releasing the lock, so two hops of
//! one session never interleave and a copy of a hop never acts twice. A
//! repeated hop gets the stored answer and runs nothing; a stale one gets the
//! current screen again. Every failure past parsing becomes a polite `END`,
//! never a 500.

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::Context;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;

use crate::api::ApiError;
use crate::i18n::Lang;
use crate::menu::SessionState;
use crate::ops::vars::remember_caller;
use crate::phone::Msisdn;
use crate::session::{Locked, Saved, SessionStore};
use crate::state::AppState;
use crate::telemetry::{USSD_HOP_DURATION, USSD_HOPS, USSD_SESSIONS_STARTED};
use crate::user;

use super::decode::{Fingerprinter, HopInput, TextTrail};
use super::hop::{Hop, RawHop};
use super::host::HopHost;
use super::record::{ForeignPhone, SessionRecord, StoredReply};
use super::resume;

/// How a hop was answered, for the metrics.
#[derive(Debug, Clone, Copy)]
pub(super) enum Outcome {
    Started,
    Answered,
    Repeated,
    Stale,
    Resumed,
    /// Answered from the stored session while another copy of the hop held
    /// the session's lock past our patience.
    Busy,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Started => "started",
            Outcome::Answered => "answered",
            Outcome::Repeated => "repeated",
            Outcome::Stale => "stale",
            Outcome::Resumed => "resumed",
            Outcome::Busy => "busy",
        }
    }
}

/// Compare-and-set attempts before giving up on a contended session.
const SAVE_ATTEMPTS: usize = 3;

fn plain(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// An `END` in the caller's language with a message from the locales.
fn polite_end(app: &AppState, lang: Lang, message: &str) -> Response {
    let text = app
        .menus
        .current()
        .locales()
        .format(lang, message, &Default::default());
    plain(StatusCode::OK, format!("END {text}"))
}

/// The Africa's Talking callback.
pub async fn hop(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    form: Result<Form<RawHop>, FormRejection>,
) -> Response {
    let started = Instant::now();
    let hop = match form
        .map_err(ApiError::from)
        .and_then(|Form(raw)| raw.parse().map_err(|e| ApiError::BadRequest(e.to_string())))
    {
        Ok(hop) => hop,
        Err(error) => {
            tracing::info!(%error, "malformed USSD callback refused");
            return error.into_response();
        }
    };
    let default_lang = app.settings.ussd.default_lang;
    if app.ussd_limits.check_source(peer.ip()).is_err() {
        return polite_end(&app, default_lang, "rate-limited");
    }
    let service = app.ussd_service_codes.label(&hop.service_code);
    // A phone of a country that may not have members is refused like an
    // invalid one, before any lookup: it cannot be a member (see
    // `MemberCountries`).
    let phone = match hop.phone.as_ref().map_err(Clone::clone).and_then(|phone| {
        app.settings
            .member_countries
            .check(phone)
            .map(|()| phone.clone())
    }) {
        Ok(phone) => phone,
        Err(error) => {
            metrics::counter!(USSD_HOPS, "service" => service, "screen" => "invalid_phone", "outcome" => "refused")
                .increment(1);
            tracing::info!(%error, "USSD hop from an invalid phone number");
            return polite_end(&app, default_lang, "invalid-phone");
        }
    };
    if app.ussd_limits.check_phone(phone.as_e164()).is_err() {
        return polite_end(&app, default_lang, "rate-limited");
    }
    match answer(&app, &hop, &phone).await {
        Ok((reply, screen, outcome)) => {
            // Counted once the session is saved: a repeated dial is not a start.
            if let Outcome::Started = outcome {
                metrics::counter!(USSD_SESSIONS_STARTED, "service" => service.clone()).increment(1);
            }
            metrics::counter!(USSD_HOPS, "service" => service, "screen" => screen.clone(), "outcome" => outcome.label())
                .increment(1);
            metrics::histogram!(USSD_HOP_DURATION, "screen" => screen)
                .record(started.elapsed().as_secs_f64());
            plain(StatusCode::OK, reply.body())
        }
        Err(error) if error.is::<ForeignPhone>() => {
            metrics::counter!(USSD_HOPS, "service" => service, "screen" => "none", "outcome" => "foreign_phone").increment(1);
            tracing::warn!(
                session.id = hop.session_id.as_str(),
                "USSD hop from another phone than the session's refused"
            );
            polite_end(&app, default_lang, "session-other-phone")
        }
        Err(error) => {
            metrics::counter!(USSD_HOPS, "service" => service, "screen" => "none", "outcome" => "failed").increment(1);
            tracing::error!(error = format!("{error:#}"), phone = %phone, "USSD hop failed");
            polite_end(&app, default_lang, "service-unavailable")
        }
    }
}

async fn answer(
    app: &AppState,
    hop: &Hop,
    phone: &Msisdn,
) -> anyhow::Result<(StoredReply, String, Outcome)> {
    /// What one attempt decided, under the session's hop lock.
    enum Step {
        /// Save this record (JSON) over version `expected`, answer its reply.
        /// Boxed: a record is large and a repeat carries none.
        Save(Box<SessionRecord>, String, Option<u64>, Outcome),
        /// Answer without saving (a repeated or stale hop).
        Answer(StoredReply, String, Outcome),
    }
    let fp = Fingerprinter::new(
        app.settings.pin_secret.expose_secret().as_bytes(),
        hop.session_id.as_str(),
    );
    for _ in 0..SAVE_ATTEMPTS {
        // The hop lock is held from this load to the save: a copy of this hop
        // arriving meanwhile waits, then loads what this one saved and
        // decodes a repeat, so the actions run once (see `session`).
        let (lock, stored) = match app
            .sessions
            .load_locked(&hop.session_id)
            .await
            .context("Failed to load the session")?
        {
            Locked::Held { lock, stored } => (lock, stored),
            Locked::Busy { current } => {
                // Another copy is still acting: show the screen as stored, or
                // a polite END before the first screen exists (the caller's
                // language is not known yet); never act.
                let Some(current) = current else {
                    let text = app.menus.current().locales().format(
                        app.settings.ussd.default_lang,
                        "service-unavailable",
                        &Default::default(),
                    );
                    let reply = StoredReply { end: true, text };
                    return Ok((reply, "none".to_owned(), Outcome::Busy));
                };
                let record: SessionRecord = serde_json::from_str(&current.data)
                    .context("Failed to read the stored session")?;
                return Ok((record.last_reply, record.engine.screen, Outcome::Busy));
            }
        };
        let step = async {
            // Each host gives its connection back at the end of its arm,
            // before the save, which needs one while sessions are on PostgreSQL.
            let (record, expected, outcome) = match stored {
                None => {
                    let host = HopHost::new(app, fp.request_key(&hop.text, 0));
                    let (record, outcome) = start(app, &host, hop, phone, &fp).await?;
                    (record, None, outcome)
                }
                Some(stored) => {
                    let mut record: SessionRecord = serde_json::from_str(&stored.data)
                        .context("Failed to read the stored session")?;
                    record.check_phone(phone, &fp)?;
                    let outcome = match record.trail.decode(&hop.text, &fp) {
                        HopInput::Repeat => {
                            let screen = record.engine.screen;
                            return Ok(Step::Answer(record.last_reply, screen, Outcome::Repeated));
                        }
                        HopInput::Stale => {
                            let screen = record.engine.screen;
                            return Ok(Step::Answer(record.last_reply, screen, Outcome::Stale));
                        }
                        HopInput::New(input) => {
                            let host = HopHost::new(app, fp.request_key(&hop.text, record.hops));
                            advance(app, &host, &mut record, input).await?
                        }
                    };
                    record.trail.answered(&hop.text, &fp);
                    record.hops += 1;
                    (record, Some(stored.version), outcome)
                }
            };
            let data = serde_json::to_string(&record).context("Failed to serialise the session")?;
            anyhow::Ok(Step::Save(Box::new(record), data, expected, outcome))
        }
        .await;
        let (record, data, expected, outcome) = match step {
            Ok(Step::Save(record, data, expected, outcome)) => (record, data, expected, outcome),
            Ok(Step::Answer(reply, screen, outcome)) => {
                app.sessions.unlock(&hop.session_id, lock).await?;
                return Ok((reply, screen, outcome));
            }
            Err(error) => {
                app.sessions.unlock(&hop.session_id, lock).await?;
                return Err(error);
            }
        };
        let saved = app
            .sessions
            .save_unlock(
                &hop.session_id,
                &data,
                expected,
                app.settings.ussd.session_ttl,
                lock,
            )
            .await
            .context("Failed to save the session")?;
        if let Saved::Saved { .. } = saved {
            return Ok((record.last_reply, record.engine.screen, outcome));
        }
        // Another hop of this session saved without the lock (its lease ran
        // out, or it locked the other store during a failover): decode again.
    }
    anyhow::bail!("session kept changing under us")
}

/// First hop of a session: identify the caller, offer to resume an
/// interrupted session, or show the first screen.
async fn start(
    app: &AppState,
    host: &HopHost<'_>,
    hop: &Hop,
    phone: &Msisdn,
    fp: &Fingerprinter<'_>,
) -> anyhow::Result<(SessionRecord, Outcome)> {
    let catalog = app.menus.current();
    let mut engine = SessionState::new(catalog.generation(), Lang::En);
    // Not the host's connection: this one goes back before the resume
    // lookup, which needs one of its own while sessions are on PostgreSQL.
    let mut conn = app
        .hop_db
        .acquire()
        .await
        .context("Failed to reach PostgreSQL")?;
    let caller = user::find_caller(&mut conn, phone)
        .await
        .context("Failed to look up the caller")?;
    conn.release();
    if let Some(caller) = &caller {
        remember_caller(&mut engine, caller);
    }
    // Only a caller whose last session ended resumable within the window
    // can have a saved state: everyone else's dial skips the store lookup.
    let window = app.settings.ussd.resume_window;
    let offer = match &caller {
        Some(caller) if caller.interrupted_ago.is_some_and(|ago| ago < window) => {
            resume::take_offer(app, caller.user_id).await
        }
        _ => None,
    };
    let (reply, resume_offer) = match offer {
        Some(saved) => (resume::offer_reply(&catalog, engine.lang), Some(saved)),
        None => (catalog.begin(&mut engine, host).await.into(), None),
    };
    let record = SessionRecord {
        engine,
        trail: TextTrail::starting_with(&hop.text, fp),
        last_reply: reply,
        hops: 1,
        user: caller.map(|c| c.user_id),
        resume_offer,
        phone: Some(fp.phone(phone)),
    };
    Ok((record, Outcome::Started))
}

/// A new input: answer a pending resume offer, or let the engine advance.
async fn advance(
    app: &AppState,
    host: &HopHost<'_>,
    record: &mut SessionRecord,
    input: &str,
) -> anyhow::Result<Outcome> {
    if record.last_reply.end {
        // The session already ended; Africa's Talking should not send more.
        return Ok(Outcome::Repeated);
    }
    if let Some(saved) = record.resume_offer.take() {
        return resume::answer_offer(app, host, record, saved, input).await;
    }
    let catalog = app.menus.for_generation(record.engine.generation);
    record.last_reply = catalog
        .advance(&mut record.engine, input, host)
        .await
        .into();
    Ok(Outcome::Answered)
}

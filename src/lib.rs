//! PesaChama gateway: USSD, SMS, M-Pesa and the app API for Kenyan chamas.
//!
//! # Layout
//!
//! - [`config`]: settings from the environment and an optional TOML file, checked once.
//! - [`app`]: shared state, listeners, background tasks, the shutdown path.
//! - [`supervisor`]: background tasks under watch; one that stops stops the node.
//! - [`api`]: the public HTTP router, its layers and the `ApiError` edge type.
//! - [`telemetry`]: logs, the Prometheus recorder, HTTP metrics.
//! - [`db`]: the PostgreSQL pool, embedded migrations, constraint helpers.
//! - [`phone`]: `Msisdn`, a phone number parsed once into E.164.
//! - [`mpesa`]: the Daraja client (STK push and query, C2B registration, Transaction Status) behind a trait, and its fake Daraja over HTTP.
//! - [`sms`]: the Africa's Talking SMS client behind a trait, and its in-process fake.
//! - [`session`]: USSD session storage: Redis first, PostgreSQL behind it, failover.
//! - [`i18n`]: languages, Fluent bundles, `KES 1,250` amounts and the GSM-7 alphabet.
//! - [`menu`]: menus as data: model, loader, checker, renderer and the session engine.
//! - [`chama`]: chamas, members and the audit trail of admin actions.
//! - [`cli`]: what each command-line command does.
//! - [`dev`]: the one-command local stack with a seeded demo chama.
//! - [`devstack`]: private PostgreSQL and Redis servers for `dev` and tests.
//! - [`ledger`]: balanced postings, running balances and statements, `ledger check`, `Amount`.
//! - [`user`]: callers, their memberships and language, PINs and lockout.
//! - [`ussd`]: Africa's Talking callbacks, hop decoding, the menu host, resume.
//! - [`sim`]: `ussd-sim`, a terminal feature phone for trying the menus.

pub mod api;
pub mod app;
pub mod chama;
pub mod cli;
pub mod config;
pub mod db;
pub mod dev;
pub mod devstack;
pub mod i18n;
pub mod labels;
pub mod ledger;
pub mod limits;
pub mod menu;
pub mod mpesa;
pub mod ops;
pub mod phone;
pub mod session;
pub mod sim;
pub mod sms;
pub mod state;
pub mod supervisor;
pub mod telemetry;
pub mod user;
pub mod ussd;

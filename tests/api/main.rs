//! Integration tests: the real gateway on port 0 against real PostgreSQL and
//! Redis, one fresh database and one Redis key prefix per test.

mod cli;
mod daraja_callbacks;
mod daraja_fake;
mod daraja_paybill;
mod daraja_support;
mod db_roles;
mod dev;
mod failback;
mod health;
mod helpers;
mod hop_pool;
mod http_edges;
mod ledger;
mod ledger_balances;
mod ledger_check;
mod operations;
mod pin_security;
mod prerequisites;
mod proxy;
mod redis_down;
mod schema;
mod seed;
mod session_lock;
mod session_store;
mod sim;
mod sms_admin;
mod sms_callbacks;
mod sms_dispatch;
mod sms_fake;
mod sms_reminders;
mod ussd_concurrency;
mod ussd_flows;
mod ussd_guard;
mod ussd_members;
mod ussd_resilience;

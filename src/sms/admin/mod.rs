//! The operator's SMS commands (`pesachama sms …`): what the outbox holds,
//! requeueing dead or parked letters after a fix, and a test message.
//! `main.rs` only parses arguments; each command is one file here.

mod retry;
mod status;
mod test_message;

pub use retry::{Requeue, retry};
pub use status::{Status, status};
pub use test_message::send_test;

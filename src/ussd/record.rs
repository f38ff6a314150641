//! What the gateway keeps per USSD session between hops: the menu engine's
//! state plus the hop bookkeeping that makes hops idempotent (the raw text we
//! last answered and the answer we gave).

use serde::{Deserialize, Serialize};

use crate::menu::{Reply, SessionState};

use super::decode::TextTrail;

/// The stored form of a reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredReply {
    /// `END` rather than `CON`.
    pub end: bool,
    pub text: String,
}

impl StoredReply {
    /// The body sent to Africa's Talking.
    pub fn body(&self) -> String {
        format!("{} {}", if self.end { "END" } else { "CON" }, self.text)
    }
}

impl From<Reply> for StoredReply {
    fn from(reply: Reply) -> Self {
        match reply {
            Reply::Con(text) => StoredReply { end: false, text },
            Reply::End(text) => StoredReply { end: true, text },
        }
    }
}

/// One session's record, serialised to JSON in the session store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The menu engine's state.
    pub engine: SessionState,
    /// Fingerprints of the texts answered (the raw text can hold a PIN).
    pub trail: TextTrail,
    /// What we answered to it.
    pub last_reply: StoredReply,
    /// Hops answered with a new input.
    pub hops: u32,
    /// The caller's user id, when the phone belongs to a user.
    pub user: Option<uuid::Uuid>,
    /// A resumable session offered on this dial: the member answers 1 or 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_offer: Option<SessionState>,
}

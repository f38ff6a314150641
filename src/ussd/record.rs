//! What the gateway keeps per USSD session between hops: the menu engine's
//! state plus the hop bookkeeping that makes hops idempotent (the raw text we
//! last answered and the answer we gave), and a keyed fingerprint of the
//! phone that dialled it, so a session id cannot be driven from another phone.

use serde::{Deserialize, Serialize};

use crate::menu::{Reply, SessionState};
use crate::phone::Msisdn;

use super::decode::{Fingerprinter, TextTrail};

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
    /// [`Fingerprinter::phone`] of the phone that dialled; never the number.
    /// `None` only in records stored before the binding existed, which
    /// expire within a session's lifetime of the upgrade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// A hop of a session sent with another phone than the one that dialled it:
/// refused with a polite `END`, the session left as it was.
#[derive(Debug, thiserror::Error)]
#[error("hop from another phone than the session's")]
pub struct ForeignPhone;

impl SessionRecord {
    /// Refuses a hop whose `phone` is not the one that dialled the session.
    pub fn check_phone(&self, phone: &Msisdn, fp: &Fingerprinter<'_>) -> Result<(), ForeignPhone> {
        match &self.phone {
            Some(owner) if *owner != fp.phone(phone) => Err(ForeignPhone),
            _ => Ok(()),
        }
    }
}

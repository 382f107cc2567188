//! The slot claims this process is making right now, by identity.
//!
//! Requests that ensure the same identity and reach one process together would each read
//! the slot, race to claim it, and all but one would lose and read the slot again — each
//! holding a pooled connection while its losing append waits for the winner's commit.
//! Instead the first of them leads: it ensures as before (claims the slot, or finds the
//! run that holds it) and hands its answer to the others, who follow: they wait for that
//! answer and give the same run back, as requests that lost the race to it would. A
//! follower whose leader failed, or was dropped before it answered, ensures on its own.
//!
//! Nothing here is a guarantee. Across processes (and for a follower on its own) the
//! slot's stream is still appended at the version it was decided on, so exactly one claim
//! wins whatever this memory says; it only saves the work of the claims that would lose.
//! The identity names the work (scope, run type, inputs — a review's evidence
//! fingerprint), so the leader's run is the follower's answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;
use uuid::Uuid;

/// The identities being ensured in this process, each with its leader's answer to come.
#[derive(Clone, Default)]
pub(crate) struct ClaimsInFlight {
    leads: Arc<Mutex<HashMap<String, watch::Receiver<Option<Uuid>>>>>,
}

/// A request's part in the ensures of its identity.
pub(crate) enum Turn {
    /// No other request of this process is ensuring the identity: this one does, and
    /// hands its answer on with [`Lead::answer`].
    Lead(Lead),
    /// Another request is: wait for its answer with [`Follow::answer`].
    Follow(Follow),
}

/// The leading request of an identity. Dropping it unanswered (an error, a cancelled
/// request) lets its followers ensure on their own.
pub(crate) struct Lead {
    identity: String,
    answer: watch::Sender<Option<Uuid>>,
    leads: Arc<Mutex<HashMap<String, watch::Receiver<Option<Uuid>>>>>,
}

/// A request waiting for the leader of its identity.
pub(crate) struct Follow {
    answer: watch::Receiver<Option<Uuid>>,
}

impl ClaimsInFlight {
    /// Leads the ensures of `identity` if none is in flight here, follows the one that is
    /// otherwise.
    pub(crate) fn turn(&self, identity: &str) -> Turn {
        let mut leads = self.leads.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(answer) = leads.get(identity) {
            return Turn::Follow(Follow {
                answer: answer.clone(),
            });
        }
        let (answer, receiver) = watch::channel(None);
        leads.insert(identity.to_string(), receiver);
        Turn::Lead(Lead {
            identity: identity.to_string(),
            answer,
            leads: self.leads.clone(),
        })
    }

    /// How many identities are being ensured in this process right now.
    #[cfg(test)]
    fn in_flight(&self) -> usize {
        self.leads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Lead {
    /// Hands the run that answers the identity (queued or found active) to the
    /// followers; requests that come after this one lead again.
    pub(crate) fn answer(self, run_id: Uuid) {
        self.answer.send_replace(Some(run_id));
    }
}

impl Drop for Lead {
    fn drop(&mut self) {
        // The entry is this lead's: only a lead removes its entry, and a new lead is only
        // made once it is gone.
        self.leads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.identity);
    }
}

impl Follow {
    /// The leader's run, once it has answered; `None` when it ended without an answer
    /// (the follower then ensures on its own).
    pub(crate) async fn answer(mut self) -> Option<Uuid> {
        match self.answer.wait_for(Option::is_some).await {
            Ok(answer) => *answer,
            Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(turn: Turn) -> Lead {
        match turn {
            Turn::Lead(lead) => lead,
            Turn::Follow(_) => panic!("expected to lead"),
        }
    }

    fn follow(turn: Turn) -> Follow {
        match turn {
            Turn::Follow(follow) => follow,
            Turn::Lead(_) => panic!("expected to follow"),
        }
    }

    #[tokio::test]
    async fn followers_of_an_identity_get_the_run_its_leader_answers_with() {
        let claims = ClaimsInFlight::default();
        let leader = lead(claims.turn("a"));
        let first = follow(claims.turn("a"));
        let second = follow(claims.turn("a"));
        // Another identity is led on its own.
        let other = lead(claims.turn("b"));
        let run = Uuid::new_v4();
        let waiting = tokio::spawn(first.answer());
        leader.answer(run);
        assert_eq!(waiting.await.unwrap(), Some(run));
        assert_eq!(second.answer().await, Some(run));
        assert_eq!(claims.in_flight(), 1, "only b is still in flight");
        drop(other);
        assert_eq!(claims.in_flight(), 0);
    }

    #[tokio::test]
    async fn a_leader_dropped_without_an_answer_sends_its_followers_on_their_own() {
        let claims = ClaimsInFlight::default();
        let leader = lead(claims.turn("a"));
        let follower = follow(claims.turn("a"));
        drop(leader);
        assert_eq!(follower.answer().await, None);
        // The next request leads again.
        let next = lead(claims.turn("a"));
        assert_eq!(claims.in_flight(), 1);
        drop(next);
        assert_eq!(claims.in_flight(), 0);
    }

    #[tokio::test]
    async fn a_request_after_the_leader_answered_leads_a_new_ensure() {
        let claims = ClaimsInFlight::default();
        lead(claims.turn("a")).answer(Uuid::new_v4());
        assert_eq!(claims.in_flight(), 0);
        let _next = lead(claims.turn("a"));
    }
}

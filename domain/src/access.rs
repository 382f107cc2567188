//! Who may do what: the caller an API token proves, and what it may do in one workspace.
//!
//! - a **member** of a workspace sees it and acts on it (composes, publishes, captures);
//! - a **platform operator** sees every workspace (and acts where it is a member);
//! - a **service** actor may also drive run lifecycles (ensure, start, complete runs,
//!   report restores) in the workspaces it is a member of;
//! - the downstream **feed** (every event, in commit order) shows a caller the events of
//!   the workspaces it sees as a member; an operator, and a service actor holding the
//!   feed role, read all of it ([`Caller::reads_whole_feed`]).
//!
//! A workspace the caller may not see does not exist for it: interfaces answer "not
//! found", byte for byte as for an id that exists nowhere (invariant 10).

use std::collections::BTreeSet;

use serde::Serialize;
use uuid::Uuid;

use crate::actor::{ActorKind, ActorState};

/// An authenticated caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Caller {
    pub actor_id: Uuid,
    /// The token it presented.
    pub token_id: Uuid,
    /// Holds the operator role: sees every workspace.
    pub operator: bool,
    /// A service actor: drives run lifecycles in its workspaces.
    pub service: bool,
    /// Holds the feed role: reads every event of the feed (a service actor only).
    pub feed: bool,
}

impl Caller {
    /// The caller an actor's token proves, with the actor's roles as recorded now.
    pub fn of(actor: &ActorState, token_id: Uuid) -> Caller {
        Caller {
            actor_id: actor.id,
            token_id,
            operator: actor.operator,
            service: actor.kind == ActorKind::Service,
            feed: actor.feed && actor.kind == ActorKind::Service,
        }
    }

    /// Whether the caller reads the whole feed — every workspace's events and the
    /// platform's own (actors, tokens) — rather than its workspaces' events: a platform
    /// operator, or a service actor granted the feed role.
    pub fn reads_whole_feed(&self) -> bool {
        self.operator || self.feed
    }

    /// For lists scoped by membership (`RunFilter::visible_to`, `reviews list`): `None`
    /// for an operator (every workspace), else the caller's own actor id.
    pub fn visible_to(&self) -> Option<Uuid> {
        (!self.operator).then_some(self.actor_id)
    }
}

/// What a caller may do in one workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Access {
    /// May see the workspace and everything in it. When false, answer "not found".
    pub see: bool,
    /// May act on it: compose, publish and archive reviews, capture evidence.
    pub act: bool,
    /// May drive run lifecycles in it: ensure, start and complete runs, report restores.
    pub drive_runs: bool,
}

/// What `caller` may do in the workspace whose members are `members` (a workspace that
/// does not exist has none; it is then visible to an operator only as "not found",
/// which the interface answers because there is nothing to show). Runs are the
/// exception: the lifecycle records runs of workspaces the directory does not know, and
/// an operator sees every run — `see` here, without the workspace having to exist.
pub fn authorize(caller: &Caller, members: &BTreeSet<Uuid>) -> Access {
    let member = members.contains(&caller.actor_id);
    Access {
        see: member || caller.operator,
        act: member,
        drive_runs: member && caller.service,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn caller(operator: bool, service: bool) -> Caller {
        Caller {
            actor_id: Uuid::from_u128(1),
            token_id: Uuid::from_u128(2),
            operator,
            service,
            feed: false,
        }
    }

    fn members(with_caller: bool) -> BTreeSet<Uuid> {
        let mut m = BTreeSet::from([Uuid::from_u128(9)]);
        if with_caller {
            m.insert(Uuid::from_u128(1));
        }
        m
    }

    fn access(see: bool, act: bool, drive_runs: bool) -> Access {
        Access {
            see,
            act,
            drive_runs,
        }
    }

    #[test]
    fn a_member_sees_and_acts_on_its_workspace_and_nothing_else() {
        assert_eq!(
            authorize(&caller(false, false), &members(true)),
            access(true, true, false)
        );
        assert_eq!(
            authorize(&caller(false, false), &members(false)),
            access(false, false, false)
        );
    }

    #[test]
    fn an_operator_sees_every_workspace_but_acts_only_where_it_is_a_member() {
        assert_eq!(
            authorize(&caller(true, false), &members(false)),
            access(true, false, false)
        );
        assert_eq!(
            authorize(&caller(true, false), &members(true)),
            access(true, true, false)
        );
    }

    #[test]
    fn a_service_drives_runs_only_in_workspaces_it_is_a_member_of() {
        assert_eq!(
            authorize(&caller(false, true), &members(true)),
            access(true, true, true)
        );
        assert_eq!(
            authorize(&caller(false, true), &members(false)),
            access(false, false, false)
        );
        assert_eq!(
            authorize(&caller(true, true), &members(false)),
            access(true, false, false),
            "an operator service still needs membership to drive runs"
        );
    }

    #[test]
    fn a_caller_carries_the_actors_roles_and_an_operator_lists_everything() {
        let actor = ActorState {
            id: Uuid::from_u128(1),
            display_name: "CI".into(),
            kind: ActorKind::Service,
            operator: false,
            created_at: DateTime::from_timestamp(0, 0).unwrap(),
            feed: false,
        };
        let c = Caller::of(&actor, Uuid::from_u128(2));
        assert_eq!(c, caller(false, true));
        assert_eq!(c.visible_to(), Some(Uuid::from_u128(1)));
        assert_eq!(caller(true, false).visible_to(), None);
    }

    #[test]
    fn the_whole_feed_is_read_by_an_operator_and_by_a_service_holding_the_feed_role() {
        let mut actor = ActorState {
            id: Uuid::from_u128(1),
            display_name: "Relay".into(),
            kind: ActorKind::Service,
            operator: false,
            created_at: DateTime::from_timestamp(0, 0).unwrap(),
            feed: false,
        };
        assert!(!Caller::of(&actor, Uuid::from_u128(2)).reads_whole_feed());
        actor.feed = true;
        let relay = Caller::of(&actor, Uuid::from_u128(2));
        assert!(relay.reads_whole_feed());
        assert_eq!(
            relay.visible_to(),
            Some(actor.id),
            "the feed role shows events, not the workspaces"
        );
        actor.kind = ActorKind::Member;
        assert!(!Caller::of(&actor, Uuid::from_u128(2)).reads_whole_feed());
        assert!(caller(true, false).reads_whole_feed());
    }
}

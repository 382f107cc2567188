//! Environment reviews: the artifact a compose run produces, its fingerprint slot, and
//! the composer.

mod aggregate;
pub mod content;
mod slot;
mod status;

pub use aggregate::{
    DraftReview, EnvironmentReview, ReviewArchived, ReviewCommand, ReviewComposed,
    ReviewCompositionFailed, ReviewDraftTakenOver, ReviewDrafted, ReviewError, ReviewEvent,
    ReviewPublished, ReviewRedrafted, ReviewState, ReviewSuperseded,
};
pub use content::{compose, ReviewContent, COMPOSER_VERSION};
pub use slot::{
    choose, slot_key, slot_stream, standing, ClaimReviewSlot, Holder, ReviewSlot,
    ReviewSlotClaimed, ReviewSlotEvent, SlotChoice, SlotOutdated, Standing,
};
pub use status::ReviewStatus;

#[cfg(test)]
mod tests;

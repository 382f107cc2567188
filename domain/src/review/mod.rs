//! Environment reviews: the artifact a compose run produces, its fingerprint slot, and
//! the composer.

mod aggregate;
pub mod content;
mod slot;
mod status;

pub use aggregate::{
    DraftReview, EnvironmentReview, ReviewArchived, ReviewCommand, ReviewComposed,
    ReviewCompositionFailed, ReviewDrafted, ReviewError, ReviewEvent, ReviewPublished,
    ReviewRedrafted, ReviewState, ReviewSuperseded,
};
pub use content::{compose, ReviewContent, COMPOSER_VERSION};
pub use slot::{
    choose, slot_key, ClaimReviewSlot, ReviewSlot, ReviewSlotClaimed, ReviewSlotEvent, SlotChoice,
    SlotOutdated,
};
pub use status::ReviewStatus;

#[cfg(test)]
mod tests;

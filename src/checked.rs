//! What the layer checked, handed to the handler for an atomic write.

use crate::{Condition, ETag, LastModified, ResourceState};

/// Inserted into the request's extensions by [`Conditional`](crate::Conditional) before it calls
/// the inner service with any method other than GET and HEAD: the state the preconditions were
/// evaluated against, and what passed.
///
/// Checking and writing are two steps, and two clients holding the same ETag can both pass the
/// check. Make the write a compare-and-set against [`Checked::state`]: succeed only if the stored
/// version is still the one checked (still absent when it was [missing](ResourceState::Missing)),
/// and answer 412 otherwise. Then of two racing writers exactly one wins.
///
/// # Examples
///
/// In an axum handler (with `axum::Extension`):
///
/// ```
/// use tower_conditional::{Checked, ETag, ResourceState};
///
/// /// `UPDATE items SET body = $new, etag = $new_etag WHERE key = $key AND etag = $expected`
/// fn compare_and_set(stored: &mut Option<ETag>, checked: &Checked, new: ETag) -> bool {
///     if stored.as_ref() != checked.etag() {
///         return false; // someone else wrote since the check: answer 412
///     }
///     *stored = Some(new);
///     true
/// }
/// # let mut stored = Some(ETag::from_static("\"1\""));
/// # let checked = Checked::new(ResourceState::Present(
/// #     tower_conditional::Validators::new().with_etag(ETag::from_static("\"1\"")),
/// # ));
/// # assert!(compare_and_set(&mut stored, &checked, ETag::from_static("\"2\"")));
/// # assert!(!compare_and_set(&mut stored, &checked, ETag::from_static("\"3\"")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    state: ResourceState,
    passed: Option<Condition>,
    etag_matched: bool,
}

impl Checked {
    /// What the layer knows of a request that passed no precondition, against `state`.
    pub fn new(state: ResourceState) -> Self {
        Checked {
            state,
            passed: None,
            etag_matched: false,
        }
    }

    pub(crate) fn with_outcome(mut self, passed: Option<Condition>, etag_matched: bool) -> Self {
        self.passed = passed;
        self.etag_matched = etag_matched;
        self
    }

    /// The state the preconditions were evaluated against: the source's answer.
    pub fn state(&self) -> &ResourceState {
        &self.state
    }

    /// The entity tag that was current at the check, if any.
    pub fn etag(&self) -> Option<&ETag> {
        self.state.etag()
    }

    /// The modification date that was current at the check, if any.
    pub fn last_modified(&self) -> Option<LastModified> {
        self.state.last_modified()
    }

    /// The first precondition that was evaluated and found true; `None` for an unconditional
    /// request (or one whose preconditions were ignored).
    pub fn passed(&self) -> Option<Condition> {
        self.passed
    }

    /// The `If-Match` entity tag that matched: by strong comparison it is the current tag.
    /// `None` for `If-Match: *` or when there was no `If-Match`.
    pub fn matched_etag(&self) -> Option<&ETag> {
        if self.etag_matched {
            self.state.etag()
        } else {
            None
        }
    }
}

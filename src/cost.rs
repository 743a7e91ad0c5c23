//! A count of the request data the crate walks, so that its own unit tests can show a cost to
//! be linear without timing anything (issue 18): one unit per list member of `If-Match` /
//! `If-None-Match` read, and one per `Accept-Encoding` member read. Outside the crate's unit
//! tests (`cfg(test)`) [`visit`] is empty and nothing is counted.

#[cfg(test)]
use std::cell::Cell;

#[cfg(test)]
thread_local! {
    static VISITED: Cell<u64> = const { Cell::new(0) };
}

/// One unit of work on request data (nothing at all outside the crate's unit tests).
#[inline(always)]
pub(crate) fn visit() {
    #[cfg(test)]
    VISITED.with(|visited| visited.set(visited.get() + 1));
}

/// The units of work `f` does on this thread.
#[cfg(test)]
pub(crate) fn visits_in(f: impl FnOnce()) -> u64 {
    let before = VISITED.with(Cell::get);
    f();
    VISITED.with(Cell::get) - before
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_what_runs_inside() {
        visit();
        assert_eq!(visits_in(|| (0..3).for_each(|_| visit())), 3);
        assert_eq!(visits_in(|| {}), 0);
    }
}

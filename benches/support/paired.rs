//! Ratios measured in pairs, shared by the benches that print one for a guard (each includes
//! this file with `#[path]`). On a shared machine whose speed drifts between criterion's
//! groups, a batch of each side timed back to back sees one machine.

use std::time::Duration;

/// `pairs` ratios of `measured`'s time over `baseline`'s, each pair timed back to back, which
/// goes first alternating; sorted. Inlined so that the timed closures are compiled as if
/// written in the bench: called out of line, the evaluate bench's 100-member list read 2.3x
/// where the same loop written in place reads 3.1x (codegen, not the code measured).
#[inline(always)]
pub(crate) fn ratios(
    pairs: usize,
    mut baseline: impl FnMut() -> Duration,
    mut measured: impl FnMut() -> Duration,
) -> Vec<f64> {
    let mut ratios: Vec<f64> = (0..pairs)
        .map(|pair| {
            let (base, timed) = if pair % 2 == 0 {
                let base = baseline();
                (base, measured())
            } else {
                let timed = measured();
                (baseline(), timed)
            };
            timed.as_secs_f64() / base.as_secs_f64()
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios
}

/// The `q` quantile (0 to 1) of `sorted`.
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

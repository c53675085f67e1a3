//! What-if questions answered by re-running a scenario with one thing changed: how few deputies
//! keep the wards on time, and what happens when every director is away for a while.

use super::error::{SimError, invalid};
use super::{SimOptions, SimResult, run};
use crate::scenario::{Scenario, SignerTemplate};

/// Runs `scenario` with 0, 1, 2... up to `max_deputies` deputies in every ward and returns each
/// count's result, stopping at the first count whose on-time rate reaches `target_on_time`.
///
/// Each ward keeps its director; its deputies are clones of its first deputy (else the
/// scenario's first deputy, else a deputy signing at the director's pace) named `deputy-1`...
/// `deputy-n`, each delegated the union of the scenario's deputy scopes (every procedure if the
/// scenario has no deputy).
pub fn fewest_deputies(
    scenario: &Scenario,
    target_on_time: f64,
    max_deputies: usize,
    options: &SimOptions,
) -> Result<Vec<(usize, SimResult)>, SimError> {
    if target_on_time.is_nan() {
        return Err(invalid("target_on_time", "must be a rate between 0 and 1"));
    }
    let deputies = || {
        scenario
            .wards
            .iter()
            .flat_map(|w| &w.signers)
            .filter(|s| s.role == "deputy")
    };
    let mut scope: Vec<String> = Vec::new();
    for code in deputies().flat_map(|s| &s.procedures) {
        if !scope.contains(code) {
            scope.push(code.clone());
        }
    }
    if scope.is_empty() {
        scope.push("*".to_owned());
    }
    let fallback = deputies().next();
    let mut out = Vec::new();
    for n in 0..=max_deputies {
        let mut variant = scenario.clone();
        for ward in &mut variant.wards {
            let Some(director) = ward.signers.iter().find(|s| s.role == "director").cloned() else {
                continue;
            };
            let base = ward
                .signers
                .iter()
                .find(|s| s.role == "deputy")
                .or(fallback)
                .cloned()
                .unwrap_or_else(|| SignerTemplate {
                    away: Vec::new(),
                    ..director.clone()
                });
            let clones = (1..=n).map(|k| SignerTemplate {
                id: format!("deputy-{k}"),
                role: "deputy".to_owned(),
                procedures: scope.clone(),
                ..base.clone()
            });
            ward.signers = std::iter::once(director).chain(clones).collect();
        }
        let result = run(&variant, options)?;
        let reached = result.on_time_rate() >= target_on_time;
        out.push((n, result));
        if reached {
            break;
        }
    }
    Ok(out)
}

/// Runs `scenario` with every director also away from `from_secs` to `to_secs` (seconds from
/// the start; on top of their own away periods).
pub fn director_away(
    scenario: &Scenario,
    from_secs: f64,
    to_secs: f64,
    options: &SimOptions,
) -> Result<SimResult, SimError> {
    if !(from_secs.is_finite() && to_secs.is_finite() && from_secs < to_secs) {
        return Err(invalid("away", "the period must end after it starts"));
    }
    let mut variant = scenario.clone();
    for signer in variant
        .wards
        .iter_mut()
        .flat_map(|w| &mut w.signers)
        .filter(|s| s.role == "director")
    {
        signer.away.push((from_secs, to_secs));
    }
    run(&variant, options)
}

//! Which facilities owe a duty, from the catalogue (`applies_to` of the measure that carries it,
//! `Duty::measure`), and the CERT Santé resolution duty (D.1111-16-3).

use crate::Result;
use crate::clock;
use crate::duty::Duty;
use crate::facts::Facts;
use crate::obligations::{DueKind, Req};
use hygie_core::{Catalog, Localized, MeasureId};
use std::sync::LazyLock;

// The bundled catalogue, linted by its own crate's tests; should it fail to load, no duty is
// filtered out by kind (the safe side: a duty shown that a facility may not owe).
static CATALOG: LazyLock<Option<Catalog>> = LazyLock::new(|| hygie_catalog::bundled().ok());

/// A required duty becomes not required when the catalogue's measure does not apply to the
/// facility's kind.
pub(crate) fn for_kind(duty: Duty, facts: &Facts, req: Req) -> Req {
    let (Some(kind), Some(catalog)) = (facts.facility_kind, CATALOG.as_ref()) else {
        return req;
    };
    let Some(m) = MeasureId::parse(duty.measure())
        .ok()
        .and_then(|id| catalog.measure(&id))
    else {
        return req;
    };
    if m.applies_to.contains(&kind) || !req.is_required() {
        return req;
    }
    let label = kind.label();
    Req::not_required(
        Localized::new(
            format!(
                "the catalogue's {} does not apply to this kind of facility ({})",
                duty.measure(),
                label.en
            ),
            format!(
                "la mesure {} du catalogue ne s'applique pas à ce type d'établissement ({})",
                duty.measure(),
                label.fr
            ),
        ),
        req.due_kind(),
    )
}

/// CERT Santé informed of the resolution (D.1111-16-3): owed when the incident was reportable,
/// due "sans délai" after the end of handling (the CERT Santé internal target).
pub(crate) fn resolution(facts: &Facts) -> Result<Req> {
    if !facts.is_significant_or_serious() {
        return Ok(Req::not_required(
            Localized::new(
                "not significant or serious: no report, so no resolution to report",
                "ni significatif ni grave : pas de signalement, donc pas de résolution à signaler",
            ),
            DueKind::InternalTarget,
        ));
    }
    let target = |lang| clock::human_in(facts.targets.cert_sante, lang);
    Ok(match &facts.resolved_at {
        Some(r) => Req::required(
            Localized::new(
                format!(
                    "incident resolved: inform CERT Santé \"sans délai\"; due time is the internal target ({})",
                    target(hygie_core::Lang::En)
                ),
                format!(
                    "incident résolu : informer le CERT Santé « sans délai » ; échéance à l'objectif interne ({})",
                    target(hygie_core::Lang::Fr)
                ),
            ),
            r,
            clock::add_duration(r, facts.targets.cert_sante)?,
            DueKind::InternalTarget,
        ),
        None => Req::pending(
            Localized::new(
                "reportable incident: inform CERT Santé of its resolution when handling ends (not yet resolved)",
                "incident à signaler : informer le CERT Santé de sa résolution à la fin du traitement (pas encore résolu)",
            ),
            DueKind::InternalTarget,
        ),
    })
}

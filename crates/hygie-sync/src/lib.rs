//! Federation packages: what a facility's own Hygie reports to its regional agency (ARS).
//!
//! A facility runs Hygie inside its network; the region cannot reach it. The facility exports a
//! **package**: the facts the region needs to compute the facility's status with the same plan
//! code (the facility record, every declaration with its date, the rule results of its check
//! runs with object counts and no object names), evidence metadata (never content) and its
//! incident obligations (duty, due, sent, late; no personal data). Each package is a full
//! snapshot, numbered (`sequence`), chained to the previous one (`previous_hash`) and naming the
//! facility journal's head, so the region sees gaps, replays and rollbacks.
//!
//! The file is a gzip stream of one JSON envelope (`docs/sync-package.schema.json`):
//! `{format, version, public_key, signature, package}`. The signature (Ed25519) and the
//! package's hash (SHA-256) cover `"hygie-sync-package/1\n"` followed by the package object's
//! canonical JSON: keys sorted, no whitespace, integers only ([`canonical_json`]), so another
//! tool can verify a package from its JSON alone.
//!
//! Modules: `identity` (the instance's signing key, public keys, fingerprints), `package` (the
//! content and its validation into domain types), `seal` (canonical bytes, signing, opening a
//! file), `admit` (the region's decisions: is the key enrolled for this FINESS, does the
//! sequence follow), `outbox` (the facility's side of a push: what to send next, what the answer
//! means). Everything is pure: callers read and write files and the store.
//!
//! The region's decisions ([`authorise`]: key enrolled, not revoked, for this FINESS; [`admit`]:
//! next in sequence; the last one again is "already imported"; replay, rollback, gap and fork
//! refused) each end in a [`Refusal`] with a stable code and a reason in English and French.
//! Nothing is stored unless every check passed: the store's `sync` module takes the decisions
//! inside the import's transaction; the CLI's `identity`, `sync` and `region enrol|revoke|keys`
//! read and write the files.
//!
//! Requests flow the other way (`request`): the region's campaigns, expanded into one request
//! per facility, travel down in a requests file signed by the region instance's own key, which
//! the facility trusts explicitly; the answer is the next package's facts, read by
//! [`answer_state`]. The agency may close a campaign, withdraw it or chase the facilities that
//! have not answered; each travels down in the same file, in fields an open request omits
//! ([`request_state`]).
//!
//! To add a kind of fact: a field in [`Facts`] (and the schema), its check, its store table; a
//! new format: [`VERSION`] and a reader for the old one.

mod admit;
mod identity;
mod outbox;
mod package;
mod refusal;
mod request;
mod rotation;
mod seal;

pub use admit::{Admission, Enrolment, Imported, admit, authorise};
pub use identity::{Identity, PublicKey};
pub use outbox::{LastExport, PushAnswer, PushStep, next_push};
pub use package::{
    Checked, DeclarationRecord, EvidenceRecord, FacilityRecord, Facts, JournalHead,
    ObligationRecord, Package, RuleSummary, RunSummary, new_declarations,
};
pub use refusal::Refusal;
pub use request::{
    AnswerState, CampaignEnd, CampaignInput, MAX_REQUESTS_FILE, MeasureFacts, OpenedRequests,
    REQUESTS_FORMAT, REQUESTS_VERSION, Request, RequestBundle, RequestRecord, Target, answer_state,
    awaits_answer, days_left, open_requests, request_state, seal_requests,
};
pub use rotation::Rotation;
pub use seal::{
    FORMAT, MAX_UNPACKED, Opened, Sealed, VERSION, canonical_json, open, receive, seal,
};

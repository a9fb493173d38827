//! The MFA collector as `hygie audit collect mfa` runs it: accounts that need MFA
//! (`==> required.csv <==`, the default), group memberships (`==> groups.csv <==` or an AD
//! export `groups.ldif`) and IdP exports (`==> idp….csv <==`), with the default privileged
//! groups and fixed remote, patient-record and MFA groups; then its rules.
#![no_main]

use hygie_collect::mfa::{DEFAULT_PRIVILEGED_GROUPS, Mfa, MfaInputs};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let files = hygie_fuzz::split(data, "required.csv");
    let groups = hygie_fuzz::named(&files, "groups").pop();
    let inputs = MfaInputs {
        required_csv: hygie_fuzz::named(&files, "required").pop(),
        mfa_groups: if groups.is_some() {
            vec!["MFA-Enrolled".into()]
        } else {
            vec![]
        },
        groups_csv: groups,
        privileged_groups: DEFAULT_PRIVILEGED_GROUPS
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        remote_groups: vec!["VPN-Users".into()],
        patient_record_groups: vec!["DPI-Users".into()],
        idp_csv: hygie_fuzz::named(&files, "idp"),
        min_coverage: 100.0,
    };
    let memory = hygie_fuzz::in_memory(&files);
    hygie_fuzz::report(hygie_collect::run_from(
        &Mfa,
        &inputs,
        &memory,
        hygie_fuzz::now(),
    ));
});

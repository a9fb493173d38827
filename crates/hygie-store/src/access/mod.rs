//! Who may do what: web users with their roles and bindings, sessions, API tokens, the first-run
//! bootstrap token (`users`, `sessions`, `tokens`), passkeys and their ceremonies (`passkeys`), the lifecycle of accounts (`lifecycle`), and
//! the `Scoped` view every web read and write goes through.

pub(crate) mod ceremonies;
pub(crate) mod external;
pub(crate) mod lifecycle;
pub(crate) mod passkeys;
pub(crate) mod scoped;
mod scoped_incidents;
mod scoped_requests;
pub(crate) mod sessions;
pub(crate) mod tokens;
pub(crate) mod users;

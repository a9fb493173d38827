//! Lookups derived from a snapshot: objects by DN and SID, and nested group membership resolved
//! by our own closure over `member` (with loop protection) plus `primaryGroupID`.

use crate::model::{Account, AdSnapshot, Group};
use crate::sid::Sid;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Builtin RIDs (S-1-5-32-x) of administrative groups.
pub const ADMIN_BUILTIN_RIDS: &[u32] = &[544, 548, 549, 550, 551];
/// Domain RIDs of administrative groups: Domain/Schema/Enterprise Admins, (Enterprise) Key Admins.
pub const ADMIN_DOMAIN_RIDS: &[u32] = &[512, 518, 519, 526, 527];
pub const RID_PROTECTED_USERS: u32 = 525;
pub const RID_DOMAIN_USERS: u32 = 513;
pub const RID_DOMAIN_COMPUTERS: u32 = 515;

/// The result of expanding a group: accounts (indexes into `snapshot.accounts`) and principals
/// that are not objects of this domain (well-known SIDs, foreign principals), plus nested groups.
#[derive(Debug, Default, Clone)]
pub struct Expansion {
    pub accounts: BTreeSet<usize>,
    pub foreign: BTreeSet<Sid>,
    pub groups: BTreeSet<usize>,
}

pub struct Index<'a> {
    pub snap: &'a AdSnapshot,
    account_by_dn: HashMap<String, usize>,
    group_by_dn: HashMap<String, usize>,
    group_by_sid: HashMap<Sid, usize>,
    account_by_sid: HashMap<Sid, usize>,
    primary_members: HashMap<u32, Vec<usize>>,
    /// Account index → names of the administrative groups it belongs to (recursively).
    pub privileged: BTreeMap<usize, BTreeSet<String>>,
    /// Principals in administrative groups that are not accounts of this domain.
    pub privileged_foreign: BTreeMap<Sid, BTreeSet<String>>,
    pub protected_users: BTreeSet<usize>,
    /// Groups that are (recursively) administrative, including the roots.
    pub privileged_groups: BTreeSet<usize>,
    /// Groups found on a membership loop.
    pub loops: BTreeSet<usize>,
}

/// SID encoded in a foreign security principal's DN: `CN=S-1-5-11,CN=ForeignSecurityPrincipals,...`.
pub fn fsp_sid(dn: &str) -> Option<Sid> {
    let first = dn.split(',').next()?;
    let (k, v) = first.split_once('=')?;
    if !k.trim().eq_ignore_ascii_case("cn") {
        return None;
    }
    Sid::parse(v)
}

impl<'a> Index<'a> {
    pub fn new(snap: &'a AdSnapshot) -> Self {
        let mut idx = Index {
            snap,
            account_by_dn: HashMap::new(),
            group_by_dn: HashMap::new(),
            group_by_sid: HashMap::new(),
            account_by_sid: HashMap::new(),
            primary_members: HashMap::new(),
            privileged: BTreeMap::new(),
            privileged_foreign: BTreeMap::new(),
            protected_users: BTreeSet::new(),
            privileged_groups: BTreeSet::new(),
            loops: BTreeSet::new(),
        };
        for (i, a) in snap.accounts.iter().enumerate() {
            idx.account_by_dn.insert(a.dn.to_ascii_lowercase(), i);
            if let Some(s) = &a.sid {
                idx.account_by_sid.insert(s.clone(), i);
            }
            if let Some(p) = a.primary_group_id {
                idx.primary_members.entry(p).or_default().push(i);
            }
        }
        for (i, g) in snap.groups.iter().enumerate() {
            idx.group_by_dn.insert(g.dn.to_ascii_lowercase(), i);
            if let Some(s) = &g.sid {
                idx.group_by_sid.insert(s.clone(), i);
            }
        }
        for gi in idx.admin_groups() {
            let name = snap.groups[gi].name.clone();
            let exp = idx.expand(gi);
            for a in exp.accounts {
                idx.privileged.entry(a).or_default().insert(name.clone());
            }
            for f in exp.foreign {
                idx.privileged_foreign
                    .entry(f)
                    .or_default()
                    .insert(name.clone());
            }
            idx.privileged_groups.insert(gi);
            idx.privileged_groups.extend(exp.groups);
        }
        if let Some(pu) = idx.domain_group(RID_PROTECTED_USERS) {
            idx.protected_users = idx.expand(pu).accounts;
        }
        let all: Vec<usize> = (0..snap.groups.len()).collect();
        for gi in all {
            if idx.on_loop(gi) {
                idx.loops.insert(gi);
            }
        }
        idx
    }

    pub fn domain_sid(&self) -> Option<&Sid> {
        self.snap.domain.sid.as_ref()
    }

    pub fn domain_group(&self, rid: u32) -> Option<usize> {
        let s = self.domain_sid()?.child(rid);
        self.group_by_sid.get(&s).copied()
    }

    pub fn builtin_group(&self, rid: u32) -> Option<usize> {
        self.group_by_sid.get(&Sid::builtin(rid)).copied()
    }

    pub fn group_by_name(&self, name: &str) -> Option<usize> {
        self.snap
            .groups
            .iter()
            .position(|g| g.name.eq_ignore_ascii_case(name))
    }

    pub fn admin_groups(&self) -> Vec<usize> {
        let mut v: Vec<usize> = ADMIN_BUILTIN_RIDS
            .iter()
            .filter_map(|r| self.builtin_group(*r))
            .collect();
        v.extend(
            ADMIN_DOMAIN_RIDS
                .iter()
                .filter_map(|r| self.domain_group(*r)),
        );
        v
    }

    pub fn account_by_dn(&self, dn: &str) -> Option<usize> {
        self.account_by_dn.get(&dn.to_ascii_lowercase()).copied()
    }

    pub fn account_by_sid(&self, sid: &Sid) -> Option<&Account> {
        self.account_by_sid
            .get(sid)
            .map(|i| &self.snap.accounts[*i])
    }

    pub fn group_by_sid(&self, sid: &Sid) -> Option<&Group> {
        self.group_by_sid.get(sid).map(|i| &self.snap.groups[*i])
    }

    /// A readable name for a SID: account or group name, else the SID text.
    pub fn sid_name(&self, sid: &Sid) -> String {
        if let Some(a) = self.account_by_sid(sid) {
            return a.name.clone();
        }
        if let Some(g) = self.group_by_sid(sid) {
            return g.name.clone();
        }
        sid.to_string()
    }

    /// Recursive members of group `gi` (member attribute and primary group), loop-safe.
    pub fn expand(&self, gi: usize) -> Expansion {
        let mut out = Expansion::default();
        let mut stack = vec![gi];
        let mut seen = BTreeSet::from([gi]);
        while let Some(g) = stack.pop() {
            let group = &self.snap.groups[g];
            if let Some(rid) = group
                .sid
                .as_ref()
                .filter(|s| Some(&s.parent().unwrap_or_default_sid()) == self.domain_sid())
                .and_then(Sid::rid)
                && let Some(v) = self.primary_members.get(&rid)
            {
                out.accounts.extend(v.iter().copied());
            }
            for m in &group.members {
                let key = m.to_ascii_lowercase();
                if let Some(a) = self.account_by_dn.get(&key) {
                    out.accounts.insert(*a);
                } else if let Some(sub) = self.group_by_dn.get(&key) {
                    out.groups.insert(*sub);
                    if seen.insert(*sub) {
                        stack.push(*sub);
                    }
                } else if let Some(s) = fsp_sid(m) {
                    match self.group_by_sid.get(&s) {
                        Some(sub) => {
                            out.groups.insert(*sub);
                            if seen.insert(*sub) {
                                stack.push(*sub);
                            }
                        }
                        None => {
                            out.foreign.insert(s);
                        }
                    }
                }
            }
        }
        out
    }

    /// Direct members of a group as SIDs where they can be resolved (FSP DNs and known objects).
    pub fn direct_member_sids(&self, gi: usize) -> Vec<(String, Option<Sid>)> {
        self.snap.groups[gi]
            .members
            .iter()
            .map(|m| {
                let key = m.to_ascii_lowercase();
                let sid = if let Some(a) = self.account_by_dn.get(&key) {
                    self.snap.accounts[*a].sid.clone()
                } else if let Some(g) = self.group_by_dn.get(&key) {
                    self.snap.groups[*g].sid.clone()
                } else {
                    fsp_sid(m)
                };
                let name = match &sid {
                    Some(s) => self.sid_name(s),
                    None => m.clone(),
                };
                (name, sid)
            })
            .collect()
    }

    fn on_loop(&self, gi: usize) -> bool {
        let mut stack: Vec<usize> = self.child_groups(gi);
        let mut seen = BTreeSet::new();
        while let Some(g) = stack.pop() {
            if g == gi {
                return true;
            }
            if seen.insert(g) {
                stack.extend(self.child_groups(g));
            }
        }
        false
    }

    fn child_groups(&self, gi: usize) -> Vec<usize> {
        self.snap.groups[gi]
            .members
            .iter()
            .filter_map(|m| self.group_by_dn.get(&m.to_ascii_lowercase()).copied())
            .collect()
    }

    pub fn is_privileged(&self, ai: usize) -> bool {
        self.privileged.contains_key(&ai)
    }

    /// Privileged accounts that are users or managed service accounts (not computers).
    pub fn privileged_people(&self) -> impl Iterator<Item = (usize, &'a Account)> + '_ {
        self.privileged
            .keys()
            .map(|i| (*i, &self.snap.accounts[*i]))
            .filter(|(_, a)| a.kind != crate::model::AccountKind::Computer)
    }
}

trait OrDefaultSid {
    fn unwrap_or_default_sid(self) -> Sid;
}
impl OrDefaultSid for Option<Sid> {
    fn unwrap_or_default_sid(self) -> Sid {
        self.unwrap_or(Sid {
            authority: 0,
            subs: Vec::new(),
        })
    }
}

#!/usr/bin/env bash
# Offline export of what `hygie audit ad --ldif FILE` reads, with OpenLDAP's ldapsearch, for
# air-gapped sites: run it where the DC is reachable, carry the file, audit it elsewhere.
#   scripts/ad-ldif-export.sh ldaps://dc1.example.org BIND_DN PASSWORD_FILE [BASE_DN] > domain.ldif
# TLS: set LDAPTLS_CACERT=/path/ca.pem (ldapsearch's own variable) to trust the DC's CA.
# The searches mirror crates/hygie-ad/src/collect.rs. Values of userPassword/unixUserPassword are
# replaced by "present" before anything is written: no secret reaches the file.
set -euo pipefail
url=${1:?usage: $0 URL BIND_DN PASSWORD_FILE [BASE_DN]}
bind=${2:?bind DN}
pwfile=${3:?password file}
q() { ldapsearch -LLL -o ldif-wrap=no -x -H "$url" -D "$bind" -y "$pwfile" "$@"; }
root=$(q -s base -b "" defaultNamingContext configurationNamingContext schemaNamingContext)
get() { printf '%s\n' "$root" | sed -n "s/^$1: //p" | head -1; }
base=${4:-$(get defaultNamingContext)}
config=$(get configurationNamingContext)
schema=$(get schemaNamingContext)
main_attrs=(objectClass objectSid sAMAccountName cn userAccountControl primaryGroupID pwdLastSet
  lastLogonTimestamp whenCreated servicePrincipalName msDS-SupportedEncryptionTypes
  msDS-AllowedToDelegateTo msDS-AllowedToActOnBehalfOfOtherIdentity sIDHistory adminCount mail
  operatingSystem operatingSystemVersion msLAPS-PasswordExpirationTime ms-Mcs-AdmPwdExpirationTime
  member minPwdLength pwdProperties pwdHistoryLength maxPwdAge lockoutThreshold
  ms-DS-MachineAccountQuota msDS-Behavior-Version msDS-ExpirePasswordsOnSmartCardOnlyAccounts
  msDS-PasswordSettingsPrecedence msDS-MinimumPasswordLength msDS-MaximumPasswordAge
  msDS-PasswordComplexityEnabled msDS-PasswordReversibleEncryptionEnabled msDS-PasswordHistoryLength
  msDS-LockoutThreshold msDS-PSOAppliesTo)
q -E pr=1000/noprompt -b "$base" \
  '(|(objectClass=user)(objectClass=group)(objectClass=msDS-PasswordSettings)(objectClass=domainDNS))' "${main_attrs[@]}"
echo
q -E pr=1000/noprompt -b "$base" '(&(objectClass=user)(|(userPassword=*)(unixUserPassword=*)))' userPassword unixUserPassword \
  | sed -E 's/^(userPassword|unixUserPassword)::? .*$/\1: present/I'
echo
# Security descriptors (owner + DACL: SD flags control value 5) of the domain root, AdminSDHolder
# and the groups (the auditor keeps those of the administrative groups).
q -E pr=1000/noprompt -E '!1.2.840.113556.1.4.801=::MAMCAQU=' -b "$base" \
  '(|(objectClass=domainDNS)(&(objectClass=container)(cn=AdminSDHolder))(objectClass=group))' nTSecurityDescriptor
echo
q -s base -b "CN=Partitions,$config" objectClass msDS-Behavior-Version msDS-EnabledFeature || [ $? -eq 32 ]
echo
q -s base -b "CN=Directory Service,CN=Windows NT,CN=Services,$config" objectClass dSHeuristics || [ $? -eq 32 ]
echo
q -s one -b "$schema" \
  '(|(lDAPDisplayName=ms-Mcs-AdmPwd)(lDAPDisplayName=ms-Mcs-AdmPwdExpirationTime)(lDAPDisplayName=msLAPS-Password)(lDAPDisplayName=msLAPS-PasswordExpirationTime))' \
  objectClass lDAPDisplayName

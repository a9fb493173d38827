#!/usr/bin/env python3
"""Write the LDIF seeds of the `ad_ldif` fuzz target (and the snapshot `ad_config` audits):
exports as `scripts/ad-ldif-export.sh` writes them, with binary SIDs and a security descriptor
in base64, which mutations alone would hardly build.

    python3 fuzz/seeds/ldif.py fuzz/corpus/ad_ldif
"""
import base64
import struct
import sys
from pathlib import Path

DOMAIN = "S-1-5-21-7-8-9"
BASE = "DC=chu,DC=test"


def sid_bytes(s):
    parts = s.split("-")
    subs = [int(x) for x in parts[3:]]
    return bytes([1, len(subs)]) + int(parts[2]).to_bytes(6, "big") + b"".join(
        struct.pack("<I", x) for x in subs
    )


def b64(b):
    return base64.b64encode(b).decode()


def guid(text):
    raw = bytes.fromhex(text.replace("-", ""))
    return raw[3::-1] + raw[5:3:-1] + raw[7:5:-1] + raw[8:]


def ace_object(mask, object_guid, sid):
    body = struct.pack("<II", mask, 1) + guid(object_guid) + sid_bytes(sid)
    return struct.pack("<BBH", 5, 0, 4 + len(body)) + body


def ace(mask, sid, flags=0):
    body = struct.pack("<I", mask) + sid_bytes(sid)
    return struct.pack("<BBH", 0, flags, 4 + len(body)) + body


def security_descriptor(owner, aces):
    acl_body = b"".join(aces)
    acl = struct.pack("<BBHHH", 4, 0, 8 + len(acl_body), len(aces), 0) + acl_body
    owner_b = sid_bytes(owner)
    header_len = 20
    return (
        struct.pack("<BBHIIII", 1, 0, 0x8004, header_len, 0, 0, header_len + len(owner_b))
        + owner_b
        + acl
    )


def entry(dn, classes, attrs):
    out = [f"dn: {dn}"] + [f"objectClass: {c}" for c in classes]
    for k, v in attrs:
        if isinstance(v, bytes):
            out.append(f"{k}:: {b64(v)}")
        else:
            out.append(f"{k}: {v}")
    return "\n".join(out) + "\n"


def domain(extra=()):
    return entry(
        BASE,
        ["top", "domain", "domainDNS"],
        [
            ("objectSid", sid_bytes(DOMAIN)),
            ("minPwdLength", "14"),
            ("pwdProperties", "1"),
            ("pwdHistoryLength", "24"),
            ("maxPwdAge", "-77760000000000"),
            ("lockoutThreshold", "5"),
            ("ms-DS-MachineAccountQuota", "0"),
            ("msDS-Behavior-Version", "7"),
            *extra,
        ],
    )


def user(name, rid, uac=512, extra=()):
    return entry(
        f"CN={name},CN=Users,{BASE}",
        ["top", "person", "organizationalPerson", "user"],
        [
            ("sAMAccountName", name),
            ("objectSid", sid_bytes(f"{DOMAIN}-{rid}")),
            ("userAccountControl", str(uac)),
            ("primaryGroupID", "513"),
            ("whenCreated", "20251101000000.0Z"),
            ("pwdLastSet", "134070000000000000"),
            ("lastLogonTimestamp", "134170000000000000"),
            *extra,
        ],
    )


def small():
    return "version: 1\n\n" + "\n".join(
        [domain(), user("alice", 1105, 512 | 0x80), user("bob", 1106)]
    )


def rich():
    replication = "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2"
    sd = security_descriptor(
        f"{DOMAIN}-512",
        [
            ace_object(0x100, replication, f"{DOMAIN}-1107"),
            ace(0x10000000, f"{DOMAIN}-1108"),
            ace(0x20, "S-1-1-0", flags=0x08),
        ],
    )
    entries = [
        domain([("nTSecurityDescriptor", sd), ("msDS-EnabledFeature", f"CN=Recycle Bin Feature,CN=Optional Features,{BASE}")]),
        user("Administrator", 500, 0x10200, [("adminCount", "1"), ("mail", "admin@chu.test")]),
        user("krbtgt", 502, 0x202),
        user("svc-sql", 1107, 0x10200, [("servicePrincipalName", "MSSQLSvc/sql01.chu.test:1433"), ("msDS-SupportedEncryptionTypes", "4")]),
        user("olduser", 1108, 0x400200, [("sIDHistory", sid_bytes("S-1-5-21-1-1-1-512")), ("msDS-AllowedToDelegateTo", "cifs/fs01.chu.test")]),
        entry(
            f"CN=WS01,CN=Computers,{BASE}",
            ["top", "computer"],
            [
                ("sAMAccountName", "WS01$"),
                ("objectSid", sid_bytes(f"{DOMAIN}-1200")),
                ("userAccountControl", str(0x1000 | 0x80000)),
                ("primaryGroupID", "515"),
                ("operatingSystem", "Windows 7 Professional"),
                ("operatingSystemVersion", "6.1 (7601)"),
                ("ms-Mcs-AdmPwdExpirationTime", "134200000000000000"),
                ("msDS-AllowedToActOnBehalfOfOtherIdentity", sd),
            ],
        ),
        entry(
            f"CN=DC01,OU=Domain Controllers,{BASE}",
            ["top", "computer"],
            [
                ("sAMAccountName", "DC01$"),
                ("objectSid", sid_bytes(f"{DOMAIN}-1000")),
                ("userAccountControl", str(0x2000 | 0x80000)),
                ("primaryGroupID", "516"),
                ("operatingSystem", "Windows Server 2016 Standard"),
            ],
        ),
        entry(
            f"CN=Domain Admins,CN=Users,{BASE}",
            ["top", "group"],
            [
                ("sAMAccountName", "Domain Admins"),
                ("objectSid", sid_bytes(f"{DOMAIN}-512")),
                ("member", f"CN=Administrator,CN=Users,{BASE}"),
                ("member", f"CN=svc-sql,CN=Users,{BASE}"),
                ("member", f"CN=Helpdesk,CN=Users,{BASE}"),
            ],
        ),
        entry(
            f"CN=Helpdesk,CN=Users,{BASE}",
            ["top", "group"],
            [
                ("sAMAccountName", "Helpdesk"),
                ("objectSid", sid_bytes(f"{DOMAIN}-1300")),
                ("member", f"CN=olduser,CN=Users,{BASE}"),
                ("member", f"CN=Domain Admins,CN=Users,{BASE}"),
            ],
        ),
        entry(
            f"CN=PSO-Admins,CN=Password Settings Container,CN=System,{BASE}",
            ["top", "msDS-PasswordSettings"],
            [
                ("msDS-PasswordSettingsPrecedence", "10"),
                ("msDS-MinimumPasswordLength", "16"),
                ("msDS-PasswordHistoryLength", "24"),
                ("msDS-PasswordComplexityEnabled", "TRUE"),
                ("msDS-PasswordReversibleEncryptionEnabled", "FALSE"),
                ("msDS-LockoutThreshold", "5"),
                ("msDS-MaximumPasswordAge", "-864000000000"),
                ("msDS-PSOAppliesTo", f"CN=Domain Admins,CN=Users,{BASE}"),
            ],
        ),
        entry(
            f"CN=Directory Service,CN=Windows NT,CN=Services,CN=Configuration,{BASE}",
            ["top", "nTDSService"],
            [("dSHeuristics", "00000001")],
        ),
    ]
    return "version: 1\n\n" + "\n".join(entries) + "\n# search result\nsearch: 2\nresult: 0 Success\n"


def edge():
    # Folded lines, a base64 DN, comments, an empty value, and a refused search result.
    return (
        "# exported by ldapsearch\n"
        f"dn:: {b64(BASE.encode())}\n"
        "objectClass: domainDNS\n"
        f"objectSid:: {b64(sid_bytes(DOMAIN))}\n"
        "minPwdLength: 7\n"
        "\n"
        f"dn: CN=very long\n name,CN=Users,{BASE}\n"
        "objectClass: user\n"
        "sAMAccountName: very\n  long\n"
        "description:\n"
        f"objectSid:: {b64(sid_bytes(DOMAIN + '-2000'))}\n"
        "userAccountControl: 66048\n"
        "\n"
        "search: 3\n"
        "result: 4 Size limit exceeded\n"
    )


def main(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in [("small.ldif", small()), ("rich.ldif", rich()), ("edge.ldif", edge())]:
        (out / name).write_text(text)
    (out / "rich-with-config.ldif").write_text(
        rich()
        + "==> config.toml <==\n"
        + "disabled_rules = [\"PWD-01\"]\n[thresholds]\ninactive_days = 90\nkrbtgt_max_age_days = 4294967295\n"
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus/ad_ldif")

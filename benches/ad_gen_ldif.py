#!/usr/bin/env python3
"""Generate a bulk LDIF for the AD audit benchmark: N users, M computers, G groups under one OU.

   benches/ad_gen_ldif.py BASE_DN USERS COMPUTERS GROUPS > bench.ldif

Users have no password (Samba would spend seconds per thousand hashing them) and a mix of flags
that the rules look at; each group holds 25 members; 2% of users carry an SPN."""
import sys

base, nu, nc, ng = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ou = f"OU=hygie-bench3,{base}"
w = sys.stdout.write
w(f"dn: {ou}\nobjectClass: organizationalUnit\nou: hygie-bench3\n\n")
for i in range(nu):
    uac = 544  # enabled, PASSWD_NOTREQD (no password set)
    if i % 10 == 0:
        uac |= 0x10000  # DONT_EXPIRE_PASSWORD
    if i % 7 == 0:
        uac |= 0x2  # disabled
    if i % 97 == 0:
        uac |= 0x400000  # DONT_REQ_PREAUTH
    w(f"dn: CN=b3u{i:06d},{ou}\nobjectClass: user\nsAMAccountName: b3u{i:06d}\n"
      f"userAccountControl: {uac}\nmail: b3u{i:06d}@chu.test\ndescription: bench user {i}\n")
    if i % 50 == 0:
        w(f"servicePrincipalName: http/b3svc{i:06d}.chu.test\n")
    w("\n")
for i in range(nc):
    os_name = "Windows 7 Professional" if i % 20 == 0 else "Windows 11 Enterprise"
    w(f"dn: CN=b3c{i:05d},{ou}\nobjectClass: computer\nsAMAccountName: b3c{i:05d}$\n"
      f"userAccountControl: 4096\noperatingSystem: {os_name}\ndNSHostName: b3c{i:05d}.chu.test\n\n")
for g in range(ng):
    w(f"dn: CN=b3g{g:05d},{ou}\nobjectClass: group\nsAMAccountName: b3g{g:05d}\n")
    for k in range(25):
        u = (g * 25 + k) % nu
        w(f"member: CN=b3u{u:06d},{ou}\n")
    if g > 0 and g % 10 == 0:
        w(f"member: CN=b3g{g-1:05d},{ou}\n")  # some nesting
    w("\n")

#!/usr/bin/env bash
# Write the seeds of the `net_nft` and `net_iptables` fuzz targets from real tool output: the
# rulesets of hygie-collect's network tests (tests/network.rs, tests/firewall_readers.rs) loaded
# with nft, iptables-restore and ipset into a private network namespace, then listed back as the
# collector reads them (`nft -j list ruleset`, `iptables-save`, `ipset save`).
#
#   sudo bash fuzz/seeds/network.sh        (root: a network namespace; nftables, iptables, ipset)
set -euo pipefail
cd "$(dirname "$0")/.."
nft_dir=corpus/net_nft
ipt_dir=corpus/net_iptables
mkdir -p "$nft_dir" "$ipt_dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/filter.nft" <<'NFT'
flush ruleset
table inet filter {
  set pacs_ports { type inet_service; elements = { 104, 11112 } }
  set internal { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 192.0.2.0/24 } }
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    ct state invalid drop
    ip saddr 10.99.0.0/24 ip daddr @internal accept
    ip saddr 10.10.0.0/16 jump clinical_out
    ip saddr 10.50.0.0/16 ip daddr 10.20.0.0/24 tcp dport @pacs_ports accept
    ip saddr 10.40.0.0/16 ip daddr 10.20.0.0/24 tcp dport @pacs_ports accept
    ip saddr 10.50.0.0/16 ip daddr != @internal accept
    ip saddr != 10.0.0.0/8 ip daddr 192.0.2.10 tcp dport { 80, 443 } accept
    ip saddr 192.0.2.0/24 ip daddr 10.30.0.0/16 tcp dport 8443 accept
  }
  chain clinical_out {
    ip daddr 10.40.0.0/16 return
    ip daddr 10.99.0.0/24 return
    ip daddr { 10.20.0.0/24, 10.30.0.0/16 } tcp dport { 443, 104, 3000-3100 } accept
    ip daddr != @internal accept
  }
}
NFT
cat >"$tmp/vmap.nft" <<'NFT'
flush ruleset
table inet fw {
  map zone_out {
    type ipv4_addr : verdict; flags interval;
    elements = { 10.10.0.0/16 : jump clinical, 10.50.0.0/16 : goto guest }
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "lo" accept
    ip saddr vmap @zone_out
    meta l4proto { tcp, udp } th dport 53 ip daddr 10.30.0.53 accept
    ip6 saddr fd00:30::/64 counter drop
    drop
  }
  chain clinical {
    ip daddr 10.30.0.0/16 tcp dport { 22, 443 } accept
    ip protocol icmp accept
  }
  chain guest {
    ip daddr 10.0.0.0/8 reject
    accept
  }
}
table ip other {
  chain input {
    type filter hook input priority 0; policy accept;
  }
}
NFT
cat >"$tmp/rules.v4" <<'IPT'
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:CLINICAL - [0:0]
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -s 10.99.0.0/24 -d 10.0.0.0/8 -j ACCEPT
-A FORWARD -s 10.10.0.0/16 -j CLINICAL
-A FORWARD -s 10.50.0.0/16 -d 10.20.0.0/24 -p tcp -m tcp --dport 104 -m comment --comment "temporary guest access" -j ACCEPT
-A FORWARD -s 10.40.0.0/16 -d 10.20.0.0/24 -p tcp -m multiport --dports 104,11112 -j ACCEPT
-A FORWARD -s 10.50.0.0/16 ! -d 10.0.0.0/8 -j ACCEPT
-A FORWARD ! -s 10.0.0.0/8 -d 192.0.2.10/32 -p tcp -m tcp --dport 443 -j ACCEPT
-A FORWARD -m set --match-set guests src -p tcp -m set --match-set pacs_svc dst,dst -j ACCEPT
-A FORWARD -m iprange --src-range 10.50.0.1-10.50.0.9 --dst-range 9.9.9.9-9.9.9.10 -p udp -m multiport --dports 53,123 -j ACCEPT
-A CLINICAL -d 10.40.0.0/16 -j RETURN
-A CLINICAL -d 10.99.0.0/24 -j RETURN
-A CLINICAL -d 10.20.0.0/24 -p tcp -m tcp --dport 104 -j ACCEPT
-A CLINICAL ! -d 10.0.0.0/8 -j ACCEPT
COMMIT
IPT
cat >"$tmp/sets.save" <<'SETS'
create guests hash:net family inet hashsize 1024 maxelem 65536
add guests 10.50.0.0/16
create pacs_svc hash:ip,port family inet hashsize 1024 maxelem 65536
add pacs_svc 10.20.0.5,tcp:104
SETS

# Everything below runs in a network namespace of its own: the host's rules are never touched.
unshare --net bash -s "$tmp" <<'NS'
set -euo pipefail
tmp=$1
for r in filter vmap; do
  nft -f "$tmp/$r.nft"
  nft -j list ruleset >"$tmp/$r.json"
  nft flush ruleset
done
ipset restore <"$tmp/sets.save"
ipset save >"$tmp/sets.out"
iptables-restore <"$tmp/rules.v4"
iptables-save >"$tmp/rules.out"
NS

cp "$tmp/filter.json" "$nft_dir/filter.json"
cp "$tmp/vmap.json" "$nft_dir/vmap.json"
{ cat "$tmp/filter.json"; printf '==> flows.csv <==\nsrc,dst,dport,proto\n10.50.1.2,10.20.0.5,104,tcp\n10.10.0.9,8.8.8.8,53,udp\n'; } >"$nft_dir/filter-with-flows.json"
{ grep -v '^#' "$tmp/rules.out"; printf '==> ipset.save <==\n'; cat "$tmp/sets.out"; } >"$ipt_dir/rules-and-sets.txt"

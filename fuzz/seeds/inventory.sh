#!/usr/bin/env bash
# Write the seeds of the `inventory` fuzz target from real tool output: this machine inventoried
# by FusionInventory (`fusioninventory-inventory`) and OCS Inventory (`ocsinventory-agent
# --local`), loopback scanned by nmap (`nmap -oX`), each cut to a few software packages so that
# the fuzzer's inputs stay small; plus the documented CSV, an AD LDIF export (the ad_ldif seed)
# and one input mixing every source, as successive imports mix them.
#
#   bash fuzz/seeds/inventory.sh    (Debian: fusioninventory-agent, ocsinventory-agent, nmap)
set -euo pipefail
cd "$(dirname "$0")/.."
out=corpus/inventory
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Keep the first three <SOFTWARES> elements; drop the processes, the environment and the local
# accounts (nothing the inventory reads, and nothing of this machine's to commit).
trim() {
  python3 -c '
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
for drop in ("PROCESSES", "ENVS", "LOCAL_USERS", "LOCAL_GROUPS"):
    text = re.sub(r"\s*<%s>.*?</%s>" % (drop, drop), "", text, flags=re.S)
n = 0
def keep(m):
    global n
    n += 1
    return m.group(0) if n <= 3 else ""
print(re.sub(r"\s*<SOFTWARES>.*?</SOFTWARES>", keep, text, flags=re.S), end="")
' "$1"
}

fusioninventory-inventory >"$tmp/fusion.xml" 2>/dev/null
trim "$tmp/fusion.xml" >"$out/fusion.xml"
(cd "$tmp" && ocsinventory-agent --local="$tmp" >/dev/null 2>&1)
trim "$(ls "$tmp"/*.ocs | head -n 1)" >"$out/ocs.xml"
nmap -sn -oX "$tmp/nmap.xml" 127.0.0.1 >/dev/null
grep -v '^<!DOCTYPE\|^<?xml-stylesheet' "$tmp/nmap.xml" >"$out/nmap.xml"
cat >"$out/csv.csv" <<'CSV'
# biomedical engineering export
hostname;mac;serial;ip;category;os;os_version;manufacturer;model;owner;zone;seen
ECHO-01;00:0d:b9:12:34:56;SN-4411;10.20.0.15;medical;Windows 7;6.1;GE Healthcare;Vivid E95;biomed;imaging;2026-11-30
PRN-02;02:00:00:00:00:02;;10.20.1.4;printer;;;;;;office;2026-12-01 08:30
CSV
{
  printf '==> ad.ldif <==\n'
  cat corpus/ad_ldif/small.ldif
} >"$out/ad.txt"
{
  cat "$out/fusion.xml"
  printf '\n==> ocs.xml <==\n'
  cat "$out/ocs.xml"
  printf '\n==> nmap.xml <==\n'
  cat "$out/nmap.xml"
  printf '\n==> csv.csv <==\n'
  cat "$out/csv.csv"
} >"$out/mixed.txt"
# The CSV and the scan alone are files of their own source, named as the target reads them.
for f in csv.csv nmap.xml ocs.xml; do
  { printf '==> %s <==\n' "$f"; cat "$out/$f"; } >"$out/${f%.*}.txt"
  rm "$out/$f"
done
ls -l "$out"

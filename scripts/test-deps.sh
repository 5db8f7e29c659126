#!/usr/bin/env bash
# The Debian packages the tests need besides Node: chromium (the HTML report is opened in a real
# headless browser) and slurm-wlm + munge (the README's Slurm recipe runs on a real one-node
# cluster). Installs only what is missing, so on a prepared machine this does nothing.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"   # Debian puts the daemons here; not on a normal user's PATH
have() { command -v "$1" >/dev/null 2>&1; }
missing=()
have chromium || missing+=(chromium)
{ have slurmctld && have slurmd && have sbatch; } || missing+=(slurm-wlm)
{ have munged && have mungekey; } || missing+=(munge)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
echo "installing ${missing[*]} (Debian packages the tests need)" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null

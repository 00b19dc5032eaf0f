#!/bin/sh
# app: Standard.configure: the volume must already be mounted at its location when it runs.
set -e
mountpoint -q /data || { echo "/data is not a mount point: the volume is not attached" >&2; exit 1; }
date >> /data/configured

#!/usr/bin/env bash
# promtool check web-config FILE...: Prometheus' own reader of the format (exporter-toolkit)
# accepts the files this exporter ships and tests with.
command -v promtool >/dev/null || { echo "SKIPPED: promtool is not installed (Debian package prometheus)"; exit 77; }
exec promtool check web-config "$@"

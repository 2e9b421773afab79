#!/usr/bin/env python3
"""Compares the days a /metrics scrape serves with the API's truth.

    compare-days.py TRUTH.json METRICS.txt

TRUTH.json is `pantheon-metrics fetch --format json` run against a fake without faults and
outside a rebuild window (the fake's numbers are deterministic). Prints one line of numbers:

    sites complete missing wrong_zero wrong_other traffic_days

- complete: sites whose every truth day is served (28 of 28);
- missing: truth days with no `pantheon_visits` sample;
- wrong_zero: days served as 0 visits where the API has traffic;
- wrong_other: other served values that differ from the truth;
- traffic_days: truth days with traffic (what wrong_zero is out of).

Days the truth does not know (the date rolled over since it was taken) are not compared.
The newest day is served without a timestamp; it stands for the truth's newest day.
"""

import json
import sys


def parse_labels(text, start):
    """Labels from text[start] (just after `{`); returns (labels, index after `}`)."""
    labels = {}
    i = start
    while text[i] != "}":
        eq = text.index("=", i)
        key = text[i:eq].strip().lstrip(",").strip()
        assert text[eq + 1] == '"', text
        j = eq + 2
        value = []
        while text[j] != '"':
            if text[j] == "\\":
                value.append({"n": "\n"}.get(text[j + 1], text[j + 1]))
                j += 2
            else:
                value.append(text[j])
                j += 1
        labels[key] = "".join(value)
        i = j + 1
        if text[i] == ",":
            i += 1
    return labels, i + 1


def served_days(path):
    """{name: {timestamp_seconds or None: visits}} from the pantheon_visits samples."""
    served = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("pantheon_visits{"):
                continue
            labels, end = parse_labels(line, len("pantheon_visits{"))
            fields = line[end:].split()
            ts = int(fields[1]) // 1000 if len(fields) > 1 else None
            served.setdefault(labels["name"], {})[ts] = float(fields[0])
    return served


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        truth_rows = json.load(f)
    truth = {}
    for row in truth_rows:
        days = truth.setdefault(row["site"]["name"], {})
        for point in row["points"]:
            days[point["timestamp"]] = float(point["visits"])
    served = served_days(sys.argv[2])

    complete = missing = wrong_zero = wrong_other = traffic_days = 0
    for name, days in truth.items():
        have = dict(served.get(name, {}))
        if None in have and days:
            have[max(days)] = have.pop(None)
        site_missing = 0
        for ts, visits in days.items():
            if visits > 0:
                traffic_days += 1
            if ts not in have:
                site_missing += 1
            elif have[ts] == 0 and visits > 0:
                wrong_zero += 1
            elif have[ts] != visits:
                wrong_other += 1
        missing += site_missing
        complete += site_missing == 0
    print(len(truth), complete, missing, wrong_zero, wrong_other, traffic_days)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes a realistic authorization policy for `make bench` (gateway-acl path) to stdout.

N rules spread over R roles: literal topic names, prefixes, anchored regexes, deny rules, host
ranges, group and transactional-id rules, as many tenants' services would have. The benchmark
client (--member) is a member of three of the roles; one of them lets it produce and consume
the bench topic (--topic-prefix) and its groups, the others add rules that apply to it but do not
match the bench topic, so every decision searches a real index rather than an empty one."""

import argparse
import json
import sys


def service_rules(r: int, n: int) -> list:
    """n rules of role r: literal, prefix and regex allows, denies, groups, txn ids."""
    kinds = [
        lambda i: {"effect": "allow", "resource": "topic", "name": f"svc{r}.orders.{i}",
                   "operations": ["READ", "WRITE"]},
        lambda i: {"effect": "allow", "resource": "topic", "prefix": f"svc{r}.events{i}.",
                   "operations": ["ALL"]},
        lambda i: {"effect": "allow", "resource": "topic", "regex": f"svc{r}\\.logs\\.app-{i}-[0-9]+",
                   "operations": ["READ"]},
        lambda i: {"effect": "deny", "resource": "topic", "prefix": f"svc{r}.secret{i}.",
                   "operations": ["ALL"]},
        lambda i: {"effect": "allow", "resource": "group", "prefix": f"svc{r}.consumers{i}",
                   "operations": ["READ", "DESCRIBE"]},
        lambda i: {"effect": "allow", "resource": "transactional_id", "name": f"svc{r}.tx{i}",
                   "operations": ["WRITE", "DESCRIBE"]},
        lambda i: {"effect": "allow", "resource": "topic", "name": f"shared.t{r}.{i}",
                   "operations": ["DESCRIBE"], "hosts": ["10.0.0.0/8", "192.168.0.0/16"]},
        lambda i: {"effect": "deny", "resource": "topic", "regex": f"svc{r}\\.tmp\\.{i}.*",
                   "operations": ["WRITE"]},
    ]
    return [kinds[i % len(kinds)](i) for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rules", type=int, default=1000)
    ap.add_argument("--roles", type=int, default=50)
    ap.add_argument("--member", default="User:ANONYMOUS")
    ap.add_argument("--topic-prefix", default="kg-bench-")
    a = ap.parse_args()
    per_role = a.rules // a.roles
    roles = []
    for r in range(a.roles):
        rules = service_rules(r, per_role)
        members = [f"User:svc{r}"]
        if r in (7, 21, 42 % a.roles):
            members.append(a.member)
        if r == 21 % a.roles:
            # what the benchmark client needs: the bench topic and its groups, idempotence
            rules[:4] = [
                {"effect": "allow", "resource": "topic", "prefix": a.topic_prefix, "operations": ["ALL"]},
                {"effect": "allow", "resource": "group", "prefix": a.topic_prefix, "operations": ["READ", "DESCRIBE"]},
                {"effect": "allow", "resource": "cluster", "operations": ["IDEMPOTENT_WRITE", "DESCRIBE"]},
                {"effect": "deny", "resource": "topic", "prefix": a.topic_prefix + "private.", "operations": ["ALL"]},
            ]
        roles.append({"name": f"role-{r}", "members": members, "rules": rules})
    json.dump({"version": 1, "super_users": ["User:ops-admin"], "roles": roles}, sys.stdout, indent=1)


if __name__ == "__main__":
    main()

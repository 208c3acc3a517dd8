"""The rule vocabulary every side shares: the matcher keys and how a rule's name is compared.

The rule files (policy.rule_parse), the bus (dbus.rulecheck), smoothdeskctl and the rules window
(gui.rule_match) all take their keys from here, so a matcher cannot be known to one and not to
another. policy.rules says what each matcher means.
"""

from __future__ import annotations

from collections.abc import Collection

MATCHER_KEYS: tuple[str, ...] = ("name", "exe", "cmdline", "cgroup", "unit", "parent", "ancestor")
# The matchers besides the name, in policy.rules.Conditions' field order.
CONDITION_KEYS: tuple[str, ...] = MATCHER_KEYS[1:]
# What a rule gives; it needs one of them at least, as it needs one matcher at least.
OUTCOME_KEYS: tuple[str, ...] = ("type", "class")
RULE_KEYS: frozenset[str] = frozenset({*MATCHER_KEYS, *OUTCOME_KEYS})
# A rule file may also label a rule (shown as its reason); AddRule takes RULE_KEYS only.
FILE_RULE_KEYS: frozenset[str] = RULE_KEYS | {"label"}

# The kernel cuts comm at 15 characters.
COMM_LEN = 15


def name_in(wanted: str, names: Collection[str]) -> bool:
    """True if `wanted` is one of `names`, allowing for comm's cut at 15 characters.

    Windows names (``.exe``) compare case-insensitively, as Windows file names do.
    """
    if wanted in names or (len(wanted) > COMM_LEN and wanted[:COMM_LEN] in names):
        return True
    if wanted[-4:].lower() != ".exe":
        return False
    low = wanted.lower()
    return any(n.lower() in (low, low[:COMM_LEN]) for n in names)

"""core.group.owners: pid -> group, indexed once per groups list, never answering from an old list."""

from __future__ import annotations

from smoothdesk.core.group import AppGroup, owners
from smoothdesk.ml.observe import hinted


def group(gid: str, *members: int) -> AppGroup:
    return AppGroup(id=gid, name=gid, kind="tree", uid=1000, leader=members[0], members=members)


def test_each_pid_maps_to_its_group_and_a_new_list_is_indexed_afresh() -> None:
    a, b = group("a", 1, 2), group("b", 3)
    first = [a, b]
    index = owners(first)
    assert index[1] is a and index[2] is a and index[3] is b and 4 not in index
    assert owners(first) is index  # the same list: not rebuilt
    regrouped = [group("a", 1), group("c", 2, 4), b]
    again = owners(regrouped)
    assert again[2].id == "c" and again[4].id == "c" and again[1].members == (1,)
    first.append(group("d", 9))  # a list grown in place is not answered from its old index
    assert owners(first)[9].id == "d"


def test_hinted_names_each_holding_group_with_its_lowest_hinted_pid() -> None:
    groups = [group("a", 5, 2, 7), group("b", 3), group("c", 8)]
    assert hinted(groups, frozenset({7, 5, 3, 42})) == {"a": 5, "b": 3}
    assert hinted(groups, frozenset()) == {}

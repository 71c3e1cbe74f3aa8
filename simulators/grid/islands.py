"""Islands of a pandapower net and who holds each one's voltage: pure, no power flow.

An island is a set of in-service buses joined by in-service lines and transformers whose
switches are closed, and by closed bus-bus switches. An island with an in-service external
grid (or a user's slack ``gen``) is supplied; one without may be held by a grid-forming unit;
the rest are de-energised. Connected components with scipy's csgraph cost about a millisecond
even on thousands of buses, so this runs after every topology change.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from pandapower.auxiliary import pandapowerNet
from scipy.sparse.csgraph import connected_components


def bus_islands(net: pandapowerNet) -> np.ndarray:
    """Island label of each bus, aligned with ``net.bus.index``; -1 for buses out of service."""
    pos = _bus_position(net)
    on = net.bus.in_service.to_numpy(dtype=bool)
    edges = [_branch_edges(net, "line", ("from_bus", "to_bus"), "l")]
    edges.append(_branch_edges(net, "trafo", ("hv_bus", "lv_bus"), "t"))
    if len(net.get("trafo3w", ())):
        for pair in (("hv_bus", "mv_bus"), ("hv_bus", "lv_bus")):
            edges.append(_branch_edges(net, "trafo3w", pair, "t3"))
    sw = net.switch
    bb = sw[(sw.et == "b") & sw.closed]
    edges.append(bb[["bus", "element"]].to_numpy(dtype=np.int64))
    pairs = np.concatenate([e.reshape(-1, 2) for e in edges]) if edges else np.zeros((0, 2))
    a, b = pos[pairs[:, 0]], pos[pairs[:, 1]]
    keep = on[a] & on[b]
    n = len(on)
    graph = sp.coo_matrix((np.ones(keep.sum()), (a[keep], b[keep])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return np.where(on, labels, -1)


def _branch_edges(net: pandapowerNet, element: str, ends: tuple[str, str], et: str) -> np.ndarray:
    """(bus, bus) pairs of the in-service branches with no open switch at either end."""
    table = net[element]
    if not len(table):
        return np.zeros((0, 2), dtype=np.int64)
    sw = net.switch
    open_at = sw.loc[(sw.et == et) & ~sw.closed.astype(bool), "element"].to_numpy()
    usable = table.in_service.to_numpy(dtype=bool) & ~np.isin(table.index.to_numpy(), open_at)
    return table.loc[usable, list(ends)].to_numpy(dtype=np.int64)


def supplied(net: pandapowerNet, labels: np.ndarray, own_sources: Sequence[int]) -> set[int]:
    """Island labels with an in-service ext_grid or slack gen of the net's own (not one of
    ``own_sources``, the ext_grids standing in for grid-forming units)."""
    pos = _bus_position(net)
    ext_grid = net.ext_grid[~net.ext_grid.index.isin(list(own_sources))]
    slack_buses = ext_grid.loc[ext_grid.in_service.astype(bool), "bus"].to_numpy()
    if len(net.gen) and "slack" in net.gen:
        mask = net.gen.in_service.astype(bool) & net.gen.slack.astype(bool)
        slack_buses = np.r_[slack_buses, net.gen.loc[mask, "bus"].to_numpy()]
    found = labels[pos[slack_buses.astype(np.int64)]]
    return {int(label) for label in found if label >= 0}


def forming_groups(
    net: pandapowerNet,
    labels: np.ndarray,
    candidates: Sequence[tuple[int, bool]],
    own_sources: Sequence[int],
) -> list[list[int]]:
    """The grid-forming units of each island without a supply: positions in ``candidates``,
    each a ``(bus, in_service)`` pair in priority order; per island its units, the first its
    reference (the one whose source holds the island's voltage and angle)."""
    pos = _bus_position(net)
    taken = supplied(net, labels, own_sources)
    groups: dict[int, list[int]] = {}
    for k, (bus, in_service) in enumerate(candidates):
        label = int(labels[pos[bus]])
        if in_service and label >= 0 and label not in taken:
            groups.setdefault(label, []).append(k)
    return list(groups.values())


def switch_ends(net: pandapowerNet, switch: int) -> tuple[int, int]:
    """Bus positions on either side of a switch: its bus, and the other end of what it opens
    (a bus, or a line's or transformer's far end)."""
    pos = _bus_position(net)
    row = net.switch.loc[switch]
    bus, element, et = int(row["bus"]), int(row["element"]), str(row["et"])
    if et == "b":
        other = element
    else:
        table = net["line" if et == "l" else "trafo"]
        ends = ("from_bus", "to_bus") if et == "l" else ("hv_bus", "lv_bus")
        a, b = (int(table.at[element, end]) for end in ends)
        other = b if a == bus else a
    return int(pos[bus]), int(pos[other])


def loss_of_mains(
    net: pandapowerNet,
    labels: np.ndarray,
    relays: Sequence[int],
    latched: set[int],
    own_sources: Sequence[int],
    live: np.ndarray,
) -> tuple[list[int], list[int]]:
    """What loss-of-mains relays do on a topology change: (switches to open, switches to close).

    A relay opens its closed switch when the switch's island has lost every supply of the
    net's own. A switch its relay opened (in ``latched``) closes again by itself only onto a
    dead side (dead-line closing): one side supplied, the other neither supplied nor ``live``
    (a bus mask: held by a grid-forming unit in the last step). A live island needs a
    synchroniser to close."""
    taken = supplied(net, labels, own_sources)
    closed = net.switch.closed.astype(bool)
    trip, reclose = [], []
    for switch in relays:
        a, b = switch_ends(net, switch)
        if closed.at[switch]:
            if labels[a] < 0 or labels[a] not in taken:
                trip.append(switch)
            continue
        if switch not in latched:
            continue
        sides = [(labels[a] in taken, bool(live[a])), (labels[b] in taken, bool(live[b]))]
        if any(s for s, _ in sides) and not any(not s and alive for s, alive in sides):
            reclose.append(switch)
    return trip, reclose


def _bus_position(net: pandapowerNet) -> np.ndarray:
    index = net.bus.index.to_numpy(dtype=np.int64)
    pos = np.full(index.max(initial=-1) + 1, -1, dtype=np.int64)
    pos[index] = np.arange(len(index))
    return pos

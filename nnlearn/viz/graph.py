"""``draw_graph``: the computation graph behind a :class:`~nnlearn.Value` or a :class:`~nnlearn.Tensor`, drawn.

Every result remembers the operation that made it and that operation's inputs, so from the output we can walk
back to the leaves and draw what was computed. The picture reads left to right, inputs to output:

* a **box** for each value: its label (if it has one), its ``data`` and its ``grad`` (for a ``Tensor``: its
  name, if given, and its shape);
* a small **circle** for each operation (``+``, ``*``, ``tanh``, ``@``, ...), with arrows from its inputs into
  it and one arrow out of it, to the value it made.

The layout is *layered by depth*: the output is in the rightmost column, and every other value sits one column
further left than the furthest-left value that uses it (its longest distance to the output), so every arrow
points to the right. Within a column, each value is placed at the average height of the values that use it,
then pushed apart just enough not to overlap — the usual trick (a "barycentre" ordering) for graphs without
many crossings. No graphviz is needed: the whole drawing is matplotlib.

>>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
>>> loss = (a * b).tanh(); loss.backward()
>>> fig = draw_graph(loss)                                 # doctest: +SKIP

matplotlib is imported only when something is drawn.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..tensor import Tensor
from ..value import Value

__all__ = ["GraphLayout", "GraphNode", "draw_graph", "graph_layout"]

# Geometry in data units (1 unit = INCHES_PER_UNIT inches on the page). Along the flow, a layer of values every
# PITCH[rankdir] units with each operation circle half way between; across it, boxes at least SPACING apart.
BOX_WIDTH = 1.9
BOX_HEIGHT = 0.95
OP_RADIUS = 0.36
PITCH = {"LR": 3.2, "TB": 2.3}
SPACING = {"LR": BOX_HEIGHT + 0.25, "TB": BOX_WIDTH + 0.3}
INCHES_PER_UNIT = 0.6

# Short symbols for the Tensor Functions of nnlearn.ops; other Functions show their class name.
_TENSOR_OPS = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/", "Neg": "neg", "Pow": "**", "MatMul": "@",
               "Exp": "exp", "Log": "log", "Sqrt": "sqrt", "Abs": "abs", "Sum": "sum", "Mean": "mean",
               "Max": "max", "Reshape": "reshape", "Transpose": "T", "GetItem": "[]", "Tanh": "tanh",
               "Sigmoid": "sigmoid", "ReLU": "relu"}


@dataclass
class GraphNode:
    """One thing drawn: a value (box) or an operation (circle) at ``(x, y)``.

    ``key`` is unique in the layout (``id`` of the Value/Tensor, or ``("op", id)`` for the operation that made
    it); ``lines`` are the text lines shown; ``leaf`` is True for values that no operation made (inputs and
    parameters); ``depth`` counts value columns from the output (0).
    """

    key: Any
    kind: str                    # "value" or "op"
    lines: list[str]
    x: float = 0.0
    y: float = 0.0
    depth: int = 0
    leaf: bool = False


@dataclass
class GraphLayout:
    """Where :func:`draw_graph` puts every node: ``nodes`` in drawing order and ``edges`` as ``(from, to)`` keys."""

    nodes: list[GraphNode] = field(default_factory=list)
    edges: list[tuple[Any, Any]] = field(default_factory=list)

    def node(self, key: Any) -> GraphNode:
        """The node with this key (``id(value)`` for a value box, ``("op", id(value))`` for its operation)."""
        for n in self.nodes:
            if n.key == key:
                return n
        raise KeyError(f"no node with key {key!r} in the layout")

    @property
    def values(self) -> list[GraphNode]:
        return [n for n in self.nodes if n.kind == "value"]

    @property
    def ops(self) -> list[GraphNode]:
        return [n for n in self.nodes if n.kind == "op"]


# ---------------------------------------------------------------------- reading the graph
def _inputs(node: Any) -> list[Any]:
    """The values ``node`` was computed from (empty for a leaf)."""
    if isinstance(node, Value):
        return list(node._parents)
    if node._node is None:
        return []
    return [t for t in node._node.inputs if t is not None]


def _op_name(node: Any) -> str:
    if isinstance(node, Value):
        return node.op
    name = node._node.function.__name__
    return _TENSOR_OPS.get(name, name)


def _format(x: float) -> str:
    return f"{x + 0.0:.4g}"  # + 0.0 turns -0.0 into 0.0: no "-0" in the boxes


def _value_lines(node: Any, names: dict[int, str], show_grad: bool) -> list[str]:
    if isinstance(node, Value):
        lines = [node.label] if node.label else []
        lines.append(f"data {_format(node.data)}")
        if show_grad:
            lines.append(f"grad {_format(node.grad)}")
        return lines
    lines = [names[id(node)]] if id(node) in names else []
    lines.append("scalar" if node.ndim == 0 else f"shape {tuple(node.shape)}")
    if show_grad and node.grad is not None:
        # a one-element gradient is shown as a number; a larger one only as present (it would not fit)
        lines.append("grad " + (_format(node.grad.item()) if node.grad.size == 1 else "✓"))
    return lines


def _walk(root: Any, max_nodes: int) -> list[Any]:
    """Every value ``root`` depends on, each listed after all of its inputs (root last). Iterative: no
    recursion limit on long chains."""
    order: list[Any] = []
    visited: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        if len(visited) > max_nodes:
            raise ValueError(f"draw_graph: the graph has more than max_nodes={max_nodes} values, too many to read "
                             "in a drawing; draw a smaller expression (one data point, one neuron) or raise max_nodes")
        stack.append((node, True))
        stack.extend((p, False) for p in reversed(_inputs(node)) if id(p) not in visited)
    return order


# ---------------------------------------------------------------------- layout
def _check_rankdir(rankdir: Any) -> str:
    if rankdir not in PITCH:
        raise ValueError(f"rankdir must be 'LR' (inputs left, output right) or 'TB' (inputs top, output bottom), "
                         f"got {rankdir!r}")
    return rankdir


def graph_layout(root: Value | Tensor, labels: Mapping[str, Tensor] | None = None, show_grad: bool = True,
                 max_nodes: int = 300, rankdir: str = "LR") -> GraphLayout:
    """Place every value and operation of the graph that ends at ``root``.

    Args:
        root: the output, a :class:`~nnlearn.Value` or a :class:`~nnlearn.Tensor` (usually a loss).
        labels: names for tensors, ``{"W1": W1, ...}`` (e.g. ``dict(model.named_parameters())``); a Value
            carries its own ``label``.
        show_grad: put each value's ``grad`` in its box.
        max_nodes: refuse graphs with more values than this (a drawing of thousands of boxes says nothing).
        rankdir: ``"LR"``: inputs on the left, the output on the right, at ``x = 0``; ``"TB"``: inputs at the
            top, the output at the bottom, at ``y = 0`` (better for deep graphs: a page scrolls down, not across).

    Returns:
        A :class:`GraphLayout`. With ``"LR"`` the value boxes of depth ``d`` are at ``x = -PITCH["LR"] * d``
        and each operation circle half a pitch to the left of the value it made; ``"TB"`` is the same turned
        a quarter, with depth growing upwards.
    """
    if not isinstance(root, (Value, Tensor)):
        raise TypeError(f"root must be an nnlearn.Value or nnlearn.Tensor, got {type(root).__name__}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"max_nodes must be an int >= 1, got {max_nodes!r}")
    rankdir = _check_rankdir(rankdir)
    names: dict[int, str] = {}
    for name, tensor in (labels or {}).items():
        if not isinstance(tensor, Tensor):
            raise TypeError(f"labels[{name!r}] must be a Tensor, got {type(tensor).__name__}")
        names[id(tensor)] = str(name)

    order = _walk(root, max_nodes)
    # depth = the longest path to the output: visit from the output back (reverse of `order`), so a value's
    # depth is final before its inputs are pushed one layer further from the output.
    depth = {id(root): 0}
    for node in reversed(order):
        for parent in _inputs(node):
            depth[id(parent)] = max(depth.get(id(parent), 0), depth[id(node)] + 1)

    # First in abstract coordinates: `along` = -depth (the flow runs towards 0), `across` = place in the layer.
    boxes: dict[int, GraphNode] = {}
    circles: dict[int, GraphNode] = {}
    edges: list[tuple[Any, Any]] = []
    consumers: dict[int, list[int]] = {id(n): [] for n in order}  # value -> the values made from it
    for node in order:
        d = depth[id(node)]
        parents = _inputs(node)
        boxes[id(node)] = GraphNode(id(node), "value", _value_lines(node, names, show_grad), depth=d,
                                    leaf=not parents)
        if parents:
            circles[id(node)] = GraphNode(("op", id(node)), "op", [_op_name(node)], depth=d)
            edges.append((("op", id(node)), id(node)))
            for parent in dict.fromkeys(parents):  # an input used twice (a * a) is one arrow
                edges.append((id(parent), ("op", id(node))))
                consumers[id(parent)].append(id(node))

    # Place across the flow, layer by layer from the output: each value at the mean place of its consumers,
    # then the layer is spread out so that no two boxes overlap.
    across: dict[int, float] = {}
    layers: dict[int, list[int]] = {}
    for key, box in boxes.items():
        layers.setdefault(box.depth, []).append(key)
    for d in sorted(layers):
        wanted = {key: (sum(across[c] for c in consumers[key]) / len(consumers[key]) if consumers[key] else 0.0)
                  for key in layers[d]}
        keys = sorted(layers[d], key=lambda k: wanted[k])  # stable: ties keep the order the inputs were listed
        across.update(_spread(keys, wanted, SPACING[rankdir]))

    pitch = PITCH[rankdir]
    for key, box in boxes.items():
        along = -pitch * box.depth
        box.x, box.y = (along, -across[key]) if rankdir == "LR" else (across[key], -along)
        if key in circles:  # the operation sits half a pitch upstream of the value it made
            circle = circles[key]
            circle.x, circle.y = (box.x - pitch / 2, box.y) if rankdir == "LR" else (box.x, box.y + pitch / 2)

    layout = GraphLayout(edges=edges)
    for node in order:  # inputs before the values made from them: a readable drawing order
        layout.nodes.append(boxes[id(node)])
        if id(node) in circles:
            layout.nodes.append(circles[id(node)])
    return layout


def _spread(keys: list[int], wanted: dict[int, float], spacing: float) -> dict[int, float]:
    """Places for the (sorted) boxes of one layer, at least ``spacing`` apart and as close to ``wanted`` as that
    allows: push each box past its predecessor, then shift the layer so it is centred on what was wanted."""
    placed: dict[int, float] = {}
    previous = None
    for key in keys:
        placed[key] = wanted[key] if previous is None else max(wanted[key], previous + spacing)
        previous = placed[key]
    shift = sum(placed[k] - wanted[k] for k in keys) / len(keys)
    return {k: v - shift for k, v in placed.items()}


# ---------------------------------------------------------------------- drawing
def draw_graph(root: Value | Tensor, ax: Any = None, labels: Mapping[str, Tensor] | None = None,
               show_grad: bool = True, rankdir: str = "LR", title: str | None = None, max_nodes: int = 300,
               fontsize: float = 8.0) -> Any:
    """Draw the computation graph that ends at ``root`` (see the module docstring for what is drawn).

    Args:
        root: a :class:`~nnlearn.Value` or :class:`~nnlearn.Tensor`; call ``root.backward()`` first to see
            the gradients.
        ax: a matplotlib Axes to draw in; by default a new figure sized to the graph (about
            ``INCHES_PER_UNIT`` inches per layout unit, so the text fits its boxes).
        labels: names for tensors, ``{"W1": W1, ...}`` (Values carry their own ``label``).
        show_grad: show each value's gradient.
        rankdir: ``"LR"`` (inputs left, output right) or ``"TB"`` (inputs top, output bottom).
        title: a title above the drawing.
        max_nodes: refuse graphs with more values than this.
        fontsize: the text size in the boxes.

    Returns:
        The matplotlib Figure. Leaves (inputs and parameters) are shaded blue, computed values white,
        operations grey; the output box has a thick border.
    """
    layout = graph_layout(root, labels=labels, show_grad=show_grad, max_nodes=max_nodes, rankdir=rankdir)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

    xs = [n.x for n in layout.nodes]
    ys = [n.y for n in layout.nodes]
    left, right = min(xs) - BOX_WIDTH / 2 - 0.2, max(xs) + BOX_WIDTH / 2 + 0.2
    bottom, top = min(ys) - BOX_HEIGHT / 2 - 0.2, max(ys) + BOX_HEIGHT / 2 + 0.2
    if ax is None:  # a figure just big enough for the text to fit in its boxes; room for the title on top
        width = min(max((right - left) * INCHES_PER_UNIT, 2.0), 40.0)
        height = min(max((top - bottom) * INCHES_PER_UNIT, 1.0), 40.0)
        extra = 0.4 if title else 0.0
        fig = plt.figure(figsize=(width, height + extra))
        ax = fig.add_axes((0.0, 0.0, 1.0, height / (height + extra)))
    else:
        fig = ax.figure
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    ax.set_aspect("equal")
    ax.axis("off")

    for n in layout.nodes:
        if n.kind == "value":
            face = "#dbe9f6" if n.leaf else "white"
            ax.add_patch(FancyBboxPatch((n.x - BOX_WIDTH / 2, n.y - BOX_HEIGHT / 2), BOX_WIDTH, BOX_HEIGHT,
                                        boxstyle="round,pad=0,rounding_size=0.12", facecolor=face,
                                        edgecolor="black", linewidth=2.2 if n.key == id(root) else 0.9, zorder=2))
            size = fontsize
        else:
            ax.add_patch(Circle((n.x, n.y), OP_RADIUS, facecolor="#e8e8e8", edgecolor="0.3", linewidth=0.9,
                                zorder=2))
            size = fontsize * min(1.0, 3.0 / max(len(n.lines[0]), 1))  # "tanh", "sigmoid" must fit the circle
        ax.text(n.x, n.y, "\n".join(n.lines), ha="center", va="center", fontsize=size, zorder=3,
                fontweight="bold" if n.kind == "op" else "normal", linespacing=1.15)

    where = {n.key: n for n in layout.nodes}
    for source, target in layout.edges:
        ax.add_patch(FancyArrowPatch(_port(where[source], rankdir, out=True), _port(where[target], rankdir, out=False),
                                     arrowstyle="-|>", mutation_scale=8, linewidth=0.8, color="0.35",
                                     shrinkA=0, shrinkB=0, zorder=1))
    if title:
        ax.set_title(title)
    return fig


def _port(node: GraphNode, rankdir: str, out: bool) -> tuple[float, float]:
    """Where an arrow leaves (``out``) or enters a node: its downstream or upstream side."""
    sign = 1.0 if out else -1.0
    if rankdir == "LR":
        half = BOX_WIDTH / 2 if node.kind == "value" else OP_RADIUS
        return node.x + sign * half, node.y
    half = BOX_HEIGHT / 2 if node.kind == "value" else OP_RADIUS
    return node.x, node.y - sign * half

"""nnlearn.viz.graph: the layered layout of a computation graph and its drawing (Agg backend)."""
from __future__ import annotations

import numpy as np
import pytest

import nnlearn
from nnlearn import Value
from nnlearn.viz.graph import BOX_HEIGHT, BOX_WIDTH, PITCH, SPACING, draw_graph, graph_layout

plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def small_expression():
    """d = a * b + a with a = 2, b = -3: d = -4; dd/da = b + 1 = -2, dd/db = a = 2."""
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b
    c.label = "c"
    d = c + a
    d.label = "d"
    d.backward()
    return a, b, c, d


def texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


# ---------------------------------------------------------------------- layout
def test_layout_nodes_edges_and_depths():
    a, b, c, d = small_expression()
    layout = graph_layout(d)
    assert len(layout.values) == 4 and len(layout.ops) == 2
    expected_edges = {(id(a), ("op", id(c))), (id(b), ("op", id(c))), (("op", id(c)), id(c)),
                      (id(c), ("op", id(d))), (id(a), ("op", id(d))), (("op", id(d)), id(d))}
    assert set(layout.edges) == expected_edges and len(layout.edges) == 6
    # depth is the longest path to the output: a feeds d directly (1) and through c (2), so it is at depth 2
    depths = {key: layout.node(key).depth for key in (id(a), id(b), id(c), id(d))}
    assert depths == {id(a): 2, id(b): 2, id(c): 1, id(d): 0}
    assert layout.node(id(d)).x == 0.0
    assert layout.node(id(a)).x == pytest.approx(-2 * PITCH["LR"])
    # every arrow points downstream (to the right)
    for source, target in layout.edges:
        assert layout.node(source).x < layout.node(target).x


def test_layout_text_shows_label_data_and_grad():
    a, b, c, d = small_expression()
    layout = graph_layout(d)
    assert layout.node(id(a)).lines == ["a", "data 2", "grad -2"]
    assert layout.node(id(b)).lines == ["b", "data -3", "grad 2"]
    assert layout.node(id(d)).lines == ["d", "data -4", "grad 1"]
    assert layout.node(("op", id(c))).lines == ["*"]
    assert layout.node(("op", id(d))).lines == ["+"]
    assert graph_layout(d, show_grad=False).node(id(a)).lines == ["a", "data 2"]
    assert layout.node(id(a)).leaf and layout.node(id(b)).leaf and not layout.node(id(c)).leaf


def test_boxes_in_one_layer_do_not_overlap_and_ops_sit_between_layers():
    x = [Value(float(i), label=f"x{i}") for i in range(6)]
    out = sum((xi * xi for xi in x), Value(0.0))
    out.backward()
    for rankdir in ("LR", "TB"):
        layout = graph_layout(out, rankdir=rankdir)
        across = "y" if rankdir == "LR" else "x"
        by_depth = {}
        for n in layout.values:
            by_depth.setdefault(n.depth, []).append(getattr(n, across))
        for depth, places in by_depth.items():
            places = sorted(places)
            gaps = np.diff(places)
            assert np.all(gaps >= SPACING[rankdir] - 1e-9), f"{rankdir}: boxes at depth {depth} overlap: {places}"
        for op in layout.ops:  # half a pitch upstream of the value it made
            made = layout.node(op.key[1])
            if rankdir == "LR":
                assert (op.x, op.y) == pytest.approx((made.x - PITCH["LR"] / 2, made.y))
            else:
                assert (op.x, op.y) == pytest.approx((made.x, made.y + PITCH["TB"] / 2))


def test_top_to_bottom_puts_the_output_at_the_bottom():
    a, b, c, d = small_expression()
    layout = graph_layout(d, rankdir="TB")
    assert layout.node(id(d)).y == 0.0
    assert layout.node(id(a)).y == pytest.approx(2 * PITCH["TB"])
    for source, target in layout.edges:
        assert layout.node(source).y > layout.node(target).y


def test_a_value_used_twice_in_one_op_gets_one_arrow():
    a = Value(3.0, label="a")
    s = a * a
    s.backward()
    layout = graph_layout(s)
    assert sorted(layout.edges, key=str) == sorted([(id(a), ("op", id(s))), (("op", id(s)), id(s))], key=str)
    assert layout.node(id(a)).lines[-1] == "grad 6"  # d(a^2)/da = 2a


def test_a_long_chain_does_not_hit_the_recursion_limit():
    x = Value(0.5)
    y = x
    for _ in range(5000):
        y = y * 1.0
    layout = graph_layout(y, max_nodes=20000)
    assert max(n.depth for n in layout.values) == 5000


def test_tensor_graph_shows_names_shapes_and_function_symbols():
    W = nnlearn.tensor(np.ones((2, 3)), requires_grad=True)
    X = nnlearn.tensor(np.ones((4, 2)))
    loss = (X @ W).tanh().mean()
    loss.backward()
    layout = graph_layout(loss, labels={"W": W, "X": X})
    assert layout.node(id(W)).lines == ["W", "shape (2, 3)", "grad ✓"]
    assert layout.node(id(X)).lines == ["X", "shape (4, 2)"]
    assert [op.lines[0] for op in layout.ops] == ["@", "tanh", "mean"]
    assert layout.node(id(loss)).lines == ["scalar"]
    b = nnlearn.tensor(np.array([0.5]), requires_grad=True)   # a one-element gradient is written out
    (b * 3.0).sum().backward()
    assert graph_layout((b * 3.0).sum(), labels={"b": b}).node(id(b)).lines == ["b", "shape (1,)", "grad 3"]


# ---------------------------------------------------------------------- drawing
def test_draw_graph_draws_every_box_circle_and_arrow():
    a, b, c, d = small_expression()
    fig = draw_graph(d, title="d = a * b + a")
    ax = fig.axes[0]
    shown = texts(fig)
    assert "a\ndata 2\ngrad -2" in shown and "d\ndata -4\ngrad 1" in shown
    assert "*" in shown and "+" in shown
    kinds = [type(p).__name__ for p in ax.patches]
    assert kinds.count("FancyBboxPatch") == 4 and kinds.count("Circle") == 2
    assert kinds.count("FancyArrowPatch") == 6
    assert ax.get_title() == "d = a * b + a"
    # the figure is sized to the graph: three layers of boxes across, a few inches
    width, height = fig.get_size_inches()
    assert width > height > 0


def test_draw_graph_into_given_axes_after_a_new_backward():
    a, b, c, d = small_expression()
    fig, ax = plt.subplots()
    assert draw_graph(d, ax=ax) is fig
    before = texts(fig)
    e = d * 3.0
    e.backward()  # gradients change: dd/da was -2, de/da is -6
    ax.clear()
    draw_graph(e, ax=ax)
    after = texts(fig)
    assert "a\ndata 2\ngrad -2" in before and "a\ndata 2\ngrad -6" in after


def test_bad_arguments_are_explained():
    a, b, c, d = small_expression()
    with pytest.raises(TypeError, match="root must be an nnlearn.Value or nnlearn.Tensor, got float"):
        draw_graph(1.5)
    with pytest.raises(ValueError, match="rankdir must be 'LR'.*got 'BT'"):
        draw_graph(d, rankdir="BT")
    with pytest.raises(ValueError, match="more than max_nodes=3 values"):
        draw_graph(d, max_nodes=3)
    with pytest.raises(ValueError, match="max_nodes must be an int >= 1, got 0"):
        graph_layout(d, max_nodes=0)
    with pytest.raises(TypeError, match=r"labels\['W'\] must be a Tensor, got ndarray"):
        graph_layout(nnlearn.tensor([1.0], requires_grad=True).sum(), labels={"W": np.ones(1)})


def test_box_geometry_constants_leave_room_for_the_operation():
    # the op circle must fit between two layers of boxes in both directions
    assert PITCH["LR"] - BOX_WIDTH > 0.5
    assert PITCH["TB"] - BOX_HEIGHT > 0.5

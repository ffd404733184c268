"""neurorl.ann.nn: layers against finite differences, conv against a direct loop, standard nets."""

import numpy as np
import pytest

from neurorl.ann import nn


def numeric_grad(f, x, eps=1e-6):
    """Central finite differences of scalar f at float64 array x (modified in place, restored)."""
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        idx = it.multi_index
        old = x[idx]
        x[idx] = old + eps
        fp = f()
        x[idx] = old - eps
        fm = f()
        x[idx] = old
        g[idx] = (fp - fm) / (2 * eps)
    return g


def conv_reference(W, b, x, stride):
    """Direct loop convolution (valid, NCHW) to check the im2col version against."""
    n, c, h, w = x.shape
    o, _, k, _ = W.shape
    ho, wo = (h - k) // stride + 1, (w - k) // stride + 1
    y = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = x[:, :, i * stride : i * stride + k, j * stride : j * stride + k]
            y[:, :, i, j] = np.einsum("nckl,ockl->no", patch, W) + b
    return y


@pytest.mark.parametrize("stride,k,hw", [(1, 3, 6), (2, 4, 9), (4, 8, 20)])
def test_conv_forward_matches_direct_loop(stride, k, hw):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, hw, hw))
    W = rng.normal(size=(5, 3, k, k))
    b = rng.normal(size=5)
    y, _ = nn.conv2d_forward(W, b, x, stride)
    np.testing.assert_allclose(y, conv_reference(W, b, x, stride), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("stride,k,hw", [(1, 3, 6), (2, 4, 9), (4, 8, 13)])
def test_conv_gradients_match_finite_differences(stride, k, hw):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 2, hw, hw))
    W = rng.normal(size=(3, 2, k, k))
    b = rng.normal(size=3)
    y, cache = nn.conv2d_forward(W, b, x, stride)
    r = rng.normal(size=y.shape)  # loss = sum(r * y)

    def loss():
        return float(np.sum(r * nn.conv2d_forward(W, b, x, stride)[0]))

    dx, dW, db = nn.conv2d_backward(W, cache, r, stride)
    np.testing.assert_allclose(dW, numeric_grad(loss, W), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(db, numeric_grad(loss, b), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-6, atol=1e-6)


def test_dense_gradients_match_finite_differences():
    rng = np.random.default_rng(2)
    x, W, b = rng.normal(size=(4, 5)), rng.normal(size=(5, 3)), rng.normal(size=3)
    y, cache = nn.dense_forward(W, b, x)
    r = rng.normal(size=y.shape)

    def loss():
        return float(np.sum(r * nn.dense_forward(W, b, x)[0]))

    dx, dW, db = nn.dense_backward(W, cache, r)
    np.testing.assert_allclose(dW, numeric_grad(loss, W), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(db, numeric_grad(loss, b), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "net",
    [nn.mlp(6, [7, 5], 3), nn.minatar_cnn(2, 3, size=6),
     nn.Sequential.build((2, 11, 11), [("conv", 3, 3, 2), ("conv", 4, 2, 1), ("dense", 6),
                                       ("dense", 2)])],
    ids=["mlp", "minatar-like", "two-conv"],
)
def test_sequential_gradients_match_finite_differences(net):
    rng = np.random.default_rng(3)
    params = {k: v.astype(np.float64) for k, v in net.init(rng, "he").items()}
    # shift biases so that few ReLUs sit at the kink, where finite differences are meaningless
    for k in params:
        if k.endswith(".b"):
            params[k] += 0.1
    x = rng.normal(size=(3, *net.in_shape)).astype(np.float32)
    y, cache = net.forward(params, x)
    r = rng.normal(size=y.shape)
    dx, grads = net.backward(params, cache, r, need_dx=True)
    assert dx.shape == x.shape
    for name, p in params.items():
        num = numeric_grad(lambda: float(np.sum(r * net(params, x))), p)
        np.testing.assert_allclose(grads[name], num, rtol=1e-5, atol=1e-5, err_msg=name)


def test_products_skip_silent_units_and_match_the_dense_ones(monkeypatch):
    """Batches where hidden units never fire take the block-sparse path; same numbers, and
    the same gradients as finite differences (and ``out=`` receives them in place)."""
    rng = np.random.default_rng(5)
    net = nn.mlp(5, [12, 10], 3)
    params = {k: v.astype(np.float64) for k, v in net.init(rng, "he").items()}
    params["l0.b"][:7] = -50.0  # 7 of 12 first-layer units silent for every input
    params["l1.b"][:6] = -50.0  # 6 of 10 second-layer units silent
    params["l0.b"][7:] += 0.1  # and the rest away from the ReLU kink
    x = rng.normal(size=(nn.SPARSE_MIN_ROWS + 4, 5)).astype(np.float32)
    r = rng.normal(size=(len(x), 3))

    y, cache = net.forward(params, x)
    active = [c[2] for c in cache["layers"]]
    assert active[0] is not None and len(active[0]) <= 5
    assert active[1] is not None and len(active[1]) <= 4
    out = {k: np.full_like(v, np.nan) for k, v in params.items()}
    dx, grads = net.backward(params, cache, r, need_dx=True, out=out)
    assert grads is out

    monkeypatch.setattr(nn, "SPARSE_MAX_FRACTION", -1.0)  # dense products everywhere
    y_dense, cache_dense = net.forward(params, x)
    assert all(c[2] is None for c in cache_dense["layers"])
    dx_dense, grads_dense = net.backward(params, cache_dense, r, need_dx=True)
    np.testing.assert_allclose(y, y_dense, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, dx_dense, rtol=1e-5, atol=1e-7)  # backward runs in float32
    for name in params:
        np.testing.assert_allclose(grads[name], grads_dense[name], rtol=1e-5, atol=1e-7)
    monkeypatch.undo()
    for name, p in params.items():
        num = numeric_grad(lambda: float(np.sum(r * net(params, x))), p)
        np.testing.assert_allclose(grads[name], num, rtol=1e-5, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "block-sparse"])
def test_backward_without_weights_gives_the_same_input_gradient_and_no_grads(sparse):
    """``weights=False`` (d Q / d a through a critic's heads) returns the very dx of a full
    backward, computes no weight gradient and leaves ``out`` untouched."""
    rng = np.random.default_rng(6)
    net = nn.mlp(5, [12, 10], 3)
    params = net.init(rng, "he")
    if sparse:
        params["l0.b"][:7] = -50.0
        params["l1.b"][:6] = -50.0
    x = rng.normal(size=(nn.SPARSE_MIN_ROWS + 4, 5)).astype(np.float32)
    r = rng.normal(size=(len(x), 3)).astype(np.float32)
    _, cache = net.forward(params, x)
    assert all((c[2] is not None) == sparse for c in cache["layers"][:2])
    dx_full, _ = net.backward(params, cache, r, need_dx=True)
    out = {k: np.full_like(v, np.nan) for k, v in params.items()}
    dx, grads = net.backward(params, cache, r, need_dx=True, out=out, weights=False)
    np.testing.assert_array_equal(dx, dx_full)
    assert grads is out and all(np.isnan(v).all() for v in out.values())
    assert net.backward(params, cache, r, need_dx=True, weights=False)[1] == {}


def test_float32_end_to_end_and_preactivations():
    net = nn.mlp(4, [8], 2)
    params = net.init(np.random.default_rng(0))
    assert all(p.dtype == np.float32 for p in params.values())
    x = np.random.default_rng(1).normal(size=(5, 4))  # float64 input is cast
    y, cache = net.forward(params, x, preactivations=True)
    assert y.dtype == np.float32 and y.shape == (5, 2)
    pre = cache["pre"]
    assert [p.shape for p in pre] == [(5, 8), (5, 2)]
    # the hidden pre-activation is the affine map of the input; the output equals the last one
    np.testing.assert_allclose(pre[0], x.astype(np.float32) @ params["l0.W"] + params["l0.b"],
                               rtol=1e-6)
    np.testing.assert_array_equal(pre[1], y)
    _, grads = net.backward(params, cache, np.ones_like(y))
    assert all(g.dtype == np.float32 for g in grads.values())


def test_standard_net_shapes_and_spec_round_trip():
    nature = nn.nature_cnn(6)
    assert [s.out_shape for s in nature.layers] == [(32, 20, 20), (64, 9, 9), (64, 7, 7), (512,),
                                                    (6,)]
    minatar = nn.minatar_cnn(4, 3)
    assert minatar.param_shapes() == {"l0.W": (16, 4, 3, 3), "l0.b": (16,),
                                      "l1.W": (1024, 128), "l1.b": (128,),
                                      "l2.W": (128, 3), "l2.b": (3,)}
    again = nn.Sequential.from_dict(nature.to_dict())
    assert again.layers == nature.layers
    params = nature.init(np.random.default_rng(0))
    y = nature(params, np.zeros((2, 4, 84, 84), np.float32))
    assert y.shape == (2, 6)


def test_torch_style_init_bounds_and_seeding():
    net = nn.mlp(100, [50], 3)
    p1 = net.init(np.random.default_rng(7))
    p2 = net.init(np.random.default_rng(7))
    for k in p1:
        np.testing.assert_array_equal(p1[k], p2[k])
    assert np.abs(p1["l0.W"]).max() <= 0.1 and np.abs(p1["l0.W"]).max() > 0.09
    with pytest.raises(ValueError, match="unknown initialisation"):
        net.init(np.random.default_rng(0), "bogus")


def test_bad_architecture_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        nn.Sequential.build((1, 4, 4), [("conv", 2, 5, 1), ("dense", 2)])
    with pytest.raises(ValueError, match="unknown layer kind"):
        nn.Sequential.build((3,), [("lstm", 2)])

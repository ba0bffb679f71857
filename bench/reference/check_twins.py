#!/usr/bin/env python3
"""Checks that the JAX twin (jax_workloads.py) computes what the PyTorch twin (workloads.py)
does: for the same weights, the same W1 and W2 losses and gradients and the same Adam step
(to float32 rounding), and a W3 grid of the same shape and type that integrates to about 1
over t. Not part of CI; run it after changing either twin.

    python bench/reference/check_twins.py     # exits non-zero on a mismatch
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import jax_workloads as J  # noqa: E402  (first: it limits XLA's threads before jax starts)
import workloads as T  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402
import torch  # noqa: E402

failures = []


def close(what, got, want, tolerance):
    error = float(np.max(np.abs(np.asarray(got) - np.asarray(want))))
    scale = float(np.max(np.abs(np.asarray(want)))) or 1.0
    ok = error <= tolerance * scale
    print(f"{'ok  ' if ok else 'FAIL'} {what}: max |difference| {error:.3g} (largest value {scale:.3g})")
    if not ok:
        failures.append(what)


def dense(layer):
    return {"w": jnp.asarray(layer.weight.detach().numpy().T),
            "b": jnp.asarray(layer.bias.detach().numpy())}


def conv(layer):  # OIHW -> HWIO
    return {"w": jnp.asarray(layer.weight.detach().numpy().transpose(2, 3, 1, 0)),
            "b": jnp.asarray(layer.bias.detach().numpy())}


def main():
    torch.manual_seed(0)
    tolerance = 1e-5

    # W1: the toy MDN on 256 rows.
    toy = T.ToyMdn()
    T.init_uniform(toy)
    x, t = T.toy_points(256, np.random.default_rng(1))
    x, t = T.standardise(x), T.standardise(t)
    loss_t = T.nll(*toy(torch.from_numpy(x).reshape(-1, 1)), torch.from_numpy(t).reshape(-1, 1))
    loss_t.backward()
    params = {"l1": dense(toy.backbone[0]), "l2": dense(toy.backbone[2]), "head": dense(toy.head.linear)}
    loss_j, grads = jax.value_and_grad(
        lambda p: J.nll(*J.toy_forward(p, jnp.asarray(x).reshape(-1, 1)), jnp.asarray(t).reshape(-1, 1))
    )(params)
    close("W1 loss", float(loss_j), loss_t.item(), tolerance)
    for name, layer in (("l1", toy.backbone[0]), ("l2", toy.backbone[2]), ("head", toy.head.linear)):
        close(f"W1 gradient of {name}.w", grads[name]["w"], layer.weight.grad.numpy().T, tolerance)
        close(f"W1 gradient of {name}.b", grads[name]["b"], layer.bias.grad.numpy(), tolerance)

    # One Adam step from those gradients.
    torch.optim.Adam(toy.parameters(), lr=T.LEARNING_RATE, eps=1e-8).step()
    adam = optax.adam(J.LEARNING_RATE, b1=0.9, b2=0.999, eps=1e-8)
    updates, _ = adam.update(grads, adam.init(params), params)
    stepped = optax.apply_updates(params, updates)
    close("W1 weights after one Adam step (l2.w)", stepped["l2"]["w"],
          toy.backbone[2].weight.detach().numpy().T, tolerance)

    # W2: the conv MDN on 16 images. The dense layer's rows are NCHW-flattened in PyTorch,
    # NHWC-flattened in JAX.
    cnn = T.ConvMdn()
    T.init_uniform(cnn)
    rng = np.random.default_rng(2)
    pixels = T.standardise(rng.random(16 * 784))
    digits = T.standardise(rng.integers(0, 10, 16).astype(np.float64))
    loss_t = T.nll(*cnn(torch.from_numpy(pixels).reshape(16, 784)), torch.from_numpy(digits).reshape(-1, 1))
    loss_t.backward()
    d = cnn.backbone[7]
    to_nhwc = lambda w: w.reshape(-1, 32, 7, 7).transpose(2, 3, 1, 0).reshape(1568, -1)
    params = {
        "c1": conv(cnn.backbone[0]),
        "c2": conv(cnn.backbone[3]),
        "d": {"w": jnp.asarray(to_nhwc(d.weight.detach().numpy())), "b": jnp.asarray(d.bias.detach().numpy())},
        "head": dense(cnn.head.linear),
    }
    loss_j, grads = jax.value_and_grad(
        lambda p: J.nll(*J.conv_forward(p, jnp.asarray(pixels).reshape(16, 784)),
                        jnp.asarray(digits).reshape(-1, 1))
    )(params)
    close("W2 loss", float(loss_j), loss_t.item(), tolerance)
    for name, layer in (("c1", cnn.backbone[0]), ("c2", cnn.backbone[3])):
        close(f"W2 gradient of {name}.w", grads[name]["w"],
              layer.weight.grad.numpy().transpose(2, 3, 1, 0), tolerance)
    close("W2 gradient of d.w", grads["d"]["w"], to_nhwc(d.weight.grad.numpy()), tolerance)
    close("W2 gradient of head.w", grads["head"]["w"], cnn.head.linear.weight.grad.numpy().T, tolerance)

    # W3: shape, type and normalisation (the two sides' weights differ).
    for side, grid in (("JAX", J.DensityGrid().evaluate()), ("PyTorch", T.DensityGrid().evaluate())):
        mass = grid.sum(axis=1) * (1.2 / (J.GRID - 1))  # over t in [-0.1, 1.1], per x
        middle = mass[J.GRID // 4 : 3 * J.GRID // 4]
        ok = grid.shape == (J.GRID, J.GRID) and grid.dtype == np.float64 and abs(middle.mean() - 1) < 0.05
        print(f"{'ok  ' if ok else 'FAIL'} W3 {side}: {grid.shape} {grid.dtype}, "
              f"mass over t at mid-range x {middle.mean():.3f}")
        if not ok:
            failures.append(f"W3 {side}")

    if failures:
        sys.exit(f"{len(failures)} check(s) failed: {', '.join(failures)}")
    print("the twins agree")


if __name__ == "__main__":
    main()

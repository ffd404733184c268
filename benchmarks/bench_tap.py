"""One recurrent SAC-discrete update: neurorl against the GRSN authors' PyTorch code, on the CPU.

What is measured: the wall time of ONE full SAC-discrete update on a batch of 32 sequences of 64
steps (hidden size 128), i.e. the authors' ``agent.update(batch)``: critic loss and Adam step
(target policy and target critic over the sequence, both critics), actor loss and Adam step,
automatic entropy (alpha) step, soft target update. Two memory encoders:

* ``RecurrentLIF`` -- the GRSN neuron with TAP (``grsn/policies/rlifs/RecurrentLIF.py``), built as
  ``experiments/train.py --env CartPole-V-v0 --model_type snn --snn_type RecurrentLIF --algo sacd``
  builds it (``ModelFreeOffPolicy_Separate_SNN``);
* ``gru`` -- ``experiments/train.py --env CartPole-V-v0 --model_type rnn --encoder gru --algo sacd``
  (``ModelFreeOffPolicy_Separate_RNN`` over ``torch.nn.GRU``).

Both take every network and optimiser setting from the authors' ``configs/pomdp/cartpole/v/rnn.yml``
(the file train.py picks for CartPole-V): ``batch_size: 32``, ``sampled_seq_len: 64``,
``rnn_hidden_size: 128``, embeddings 8 (action) / 32 (observation) / 8 (reward), ``dqn_layers`` and
``policy_layers`` ``[128, 128]``, ``lr: 0.0003``, ``gamma: 0.9``, ``tau: 0.005``, ``sacd``:
automatic entropy tuning, ``target_entropy: 0.7``, ``alpha_lr: 0.0003``; one recurrent layer
(train.py's default). The dimensions come from their registered ``CartPole-V-v0`` (velocities
only: observation 2, 2 actions, 200 steps). The batch comes from their ``SeqReplayBuffer`` filled
with random 200-step episodes, sampled with ``random_episodes(32)`` and converted with
``ptu.np_to_pytorch_batch`` exactly as train.py's ``update`` does: obs, act, rew, term, obs2, mask
as (64, 32, dim) float tensors. Batches are sampled before the clock starts; each timed call is one
``agent.update(batch)``.

The peer runs in fresh subprocesses under ``.venv-grsn`` (torch CPU), one per encoder and round;
a few warm-up calls at each thread count, then the timed calls alternate between
``torch.set_num_threads(1)`` and ``(2)`` call by call (1 2 2 1 1 2 ...), so both thread counts see
the same load (``--thread-mode process``: a fresh process per encoder, thread count and round
instead). The machine has 2 cores shared with other work, so measurements alternate and repeat:
each round visits every encoder on both sides, odd rounds in reverse order. Reported: median, min
and max over all timed calls of all rounds, the per-round medians (their spread shows the load
drifting), the process CPU time per call (above the wall time only when the second thread did
work) and the load average; the mean too, which is what a training run's wall time pays. The
peer's "ms" in the final table is its faster thread count by the median.
The neurorl side is timed in this process for every pair of ``--nrl-loops`` (``python``: the
reference loops, numpy calls per step, of the spiking kernel as before issue 19 and of the GRU;
``compiled``: their numba loops, ``neurorl.kernel.compiled`` and ``neurorl.ann.recurrent_compiled``)
and way of using the cores: ``--nrl-threads`` (numpy's BLAS threads) and ``--nrl-shards``
(``SACDConfig.shards``: that many threads compute the 32 sequences side by side, one BLAS thread
each, :mod:`neurorl.ann.shards`), each round visiting all of them; its "ms" is the compiled
loops at their fastest of these, "before" the Python loops at theirs.
Under a load average above the core count, 2 threads can be several times slower than 1; read
the load column before the verdict. Measured here (2026-12, load average 2-4, 4 runs, 192 timed
calls per cell): RecurrentLIF 114 ms (1 thread) / 102 ms (2 threads) median, GRU 105 / 78 ms; at
2 threads 17 % (RecurrentLIF) and 8 % (GRU) of the calls stalled at over 3x the median, up to
22 s, with CPU time about equal to wall time (one thread waiting on its descheduled partner), so
the 2-thread means were 1,255 and 146 ms against 116 and 107 ms at 1 thread.

The GRU update's floor: after the table, every matrix product of neurorl's GRU update
(:func:`gru_update_products`: 463 products, 4.26 GFLOP) is timed alone with numpy's BLAS at each
``--nrl-threads`` count, and all its FLOPs are divided by the best sgemm rate of the same run;
for ``--nrl-shards`` k, the products of one shard (32 / k sequences) and their FLOPs are timed
on one thread (the other shards run beside it on the other cores). No implementation of this
arithmetic on this BLAS is faster than "the products alone", so the peer's time over it bounds
the ratio any implementation could show here (``--no-floor`` skips it). Small products on 2 BLAS
threads time unevenly from run to run (OpenBLAS hands a product to its second thread or not by
its size, and that thread spins or sleeps between products); the shard floor does not depend on
that.

Run (from the repository root)::

    .venv/bin/python benchmarks/bench_tap.py                    # both sides, 3 rounds x 10 calls
    .venv/bin/python benchmarks/bench_tap.py --only peer --rounds 5 --repeats 20
    .venv/bin/python benchmarks/bench_tap.py --peer-src /tmp/grsn-bench/grsn-snn --out runs/tap.json

``.venv/bin/python`` drives both: the neurorl side in-process (``neurorl_update_ms``), the peer side
through ``.venv-grsn/bin/python`` (``--peer-python`` to change it). Without ``--peer-src`` the
authors' snapshot ``../shared/peers/grsn-snn-ce7ecdd.tar.gz`` is unpacked into a temporary folder
and patched there (below). This file imports only the standard library at module level, so the
same file serves as the peer worker under .venv-grsn.

Install of .venv-grsn (``make grsn-env`` does exactly this)::

    python3 -m venv .venv-grsn
    .venv-grsn/bin/pip install torch==2.13.0       # the CPU wheel on disk; never a CUDA download
    .venv-grsn/bin/pip install --no-deps spikingjelly==0.0.0.0.14   # it asks for torchvision,
                                                                      # never used
    .venv-grsn/bin/pip install gym==0.26.2 ruamel.yaml python-dateutil tensorboardX pycolab tqdm \\
        seaborn "numpy<2" "pandas<2.3" "scikit-learn<1.6" "scipy<1.14" "matplotlib<3.10"

(gym 0.26 needs numpy < 2; sklearn, seaborn, pycolab and tensorboardX are imported
unconditionally by their package.)

Changed in the peer's scratch copy, nothing else: ``grsn/utils/logger.py`` imports ``Set`` from
``collections``, which Python >= 3.10 removed (it lives in ``collections.abc`` only); the line
``from collections import OrderedDict, Set`` becomes ``from collections import OrderedDict`` plus
``from collections.abc import Set``. The update code, the networks and the buffer are run as they
are. The snapshot is read-only source: it is never committed and neurorl never imports it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEER_TARBALL = ROOT.parent / "shared" / "peers" / "grsn-snn-ce7ecdd.tar.gz"
PEER_PYTHON = ROOT / ".venv-grsn" / "bin" / "python"
PEER_CONFIG = "configs/pomdp/cartpole/v/rnn.yml"  # what train.py picks for CartPole-V-v0
PEER_ENV = "CartPole-V-v0"
ENCODERS = ("RecurrentLIF", "gru")
# the train.py command line each encoder stands for
PEER_ARGS = {
    "RecurrentLIF": "--env CartPole-V-v0 --model_type snn --snn_type RecurrentLIF --algo sacd",
    "gru": "--env CartPole-V-v0 --model_type rnn --encoder gru --algo sacd",
}
# the shapes both sides use (the authors' config values; obs/actions of their CartPole-V)
SHAPES = dict(batch_size=32, seq_len=64, hidden=128, obs_dim=2, n_actions=2)
RESULT_TAG = "BENCH_TAP_RESULT "
LOGGER_OLD = "from collections import OrderedDict, Set\n"
LOGGER_NEW = ("from collections import OrderedDict\n"
              "from collections.abc import Set  # bench_tap: Python >= 3.10\n")


# ---------------------------------------------------------------------------------------------
# neurorl side (in-process, .venv)
# ---------------------------------------------------------------------------------------------

def neurorl_update_ms(encoder: str, repeats: int, loops: str = "auto",
                      threads: int = 1, shards: int = 1) -> list[float]:
    """ms per update of neurorl's recurrent SAC-discrete, ``repeats`` timed calls after warm-up.

    ``encoder`` is ``"RecurrentLIF"`` (GRSN with TAP) or ``"gru"``; shapes as ``SHAPES`` (batch 32
    sequences x 64 steps, hidden 128, observation 2, 2 actions) and the authors' config values in
    the module docstring. ``loops``: the encoders' time loops (``"python"``: the reference loops,
    as before issue 19; ``"compiled"``: numba, one thread); ``threads``: BLAS threads;
    ``shards``: threads that compute the batch's sequences side by side (``SACDConfig.shards``,
    :mod:`neurorl.ann.shards`), one BLAS thread each.
    """
    import numpy as np

    from neurorl.algos.sacd import SACDAgent, SACDConfig
    from neurorl.ann.nn import blas_threads
    from neurorl.rl.sequence_replay import SequenceReplay

    # the authors' RecurrentLIF is neurorl's grsn_input_gated (gates from the input)
    name = {"RecurrentLIF": "grsn_input_gated"}.get(encoder, encoder)
    os.environ["NEURORL_LOOPS"] = loops  # read by the kernels as built and by the GRU per call
    cfg = SACDConfig(encoder=name, hidden=SHAPES["hidden"], batch_size=SHAPES["batch_size"],
                     seq_len=SHAPES["seq_len"], shards=shards)
    agent = SACDAgent(SHAPES["obs_dim"], SHAPES["n_actions"], cfg)
    rng = np.random.default_rng(0)
    rb = SequenceReplay(20 * 200, (SHAPES["obs_dim"],), (), SHAPES["seq_len"])
    for _ in range(20):  # twenty random 200-step episodes, as the peer's batch
        obs = rng.normal(size=(201, SHAPES["obs_dim"])).astype(np.float32)
        rb.add_episode(obs[:-1], rng.integers(0, SHAPES["n_actions"], 200),
                       rng.normal(size=200).astype(np.float32), np.zeros(200, np.float32),
                       obs[1:])
    batches = [rb.sample(rng, SHAPES["batch_size"]) for _ in range(repeats + 3)]
    times = []
    with blas_threads(threads):
        for i, batch in enumerate(batches):
            start = time.perf_counter()
            agent.update(batch)
            if i >= 3:  # warm-up calls first
                times.append(1000 * (time.perf_counter() - start))
    return times


# ---------------------------------------------------------------------------------------------
# the arithmetic floor of the GRU update on this machine
# ---------------------------------------------------------------------------------------------

def gru_update_products(batch: int | None = None) -> dict[tuple[int, int, int], int]:
    """The matrix products of one neurorl GRU update: ``{(m, k, n): count}`` for (m, k) @ (k, n).

    Read off the update (``SACDAgent.update``): forward passes of the actor (1 head), the target
    critic and the critic twice (2 heads each; the second against the updated critic), backward
    passes of the critic and the actor, over T = L + 1 = 65 steps of B = 32 sequences (R = T*B
    rows). A forward: the four embeddings, the GRU's input projection (R, 48) @ (48, 3H), T
    recurrent products (B, H) @ (H, 3H), per head (R, 160) @ (160, 128), (R, 128) @ (128, 128),
    (R, 128) @ (128, A). A backward: each head layer's dW and dx, T products (B, 3H) @ (3H, H),
    the GRU's dW_ih, dW_hh and dx, the embeddings' dW. The authors' code does the same products
    plus a second actor forward (it does not reuse the actor's pass between the critic's target and
    the actor's loss), so this is a floor for both sides. ``batch``: the sequences (default 32;
    one shard of a split update has 32 / shards).
    """
    from neurorl.rl.recurrent_ac import ArchConfig

    arch = ArchConfig(encoder="gru", hidden=SHAPES["hidden"])
    B, T, H = batch or SHAPES["batch_size"], SHAPES["seq_len"] + 1, arch.hidden
    R, O, A = T * B, SHAPES["obs_dim"], SHAPES["n_actions"]
    n_in = arch.action_embedding + arch.reward_embedding + arch.observation_embedding
    embeds = [(A, arch.action_embedding), (1, arch.reward_embedding),
              (O, arch.observation_embedding), (O, arch.shortcut_embedding)]
    widths = [H + arch.shortcut_embedding, *arch.head_hidden, A]
    layers = list(zip(widths[:-1], widths[1:], strict=True))
    products: dict[tuple[int, int, int], int] = {}

    def add(shape: tuple[int, int, int], count: int = 1) -> None:
        products[shape] = products.get(shape, 0) + count

    def forward(heads: int) -> None:
        for k, n in embeds:
            add((R, k, n))
        add((R, n_in, 3 * H))
        add((B, H, 3 * H), T)
        for k, n in layers:
            add((R, k, n), heads)

    def backward(heads: int) -> None:
        for k, n in layers:
            add((k, R, n), heads)  # dW
            add((R, n, k), heads)  # dx
        add((B, 3 * H, H), T)
        add((n_in, R, 3 * H))
        add((H, R, 3 * H))
        add((R, 3 * H, n_in))
        for k, n in embeds:
            add((k, R, n))

    for heads in (1, 2, 2, 2):  # actor, target critic, critic, critic after its step
        forward(heads)
    backward(2)  # critic
    backward(1)  # actor
    return products


def blas_floor(products: dict[tuple[int, int, int], int], threads: int,
               repeats: int = 20) -> dict:
    """Time each distinct product of ``products`` alone in float32 with numpy's BLAS at
    ``threads`` threads (best of ``repeats``), and the machine's best sgemm rate (a
    (2048, 512) @ (512, 512) product).

    Returns ``{"gflop", "blas_ms"` (the sum of count x time: the products alone, nothing else),
    ``"peak_gflops"``, ``"peak_ms"`` (all the FLOPs at that rate)}``.
    """
    import numpy as np

    from neurorl.ann.nn import blas_threads

    def best_s(m: int, k: int, n: int) -> float:
        rng = np.random.default_rng(0)
        a = rng.random((m, k), dtype=np.float32)
        b = rng.random((k, n), dtype=np.float32)
        out = np.empty((m, n), np.float32)
        times = []
        for _ in range(repeats + 2):
            start = time.perf_counter()
            np.matmul(a, b, out=out)
            times.append(time.perf_counter() - start)
        return min(times[2:])

    with blas_threads(threads):
        blas_s = sum(count * best_s(*shape) for shape, count in products.items())
        peak = 2 * 2048 * 512 * 512 / best_s(2048, 512, 512) / 1e9
    flop = sum(2 * m * k * n * count for (m, k, n), count in products.items())
    return {"gflop": flop / 1e9, "blas_ms": 1000 * blas_s, "peak_gflops": peak,
            "peak_ms": 1000 * flop / 1e9 / peak}


# ---------------------------------------------------------------------------------------------
# peer side: the GRSN authors' code, in a subprocess under .venv-grsn
# ---------------------------------------------------------------------------------------------

def peer_worker(src: str, encoder: str, threads: list[int], warmup: int, repeats: int,
                seed: int) -> dict:
    """Build the authors' agent as train.py does and time ``agent.update(batch)``.

    With several thread counts the timed calls alternate between them call by call (ABBA...),
    ``torch.set_num_threads`` before each, so that both see the same load on a shared machine.
    """
    os.chdir(src)
    sys.path.insert(0, src)
    import grsn.torchkit.pytorch_utils as ptu
    import gym
    import numpy as np
    import torch
    from grsn import Policy_RNN, Policy_SNN
    from grsn.buffers import SeqReplayBuffer
    from grsn.utils import system
    from ruamel.yaml import YAML

    torch.set_num_threads(threads[0])
    ptu.set_gpu_mode(False)  # train.py: torch.cuda.is_available() and --cuda >= 0; CPU here
    system.reproduce(seed)
    import grsn.envs.pomdp  # noqa: F401  (registers CartPole-V-v0)

    env = gym.make(PEER_ENV)
    max_trajectory_len = env._max_episode_steps
    assert env.action_space.__class__.__name__ == "Discrete"
    act_dim = env.action_space.n
    obs_dim = env.observation_space.shape[0]
    algo = "sacd"  # train.py forces sacd for discrete actions

    v = YAML().load(open(PEER_CONFIG))
    t, p = v["train"], v["policy"]
    common = dict(
        obs_dim=obs_dim, action_dim=act_dim, algo_name=algo,
        action_embedding_size=p["action_embedding_size"],
        observ_embedding_size=p["observ_embedding_size"],
        reward_embedding_size=p["reward_embedding_size"],
        rnn_hidden_size=p["rnn_hidden_size"], dqn_layers=p["dqn_layers"],
        policy_layers=p["policy_layers"], lr=p["lr"], gamma=p["gamma"], tau=p["tau"],
        image_encoder_fn=lambda: None, kwargs=p[algo],
    )
    if encoder == "RecurrentLIF":
        agent = Policy_SNN(snn_type="RecurrentLIF", **common).to(ptu.device)
    elif encoder == "gru":
        agent = Policy_RNN(encoder="gru", **common).to(ptu.device)
    else:
        raise ValueError(encoder)
    batch_size, seq_len = t["batch_size"], t["sampled_seq_len"]
    buf = SeqReplayBuffer(max_replay_buffer_size=int(t["buffer_size"]), observation_dim=obs_dim,
                          action_dim=1, sampled_seq_len=seq_len,
                          sample_weight_baseline=t["sample_weight_baseline"])
    # random full-length episodes (timeouts: term 0), as collect_rollouts would store them
    rng = np.random.default_rng(seed)
    n_ep, L = 20, max_trajectory_len
    for _ in range(n_ep):
        obs = rng.standard_normal((L + 1, obs_dim)).astype(np.float32)
        buf.add_episode(observations=obs[:-1],
                        actions=rng.integers(0, act_dim, (L, 1)).astype(np.float32),
                        rewards=np.ones((L, 1), np.float32),
                        terminals=np.zeros((L, 1), bool), next_observations=obs[1:])
    batches = [ptu.np_to_pytorch_batch(buf.random_episodes(batch_size))
               for _ in range((warmup + repeats) * len(threads))]
    b0 = batches[0]
    shapes = {k: list(x.shape) for k, x in b0.items()}
    for k in ("obs", "obs2"):
        assert tuple(b0[k].shape) == (seq_len, batch_size, obs_dim), (k, b0[k].shape)
    for k in ("act", "rew", "term", "mask"):
        assert tuple(b0[k].shape) == (seq_len, batch_size, 1), (k, b0[k].shape)

    it = iter(batches)
    for th in threads:
        torch.set_num_threads(th)
        for _ in range(warmup):
            agent.update(next(it))
    ms: dict[int, list[float]] = {th: [] for th in threads}
    cpu_ms: dict[int, list[float]] = {th: [] for th in threads}
    load0 = os.getloadavg()[0]
    for i in range(repeats):
        for th in threads if i % 2 == 0 else threads[::-1]:
            torch.set_num_threads(th)
            assert torch.get_num_threads() == th
            b = next(it)
            c0, t0 = time.process_time(), time.perf_counter()
            out = agent.update(b)  # ends in .item() calls: synchronous
            ms[th].append((time.perf_counter() - t0) * 1e3)
            cpu_ms[th].append((time.process_time() - c0) * 1e3)
    from importlib.metadata import version

    return {
        "encoder": encoder, "threads": threads,
        "ms": {str(k): x for k, x in ms.items()},
        "cpu_ms": {str(k): x for k, x in cpu_ms.items()},
        "loadavg": [load0, os.getloadavg()[0]],
        "last_losses": {k: float(x) for k, x in out.items()},
        "agent_class": type(agent).__name__, "rnn_class": type(agent.critic.rnn).__name__,
        "n_params": sum(x.numel() for x in agent.parameters()),
        "obs_dim": obs_dim, "act_dim": act_dim, "batch_shapes": shapes,
        "config": {"batch_size": batch_size, "sampled_seq_len": seq_len,
                   "rnn_hidden_size": p["rnn_hidden_size"], "dqn_layers": list(p["dqn_layers"]),
                   "policy_layers": list(p["policy_layers"]), "lr": p["lr"],
                   "gamma": p["gamma"], "tau": p["tau"],
                   "embeddings": [p["action_embedding_size"], p["observ_embedding_size"],
                                  p["reward_embedding_size"]],
                   "sacd": {k: p[algo][k] for k in p[algo]}},
        "versions": {"torch": torch.__version__, "spikingjelly": version("spikingjelly"),
                     "numpy": np.__version__, "gym": gym.__version__,
                     "python": sys.version.split()[0]},
    }


def prepare_peer_src(peer_src: str | None, scratch: Path) -> Path:
    """The authors' folder with logger.py patched; the given folder itself is never modified."""
    if peer_src is None:
        with tarfile.open(PEER_TARBALL) as tf:
            tf.extractall(scratch, filter="data")
        src = scratch / "grsn-snn"
    else:
        src = Path(peer_src).resolve()
    logger = src / "grsn" / "utils" / "logger.py"
    text = logger.read_text()
    if LOGGER_OLD in text:
        if peer_src is not None:  # work on a copy, never on the given folder
            shutil.copytree(src, scratch / "grsn-snn")
            src = scratch / "grsn-snn"
            logger = src / "grsn" / "utils" / "logger.py"
            print(f"note: {peer_src} still has the Python < 3.10 import; patching a copy")
        logger.write_text(text.replace(LOGGER_OLD, LOGGER_NEW))
    return src


def run_peer(python: str, src: Path, encoder: str, threads: list[int], warmup: int, repeats: int,
             seed: int, timeout: float) -> dict:
    spec = json.dumps(dict(src=str(src), encoder=encoder, threads=threads, warmup=warmup,
                           repeats=repeats, seed=seed))
    out = subprocess.run([python, str(Path(__file__).resolve()), "--peer-worker", spec],
                         capture_output=True, text=True, timeout=timeout, check=False)
    lines = [x for x in out.stdout.splitlines() if x.startswith(RESULT_TAG)]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"peer worker {encoder}/{threads} failed (rc {out.returncode}):\n"
                           f"{out.stdout[-1500:]}\n{out.stderr[-3000:]}")
    return json.loads(lines[-1][len(RESULT_TAG):])


def stats(xs: list[float]) -> dict:
    q1, _, q3 = (statistics.quantiles(xs, n=4, method="inclusive") if len(xs) > 1
                 else (xs[0], xs[0], xs[0]))
    return {"median": statistics.median(xs), "q1": q1, "q3": q3, "min": min(xs), "max": max(xs),
            "mean": statistics.fmean(xs), "n": len(xs)}


def variant_key(threads: int, shards: int) -> str:
    """A neurorl variant's key in the summary: ``"2"`` (BLAS threads), ``"2s"`` (shards)."""
    return f"{shards}s" if shards > 1 else str(threads)


def short_label(key: str) -> str:
    """``"2"`` -> ``"2 thr"``, ``"2s"`` -> ``"2 shards"``."""
    return f"{key[:-1]} shards" if key.endswith("s") else f"{key} thr"


def cores_label(threads: int, shards: int) -> str:
    """How a neurorl variant uses the cores, in words."""
    return f"{shards} shards x 1 thread" if shards > 1 else f"{threads} BLAS thread(s)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--peer-src", default=None,
                    help="the unpacked grsn-snn folder (default: unpack the snapshot from "
                         "../shared/peers into a temporary folder and patch logger.py there)")
    ap.add_argument("--peer-python", default=str(PEER_PYTHON),
                    help="python of the peer venv (default .venv-grsn/bin/python; make grsn-env)")
    ap.add_argument("--encoders", nargs="+", choices=ENCODERS, default=list(ENCODERS))
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                    help="torch thread counts for the peer")
    ap.add_argument("--thread-mode", choices=["interleave", "process"], default="interleave",
                    help="interleave: one process per encoder and round, the timed calls "
                         "alternate between the thread counts call by call (paired under the "
                         "same load); process: a fresh process per (encoder, threads) block")
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternating rounds (odd rounds run the blocks in reverse order)")
    ap.add_argument("--repeats", type=int, default=10,
                    help="timed updates per block and thread count")
    ap.add_argument("--warmup", type=int, default=3,
                    help="untimed updates per block and thread count")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--nrl-loops", nargs="+", choices=["python", "compiled"],
                    default=["python", "compiled"],
                    help="neurorl's time loops to time (python: the reference loops)")
    ap.add_argument("--nrl-threads", type=int, nargs="+", default=[1, 2],
                    help="BLAS thread counts for neurorl")
    ap.add_argument("--nrl-shards", type=int, nargs="+", default=[2],
                    help="neurorl's shards (SACDConfig.shards: threads that compute the "
                         "sequences side by side, one BLAS thread each), timed besides the "
                         "BLAS thread counts")
    ap.add_argument("--only", choices=["both", "peer", "neurorl"], default="both")
    ap.add_argument("--no-floor", action="store_true",
                    help="skip timing the GRU update's matrix products alone (its floor here)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per peer block")
    ap.add_argument("--out", default=None, help="write all timings as JSON here")
    ap.add_argument("--peer-worker", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a.peer_worker is not None:
        res = peer_worker(**json.loads(a.peer_worker))
        print(RESULT_TAG + json.dumps(res), flush=True)
        return

    do_peer = a.only in ("both", "peer")
    do_nrl = a.only in ("both", "neurorl")
    if do_peer and not Path(a.peer_python).exists():
        print(f"no peer python at {a.peer_python} (make grsn-env): timing neurorl only")
        do_peer = False
    scratch = Path(tempfile.mkdtemp(prefix="grsn-bench-"))
    try:
        src = prepare_peer_src(a.peer_src, scratch) if do_peer else None
        if a.thread_mode == "interleave":  # one process per encoder, threads alternate per call
            blocks = [(e, tuple(a.threads)) for e in a.encoders]
        else:  # one fresh process per (encoder, threads)
            blocks = [(e, (t,)) for e in a.encoders for t in a.threads]
        pairs = [(e, t) for e in a.encoders for t in a.threads]
        peer: dict[tuple[str, int], list[dict]] = {b: [] for b in pairs}
        variants = [(lp, th, 1) for lp in a.nrl_loops for th in a.nrl_threads]
        variants += [(lp, 1, k) for lp in a.nrl_loops for k in a.nrl_shards if k > 1]
        nrl: dict[tuple, list[list[float]]] = {(e, *v): [] for e in a.encoders for v in variants}
        print(f"one SAC-discrete update, {SHAPES['batch_size']} sequences x {SHAPES['seq_len']} "
              f"steps, hidden {SHAPES['hidden']}, CartPole-V (obs {SHAPES['obs_dim']}, "
              f"{SHAPES['n_actions']} actions); {a.rounds} rounds x {a.repeats} timed calls "
              f"(+{a.warmup} warm-up) per block; peer source {src}")
        for r in range(a.rounds):
            order = blocks if r % 2 == 0 else blocks[::-1]
            for enc, ths in order if do_peer else []:
                res = run_peer(a.peer_python, src, enc, list(ths), a.warmup, a.repeats, a.seed,
                               a.timeout)
                for th in ths:
                    peer[(enc, th)].append({**res, "ms": res["ms"][str(th)],
                                            "cpu_ms": res["cpu_ms"][str(th)]})
                    print(f"  round {r} peer {enc:>12} threads {th}: median "
                          f"{statistics.median(res['ms'][str(th)]):7.1f} ms (cpu "
                          f"{statistics.median(res['cpu_ms'][str(th)]):7.1f} ms), load "
                          f"{res['loadavg'][0]:.2f}->{res['loadavg'][1]:.2f}", flush=True)
            keys = list(nrl) if r % 2 == 0 else list(nrl)[::-1]
            for enc, loops, th, k in keys if do_nrl else []:
                ms = neurorl_update_ms(enc, a.repeats, loops, th, k)
                nrl[(enc, loops, th, k)].append(ms)
                print(f"  round {r} neurorl {enc:>12} loops {loops:>8} {cores_label(th, k)}: "
                      f"median {statistics.median(ms):7.1f} ms, load {os.getloadavg()[0]:.2f}",
                      flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    summary: dict = {"peer": {}, "neurorl": {}, "shapes": SHAPES,
                     "thread_mode": a.thread_mode,
                     "peer_args": PEER_ARGS, "peer_config": PEER_CONFIG}
    if do_peer:
        first = peer[pairs[0]][0]
        print(f"\npeer: {first['agent_class']} / critic rnn {first['rnn_class']} etc.; config "
              f"{PEER_CONFIG}: {json.dumps(first['config'])}")
        print(f"peer versions: {json.dumps(first['versions'])}")
        print(f"\n{'encoder':>12} {'threads':>7} {'median ms':>10} {'q1':>7} {'q3':>7} "
              f"{'min':>7} {'max':>8} {'mean':>7} {'n':>4} {'round medians':>24} {'cpu ms':>7}")
        for enc, th in pairs:
            runs = peer[(enc, th)]
            ms = [x for res in runs for x in res["ms"]]
            cpu = [x for res in runs for x in res["cpu_ms"]]
            s = stats(ms)
            per_round = [statistics.median(res["ms"]) for res in runs]
            summary["peer"][f"{enc}/{th}"] = {**s, "round_medians": per_round,
                                             "cpu_median": statistics.median(cpu), "runs": runs}
            rm = " ".join(f"{x:.0f}" for x in per_round)
            print(f"{enc:>12} {th:>7} {s['median']:10.1f} {s['q1']:7.1f} {s['q3']:7.1f} "
                  f"{s['min']:7.1f} {s['max']:8.1f} {s['mean']:7.1f} {s['n']:>4} {rm:>24} "
                  f"{statistics.median(cpu):7.1f}")
        for enc in a.encoders:
            best = min(a.threads, key=lambda t: summary["peer"][f"{enc}/{t}"]["median"])
            summary["peer"][enc] = {"best_threads": best,
                                    "median": summary["peer"][f"{enc}/{best}"]["median"]}
            others = ", ".join(f"{t} thread(s) {summary['peer'][f'{enc}/{t}']['median']:.1f} ms"
                               for t in a.threads)
            print(f"peer {enc}: faster with {best} torch thread(s) by the median ({others})")
            by_mean = min(a.threads, key=lambda t: summary["peer"][f"{enc}/{t}"]["mean"])
            if by_mean != best:
                means = ", ".join(f"{t}: {summary['peer'][f'{enc}/{t}']['mean']:.1f} ms"
                                  for t in a.threads)
                print(f"  but {by_mean} thread(s) by the mean ({means}): stalls under load")
    if do_nrl:
        print(f"\n{'encoder':>12} {'loops':>8} {'threads':>20} {'median ms':>10} {'q1':>7} "
              f"{'q3':>7} {'min':>7} {'mean':>7} {'n':>4} {'round medians':>24}")
    for (enc, loops, th, k), runs in nrl.items():
        if not runs:
            continue
        ms = [x for run in runs for x in run]
        s = stats(ms)
        per_round = [statistics.median(x) for x in runs]
        summary["neurorl"][f"{enc}/{loops}/{variant_key(th, k)}"] = {
            **s, "round_medians": per_round, "blas_threads": th, "shards": k}
        rm = " ".join(f"{x:.0f}" for x in per_round)
        print(f"{enc:>12} {loops:>8} {cores_label(th, k):>20} {s['median']:10.1f} "
              f"{s['q1']:7.1f} {s['q3']:7.1f} {s['min']:7.1f} {s['mean']:7.1f} {s['n']:>4} "
              f"{rm:>24}")
    for enc in a.encoders:  # neurorl's fastest way to use the cores per loop kind, by the median
        for loops in a.nrl_loops if do_nrl else []:
            keys = [variant_key(th, k) for (e, lp, th, k) in nrl if e == enc and lp == loops]
            best = min(keys, key=lambda v: summary["neurorl"][f"{enc}/{loops}/{v}"]["median"])
            summary["neurorl"][f"{enc}/{loops}"] = {
                "best_threads": best,
                "median": summary["neurorl"][f"{enc}/{loops}/{best}"]["median"]}

    print(f"\n{'encoder':>12} {'peer ms':>16} {'neurorl ms':>16} {'peer/neurorl':>13} "
          f"{'before ms':>16} {'after/before':>13}")
    for enc in a.encoders:
        p = summary["peer"].get(enc)
        n = summary["neurorl"].get(f"{enc}/{a.nrl_loops[-1]}")
        before = summary["neurorl"].get(f"{enc}/python") if "python" in a.nrl_loops[:-1] else None
        pc = f"{p['median']:.1f} ({p['best_threads']} thr)" if p else "-"
        nc = f"{n['median']:.1f} ({short_label(n['best_threads'])})" if n else "-"
        rc = f"{p['median'] / n['median']:.2f}" if p and n else "-"
        bc = f"{before['median']:.1f} ({short_label(before['best_threads'])})" if before else "-"
        sc = f"{before['median'] / n['median']:.2f}x faster" if before and n else "-"
        print(f"{enc:>12} {pc:>16} {nc:>16} {rc:>13} {bc:>16} {sc:>13}")
    print(f"neurorl ms: time loops {a.nrl_loops[-1]!r} at the faster thread count; before: "
          "the reference Python loops (numpy calls per step)")
    if do_nrl and "gru" in a.encoders and not a.no_floor:
        products = gru_update_products()
        print(f"\nGRU update floor: {sum(products.values())} matrix products, "
              f"{sum(2 * m * k * n * c for (m, k, n), c in products.items()) / 1e9:.2f} GFLOP")
        p = summary["peer"].get("gru")
        ways = [(th, 1) for th in a.nrl_threads] + [(1, k) for k in a.nrl_shards if k > 1]
        for th, k in ways:
            # k shards: one shard's products (32 / k sequences) on one thread, the other shards
            # beside it on the other cores
            floor = blas_floor(gru_update_products(SHAPES["batch_size"] // k) if k > 1
                               else products, th)
            summary.setdefault("gru_floor", {})[variant_key(th, k)] = floor
            bound = (f"; peer {p['median']:.1f} ms / products alone = at most "
                     f"{p['median'] / floor['blas_ms']:.2f}x" if p else "")
            what = f"one shard's products alone (of {k})" if k > 1 else "the products alone"
            flops = "a shard's FLOPs" if k > 1 else "all FLOPs"
            print(f"  {cores_label(th, k)}: {what} {floor['blas_ms']:.1f} ms; {flops} "
                  f"at the best sgemm rate "
                  f"({floor['peak_gflops']:.0f} GFLOP/s) {floor['peak_ms']:.1f} ms{bound}",
                  flush=True)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(summary, indent=1))
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()

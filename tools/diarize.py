"""Speaker diarization on CPU, offline: who speaks when (the ``speakers`` stage's algorithm, no records here).

The recipe and every default below were calibrated on synthetic conversations and checked on real single-speaker
clips (see ``DiarizerConfig``; the study behind them is summarised in the README's speakers section):

    audio, 16 kHz mono float32
      -> speech regions        Silero VAD as shipped inside faster-whisper (the VAD the ASR uses), padded 0.05 s
      -> windows               1.6 s every 0.4 s inside each region (a 0.5-1.6 s region is one window)
      -> d-vectors             resemblyzer's GE2E encoder (its weights file ``pretrained.pt`` ships in the wheel),
                               on a mel spectrogram computed once per file; loudness normalised per window
      -> chunk means           each region cut into ~3 s pieces, the mean of their windows
      -> AHC                   cosine / average linkage at distance 0.15 (deliberate over-clustering)
      -> merging               centroids merge when cos >= merge_sim (0.845) or cos >= min(cohesion) - merge_rel
                               (0.04; a noisy speaker's spread decides); clusters under 3 s or 4 % of the speech
                               are absorbed; windows re-assigned to the nearest centroid (merge re-checked)
      -> 10 ms frame labels    soft vote of the windows covering a frame, median filter 0.5 s
      -> turns                 same-speaker gaps under 0.5 s bridged

The encoder is re-declared here (a 3-layer LSTM, 40 -> 256, a linear layer, ReLU, L2 norm: resemblyzer's
``VoiceEncoder``) and the mel spectrogram is computed with numpy exactly as resemblyzer's librosa call does, so the
``resemblyzer`` package is used only for its weights file and never imported (its ``__init__`` imports webrtcvad
and librosa, which this needs neither of).
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SR = 16000
FRAME_S = 0.01
"""resemblyzer's mel hop (10 ms), also the resolution of the speaker labels."""
EMBED_DIM = 256


@dataclass(frozen=True)
class DiarizerConfig:
    # speech regions (Silero)
    vad_threshold: float = 0.5
    vad_min_gap: float = 0.15
    vad_min_speech: float = 0.25
    vad_pad: float = 0.05
    # embeddings
    win: float = 1.6
    hop: float = 0.4
    min_win: float = 0.5
    norm_dbfs: float = -30.0
    # clustering
    threshold: float = 0.15
    chunk_s: float = 3.0
    min_cluster_s: float = 3.0
    min_cluster_frac: float = 0.04
    merge_sim: float = 0.845
    merge_rel: float = 0.04
    reassign_iters: int = 3
    # labelling
    median_s: float = 0.5
    bridge_gap: float = 0.5

    def params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class Features:
    duration: float
    regions: list[tuple[float, float]]
    win_t: np.ndarray  # (N, 2) window start/end (s)
    win_region: np.ndarray  # (N,) region index of each window
    emb: np.ndarray  # (N, 256) L2-normalised d-vectors
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Diarization:
    turns: list[tuple[float, float, int]]
    """(start, end, speaker index), speakers numbered 0.. by first appearance."""
    centroids: np.ndarray  # (K, 256), row k = speaker k
    speech_s: list[float]  # seconds of speech per speaker
    regions: list[tuple[float, float]]
    timings: dict[str, float]

    @property
    def n_speakers(self) -> int:
        return len(self.speech_s)


# -- the encoder and its input ---------------------------------------------------------------------------------------


def weights_file() -> Path | None:
    """resemblyzer's bundled encoder weights, located without importing the package (None if not installed)."""
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent / "pretrained.pt"


def load_encoder(path: Path) -> Any:
    import torch
    from torch import nn

    class VoiceEncoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(40, 256, 3, batch_first=True)
            self.linear = nn.Linear(256, EMBED_DIM)
            self.relu = nn.ReLU()

        def forward(self, mels: torch.Tensor) -> torch.Tensor:
            _, (hidden, _) = self.lstm(mels)
            raw = self.relu(self.linear(hidden[-1]))
            return raw / torch.norm(raw, dim=1, keepdim=True).clamp_min(1e-9)

    model = VoiceEncoder()
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["model_state"], strict=False)
    return model.eval()


def _hz_to_mel(f: np.ndarray) -> np.ndarray:  # Slaney's scale, as librosa's default
    f = np.asarray(f, dtype=np.float64)
    mel = f / (200.0 / 3)
    log = f >= 1000.0
    return np.where(log, 15.0 + np.log(np.maximum(f, 1e-9) / 1000.0) / (np.log(6.4) / 27.0), mel)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), m * (200.0 / 3))


def mel_filters(n_fft: int = 400, n_mels: int = 40) -> np.ndarray:
    """librosa.filters.mel(sr=16000, n_fft, n_mels) with its defaults (Slaney scale and area norm)."""
    fft_f = np.fft.rfftfreq(n_fft, 1.0 / SR)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(SR / 2), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_f)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper)) * (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    return weights.astype(np.float32)


def mel_frames(wav: np.ndarray, chunk: int = 20000) -> np.ndarray:
    """(T, 40) mel power spectrogram as resemblyzer computes it (librosa: 25 ms Hann window, 10 ms hop, centred,
    zero padded), in chunks of frames so an hour of audio never holds its whole STFT."""
    from scipy.fft import rfft

    n_fft, hop = 400, 160
    padded = np.pad(wav.astype(np.float32), n_fft // 2)
    n = 1 + (len(padded) - n_fft) // hop
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    basis = mel_filters(n_fft)
    out = np.empty((max(n, 0), basis.shape[0]), np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    for a in range(0, n, chunk):
        spec = rfft(frames[a:a + chunk] * window, axis=1)  # float32 in, complex64 out
        out[a:a + chunk] = (spec.real ** 2 + spec.imag ** 2) @ basis.T
    return out


# -- speech regions ---------------------------------------------------------------------------------------------------


def clean_regions(regions: list[tuple[float, float]], cfg: DiarizerConfig,
                  duration: float) -> list[tuple[float, float]]:
    """Bridge short gaps, drop short islands, pad."""
    merged: list[tuple[float, float]] = []
    for s, e in regions:
        if merged and s - merged[-1][1] < cfg.vad_min_gap:
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    out: list[tuple[float, float]] = []
    for s, e in merged:
        if e - s < cfg.vad_min_speech:
            continue
        s, e = max(0.0, s - cfg.vad_pad), min(duration, e + cfg.vad_pad)
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def speech_regions(wav: np.ndarray, cfg: DiarizerConfig) -> list[tuple[float, float]]:
    """Silero VAD (``faster_whisper.vad``, ONNX model inside the faster-whisper wheel)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    opts = VadOptions(threshold=cfg.vad_threshold, min_speech_duration_ms=int(cfg.vad_min_speech * 1000),
                      min_silence_duration_ms=int(cfg.vad_min_gap * 1000), speech_pad_ms=30)
    found = get_speech_timestamps(wav, opts)
    return clean_regions([(t["start"] / SR, t["end"] / SR) for t in found], cfg, len(wav) / SR)


# -- embeddings -------------------------------------------------------------------------------------------------------


def window_grid(regions: list[tuple[float, float]], cfg: DiarizerConfig) -> tuple[np.ndarray, np.ndarray]:
    """``cfg.win`` windows every ``cfg.hop`` inside each region, the last flush with its end; a region shorter than
    ``win`` (but at least ``min_win``) is one window of its own length."""
    out, reg = [], []
    for ri, (s, e) in enumerate(regions):
        length = e - s
        if length < cfg.min_win:
            continue
        if length <= cfg.win:
            out.append((s, e))
            reg.append(ri)
            continue
        starts = list(np.arange(s, e - cfg.win + 1e-6, cfg.hop))
        if e - cfg.win - starts[-1] > 1e-3:
            starts.append(e - cfg.win)
        out += [(st, st + cfg.win) for st in starts]
        reg += [ri] * len(starts)
    if not out and regions:  # only very short speech (one word): embed the longest region anyway
        ri = int(np.argmax([e - s for s, e in regions]))
        if regions[ri][1] - regions[ri][0] >= 0.2:
            out.append(regions[ri])
            reg.append(ri)
    return np.array(out, dtype=np.float64).reshape(-1, 2), np.array(reg, dtype=np.int64)


def embed_windows(encoder: Any, wav: np.ndarray, mel: np.ndarray, win_t: np.ndarray, cfg: DiarizerConfig,
                  progress: Any = None, batch: int = 64) -> np.ndarray:
    """A d-vector per window from slices of the file's mel; loudness normalised per window by scaling the power
    mel by (target / rms)^2 (resemblyzer's ``normalize_volume`` to -30 dBFS, done in the mel domain)."""
    import torch

    target = 10 ** (cfg.norm_dbfs / 20)
    f0 = np.round(win_t[:, 0] / FRAME_S).astype(int)
    f1 = np.minimum(np.round(win_t[:, 1] / FRAME_S).astype(int), len(mel))
    lens = f1 - f0
    gains = np.empty(len(win_t), np.float32)
    for i, (s, e) in enumerate(win_t):
        seg = wav[int(s * SR): int(e * SR)]
        gains[i] = (target / np.sqrt(np.mean(seg.astype(np.float64) ** 2) + 1e-12)) ** 2
    emb = np.zeros((len(win_t), EMBED_DIM), np.float32)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # batches of 64 small LSTM steps: more threads cost CPU (6x on 2 busy cores), not time
    try:
        _embed(encoder, mel, gains, f0, lens, emb, progress, batch)
    finally:
        torch.set_num_threads(threads)
    return emb


def _embed(encoder: Any, mel: np.ndarray, gains: np.ndarray, f0: np.ndarray, lens: np.ndarray, emb: np.ndarray,
           progress: Any, batch: int) -> None:
    import torch

    done = 0
    with torch.no_grad():
        for length in np.unique(lens):
            idx = np.nonzero(lens == length)[0]
            for b in range(0, len(idx), batch):
                ii = idx[b:b + batch]
                x = np.stack([mel[f0[i]:f0[i] + length] * gains[i] for i in ii]).astype(np.float32)
                emb[ii] = encoder(torch.from_numpy(x)).numpy()
                done += len(ii)
                if progress is not None:
                    progress(done, len(emb))


def extract(encoder: Any, wav: np.ndarray, cfg: DiarizerConfig, progress: Any = None) -> Features:
    timings = {}
    t0 = time.process_time()
    regions = speech_regions(wav, cfg)
    timings["vad"] = time.process_time() - t0
    t0 = time.process_time()
    win_t, win_region = window_grid(regions, cfg)
    if len(win_t):
        emb = embed_windows(encoder, wav, mel_frames(wav), win_t, cfg, progress)
    else:
        emb = np.zeros((0, EMBED_DIM), np.float32)
    timings["embed"] = time.process_time() - t0
    return Features(len(wav) / SR, regions, win_t, win_region, emb, timings)


# -- clustering -------------------------------------------------------------------------------------------------------


def l2n(x: np.ndarray) -> np.ndarray:
    return x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-9)


AHC_BLOCK = 3000
"""Pieces clustered at once. Average linkage keeps every pairwise distance (n²/2 doubles): 3,000 pieces, about
2.5 h of speech, need 36 MB, while the 12,000 of a 10-hour talk would need 1.2 GB at the end of a run."""


def _ahc(emb: np.ndarray, threshold: float, block: int = AHC_BLOCK) -> np.ndarray:
    """Average-linkage clusters (cosine distance below ``threshold``). Past ``block`` pieces, each block of
    consecutive pieces is clustered alone, then the blocks' clusters are clustered by their centroids (so memory
    stays bounded by the block whatever the length; the over-clustering this starts with is merged after)."""
    from sklearn.cluster import AgglomerativeClustering

    if len(emb) < 2:
        return np.zeros(len(emb), int)
    if len(emb) <= block:
        return AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                       distance_threshold=threshold).fit_predict(emb)
    labels = np.empty(len(emb), int)
    centroids: list[np.ndarray] = []
    for lo in range(0, len(emb), block):
        part = emb[lo:lo + block]
        found = _ahc(part, threshold, block)
        for k in np.unique(found):
            labels[lo:lo + block][found == k] = len(centroids)
            centroids.append(part[found == k].mean(0))
    if len(centroids) >= len(emb):  # nothing merged inside any block: nothing more to do
        return labels
    return _ahc(l2n(np.array(centroids)), threshold, block)[labels]


def chunk_embeddings(feat: Features, chunk_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Each region in round(len / chunk_s) equal pieces; a piece is the normalised mean of the windows centred in
    it. Returns (piece index of every window, piece embeddings)."""
    owner = np.zeros(len(feat.emb), int)
    pieces = []
    centers = feat.win_t.mean(1)
    for ri, (s, e) in enumerate(feat.regions):
        idx = np.nonzero(feat.win_region == ri)[0]
        if not len(idx):
            continue
        n = max(1, int(round((e - s) / chunk_s)))
        piece = np.minimum(((centers[idx] - s) / (e - s) * n).astype(int), n - 1)
        for p in np.unique(piece):
            j = idx[piece == p]
            owner[j] = len(pieces)
            pieces.append(feat.emb[j].mean(0))
    return owner, l2n(np.array(pieces))


def _centroids(emb: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ks = np.unique(labels)
    return ks, l2n(np.stack([emb[labels == k].mean(0) for k in ks]))


def merge_similar(emb: np.ndarray, labels: np.ndarray, merge_sim: float, merge_rel: float) -> np.ndarray:
    """Greedy centroid merging, the pair with the largest margin first: (i, j) merge when
    cos(C_i, C_j) >= merge_sim, or (merge_rel >= 0) cos(C_i, C_j) >= min(coh_i, coh_j) - merge_rel, where coh_k is
    the mean cosine of cluster k's windows to its centroid: a noisy speaker (music bed) merges its pieces while
    tight clusters stay apart."""
    while True:
        ks, C = _centroids(emb, labels)
        if len(ks) <= 1:
            return labels
        S = C @ C.T
        thr = np.full_like(S, merge_sim)
        if merge_rel >= 0:
            coh = np.array([np.mean(emb[labels == k] @ C[i]) for i, k in enumerate(ks)])
            thr = np.minimum(thr, np.minimum.outer(coh, coh) - merge_rel)
        margin = S - thr - 3 * np.eye(len(ks))
        i, j = np.unravel_index(np.argmax(margin), margin.shape)
        if margin[i, j] < 0:
            return labels
        labels = np.where(labels == ks[j], ks[i], labels)


def cleanup_clusters(emb: np.ndarray, labels: np.ndarray, win_dur: np.ndarray, cfg: DiarizerConfig) -> np.ndarray:
    """Merge similar clusters, absorb small ones (by speech seconds) into the most similar big one, merge again,
    then re-assign windows to the nearest centroid a few times (re-checking the merge each time)."""
    labels = merge_similar(emb, labels.copy(), cfg.merge_sim, cfg.merge_rel)
    total = win_dur.sum()
    for _ in range(100):
        ks, C = _centroids(emb, labels)
        if len(ks) <= 1:
            break
        size = np.array([win_dur[labels == k].sum() for k in ks])
        small = (size < cfg.min_cluster_s) | (size < cfg.min_cluster_frac * total)
        if not small.any():
            break
        if small.all():  # nothing is big enough: keep the largest
            small[int(np.argmax(size))] = False
        i = int(np.argmin(np.where(small, size, np.inf)))
        sims = C[i] @ C.T
        sims[small] = -np.inf
        labels[labels == ks[i]] = ks[int(np.argmax(sims))]
    labels = merge_similar(emb, labels, cfg.merge_sim, cfg.merge_rel)
    for _ in range(cfg.reassign_iters):
        ks, C = _centroids(emb, labels)
        new = merge_similar(emb, ks[np.argmax(emb @ C.T, axis=1)], cfg.merge_sim, cfg.merge_rel)
        if np.array_equal(new, labels):
            break
        labels = new
    return np.unique(labels, return_inverse=True)[1]


# -- labels and turns -------------------------------------------------------------------------------------------------


def frame_labels(feat: Features, labels: np.ndarray, cfg: DiarizerConfig) -> tuple[np.ndarray, np.ndarray]:
    """A speaker per 10 ms frame inside the speech regions (-1 outside): the cluster with the highest mean cosine
    over the windows covering the frame, median-filtered inside its region; a region without windows takes the
    label of the nearest window."""
    from scipy.ndimage import median_filter

    end = max([feat.duration, *(e for _, e in feat.regions)])  # an audio track may outlast the container's duration
    out = np.full(int(np.ceil(end / FRAME_S)) + 1, -1, int)
    if len(labels) == 0:
        for s, e in feat.regions:
            out[int(s / FRAME_S):int(e / FRAME_S)] = 0
        return out, np.zeros((1 if feat.regions else 0, EMBED_DIM), np.float32)
    ks, C = _centroids(feat.emb, labels)
    sim = feat.emb @ C.T
    centers = feat.win_t.mean(1)
    k = int(round(cfg.median_s / FRAME_S)) | 1
    for ri, (s, e) in enumerate(feat.regions):
        a, b = int(round(s / FRAME_S)), int(round(e / FRAME_S))
        if b <= a:
            continue
        idx = np.nonzero(feat.win_region == ri)[0]
        if len(idx) == 0:
            out[a:b] = labels[int(np.argmin(np.abs(centers - 0.5 * (s + e))))]
            continue
        acc, cnt = np.zeros((b - a, len(ks))), np.zeros(b - a)
        for i in idx:
            wa = max(a, int(round(feat.win_t[i, 0] / FRAME_S))) - a
            wb = min(b, int(round(feat.win_t[i, 1] / FRAME_S))) - a
            acc[wa:wb] += sim[i]
            cnt[wa:wb] += 1
        covered = np.nonzero(cnt > 0)[0]
        if not len(covered):
            out[a:b] = labels[idx[0]]
            continue
        fill = covered[np.clip(np.searchsorted(covered, np.arange(b - a)), 0, len(covered) - 1)]
        lab = np.argmax(acc[fill] / cnt[fill][:, None], axis=1)
        if k > 1 and len(lab) > k:
            lab = median_filter(lab, size=k, mode="nearest")
        out[a:b] = lab
    return out, C


def to_turns(fl: np.ndarray, bridge_gap: float) -> list[list[Any]]:
    turns: list[list[Any]] = []
    cur, st = -1, 0
    for i, lab in enumerate(np.append(fl, -1)):
        if lab != cur:
            if cur >= 0:
                s, e = st * FRAME_S, i * FRAME_S
                if turns and turns[-1][2] == cur and s - turns[-1][1] < bridge_gap:
                    turns[-1][1] = e
                else:
                    turns.append([s, e, int(cur)])
            cur, st = lab, i
    return turns


def cluster(feat: Features, cfg: DiarizerConfig) -> Diarization:
    t0 = time.process_time()
    emb = feat.emb
    labels = np.zeros(0, int)
    if len(emb):
        # a window's weight is its share of its region's time, so cluster sizes are seconds of speech
        reg_len = np.array([e - s for s, e in feat.regions])
        n_in = np.bincount(feat.win_region, minlength=len(reg_len))
        win_dur = reg_len[feat.win_region] / n_in[feat.win_region]
        owner, pieces = chunk_embeddings(feat, cfg.chunk_s) if cfg.chunk_s > 0 else (np.arange(len(emb)), emb)
        labels = cleanup_clusters(emb, _ahc(pieces, cfg.threshold)[owner], win_dur, cfg)
    fl, C = frame_labels(feat, labels, cfg)
    turns = to_turns(fl, cfg.bridge_gap)
    order: list[int] = []  # speakers that survive as turns, numbered by first appearance
    for _, _, k in turns:
        if k not in order:
            order.append(k)
    remap = {old: new for new, old in enumerate(order)}
    out = [(round(s, 3), round(e, 3), remap[k]) for s, e, k in turns]
    speech = [0.0] * len(order)
    for s, e, k in out:
        speech[k] += e - s
    centroids = np.stack([C[k] for k in order]) if order else np.zeros((0, EMBED_DIM), np.float32)
    return Diarization(out, centroids, speech, feat.regions, dict(feat.timings, cluster=time.process_time() - t0))


def diarize(encoder: Any, wav: np.ndarray, cfg: DiarizerConfig | None = None, progress: Any = None) -> Diarization:
    cfg = cfg or DiarizerConfig()
    return cluster(extract(encoder, wav, cfg, progress), cfg)

"""Times wisp and its peers on the same random-weight model, same inputs, same thread counts.

Run in .venv-peers after make_models.py (see docs/PEERS.md):
  .venv-peers/bin/python tools/peers/bench_peers.py [--models /tmp/wisp-peers] [--threads 1,2]
      [--engines wisp,wisp-f16,whisper.cpp,torch,onnxruntime,ctranslate2,executorch] [--reps 5]
      [--no-e2e] [--json out.json] [--markdown docs/PEERS-results.md] [--wisp build/bin/wisp]
  .venv-peers/bin/python tools/peers/bench_peers.py --quick    # everything, 3 reps (~13-15 min idle)

Each (engine, threads) runs in its own process, started with OMP_NUM_THREADS,
OPENBLAS_NUM_THREADS and MKL_NUM_THREADS set to the thread count (Debian's torch uses the OpenMP
OpenBLAS, which obeys them), so that load time and peak RSS are that engine's alone. Figures,
each the median of --reps after one warm-up run:
  load      files -> ready to run (not counting the Python import)
  encoder   one 30-s window (mel 1x80x3000 -> 1x1500x384)
  decoder   one static call on tokens 1x128 with audio features 1x1500x384, in the column of the
            work the engine's call does (DECODER_WORK): all 128 rows of logits or the last only,
            cross-attention K/V computed in the call or not; wisp reports every kind
  step      one token with the self-attention KV cache at position 64 (ms per token)
  e2e       the 10-minute file, end to end, once, where the engine has a transcribe path
  rss       peak RSS of the process (ru_maxrss), and its RSS after imports, before loading
Every worker also checks its outputs against openai-whisper's (ref.npz) and reports max |diff|.
"""

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
STEP_POSITION = 64
N_STATIC = 128
ENGINES = ["wisp", "wisp-f16", "whisper.cpp", "torch", "onnxruntime", "ctranslate2", "executorch"]


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def timeit(fn, reps, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def maxdiff(a, b):
    import numpy as np

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64).reshape(a.shape)
    return float(np.max(np.abs(a - b)))


def read_audio(path):
    import wave

    import numpy as np

    with wave.open(path, "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0


# ---------------------------------------------------------------- workers (one process each)

def worker_torch(a, inp, ref, res):
    import numpy as np
    import torch

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    sys.path.insert(0, os.path.join(REPO, "tools", "golden"))
    import whisper

    res["version"] = f"openai-whisper {whisper.__version__}, torch {torch.__version__} (Debian, OpenBLAS)"
    res["blas"] = [l.strip() for l in open("/proc/self/maps") if "blas" in l][:1]
    res["rss_after_import_mb"] = current_rss_mb()
    t0 = time.perf_counter()
    ck = torch.load(os.path.join(a.models, "openai.pt"), map_location="cpu")
    model = whisper.model.Whisper(whisper.model.ModelDimensions(**ck["dims"]))
    model.load_state_dict(ck["model_state_dict"])
    model.eval()
    res["load_ms"] = (time.perf_counter() - t0) * 1e3
    mel = torch.from_numpy(inp["mel"])
    tokens = torch.from_numpy(inp["tokens"])
    with torch.no_grad():
        xa = model.encoder(mel)
        res["check_encoder"] = maxdiff(xa, ref["encoder"])
        res["encoder_ms"] = timeit(lambda: model.encoder(mel), a.reps)
        res["check_logits"] = maxdiff(model.decoder(tokens, xa), ref["logits"])
        res["decoder_ms"] = timeit(lambda: model.decoder(tokens, xa), a.reps)
        cache, hooks = model.install_kv_cache_hooks()
        model.decoder(tokens[:, :STEP_POSITION], xa, kv_cache=cache)
        saved = dict(cache)
        step_token = tokens[:, STEP_POSITION:STEP_POSITION + 1]

        def step():
            cache.update(saved)  # back to 64 cached positions (the hook appends one per call)
            return model.decoder(step_token, xa, kv_cache=cache)

        res["check_step"] = maxdiff(step(), ref["step_logits"])
        res["step_ms"] = timeit(step, a.reps * 4)
        for h in hooks:
            h.remove()
    if a.e2e:
        import ggml_reader

        ggml_reader.use_file_mel_filters(ggml_reader.read_ggml(os.path.join(a.models, "model.bin")).filters)
        audio = read_audio(os.path.join(a.models, "audio10min.wav"))
        t0 = time.perf_counter()
        out = whisper.transcribe(model, audio, temperature=0.0, fp16=False, language="en")
        res["e2e_ms"] = (time.perf_counter() - t0) * 1e3
        res["e2e_tokens"] = sum(len(s["tokens"]) for s in out["segments"])
        res["e2e_note"] = "whisper.transcribe, temperature 0 only, condition_on_previous_text"


def worker_onnxruntime(a, inp, ref, res):
    import numpy as np
    import onnxruntime as ort

    res["version"] = f"onnxruntime {ort.__version__} (CPUExecutionProvider)"
    res["rss_after_import_mb"] = current_rss_mb()
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    t0 = time.perf_counter()
    s = {n: ort.InferenceSession(os.path.join(a.models, "onnx", n + ".onnx"), so, providers=["CPUExecutionProvider"])
         for n in ("encoder", "decoder_static", "cross_kv", "decoder_step")}
    res["load_ms"] = (time.perf_counter() - t0) * 1e3
    res["load_note"] = "4 sessions: encoder, decoder_static, cross_kv, decoder_step"
    mel = inp["mel"]
    feed_enc = {"mel": mel}
    xa = s["encoder"].run(None, feed_enc)[0]
    res["check_encoder"] = maxdiff(xa, ref["encoder"])
    res["encoder_ms"] = timeit(lambda: s["encoder"].run(None, feed_enc), a.reps)
    feed_dec = {"tokens": inp["tokens"], "audio_features": xa}
    res["check_logits"] = maxdiff(s["decoder_static"].run(None, feed_dec)[0], ref["logits"])
    res["decoder_ms"] = timeit(lambda: s["decoder_static"].run(None, feed_dec), a.reps)
    res["cross_kv_ms"] = timeit(lambda: s["cross_kv"].run(None, {"audio_features": xa}), a.reps)
    feed_step = {"token": inp["step_token"], "self_k": inp["self_k"], "self_v": inp["self_v"],
                 "cross_k": inp["cross_k"], "cross_v": inp["cross_v"]}
    res["check_step"] = maxdiff(s["decoder_step"].run(None, feed_step)[0], ref["step_logits"])
    res["step_ms"] = timeit(lambda: s["decoder_step"].run(None, feed_step), a.reps * 4)
    res["step_note"] = "static graph: cache passed in as inputs, new K/V returned"


def worker_executorch(a, inp, ref, res):
    import importlib.metadata as md

    import torch
    from executorch.extension.pybindings import portable_lib as et

    torch.set_num_threads(a.threads)
    et._unsafe_reset_threadpool(a.threads)
    res["version"] = f"executorch {md.version('executorch')} (XNNPACK, fp32), torch {torch.__version__}"
    res["threadpool"] = et._threadpool_get_thread_count()
    res["rss_after_import_mb"] = current_rss_mb()
    t0 = time.perf_counter()
    m = {n: et._load_for_executorch(os.path.join(a.models, "et", n + ".pte"))
         for n in ("encoder", "decoder_static", "cross_kv", "decoder_step")}
    load_ms = (time.perf_counter() - t0) * 1e3
    t = {k: torch.from_numpy(inp[k]) for k in inp.files}
    enc_in = [t["mel"]]
    t0 = time.perf_counter()
    xa = m["encoder"].forward(enc_in)[0]
    first = {"encoder": (time.perf_counter() - t0) * 1e3}
    res["check_encoder"] = maxdiff(xa.numpy(), ref["encoder"])
    res["encoder_ms"] = timeit(lambda: m["encoder"].forward(enc_in), a.reps)
    dec_in = [t["tokens"], xa]
    res["check_logits"] = maxdiff(m["decoder_static"].forward(dec_in)[0].numpy(), ref["logits"])
    res["decoder_ms"] = timeit(lambda: m["decoder_static"].forward(dec_in), a.reps)
    res["cross_kv_ms"] = timeit(lambda: m["cross_kv"].forward([xa]), a.reps)
    step_in = [t["step_token"], t["self_k"], t["self_v"], t["cross_k"], t["cross_v"]]
    t0 = time.perf_counter()
    res["check_step"] = maxdiff(m["decoder_step"].forward(step_in)[0].numpy(), ref["step_logits"])
    first["decoder_step"] = (time.perf_counter() - t0) * 1e3
    res["step_ms"] = timeit(lambda: m["decoder_step"].forward(step_in), a.reps * 4)
    res["step_note"] = "static graph: cache passed in as inputs, new K/V returned"
    # _load_for_executorch maps the file; the method (and XNNPACK's weight packing) is set up on
    # the first call. Load = mapping + the first calls' excess over the median call.
    res["load_ms"] = load_ms + (first["encoder"] - res["encoder_ms"]) + (first["decoder_step"] - res["step_ms"])
    res["load_note"] = "programs mapped + first-call setup of encoder and decoder_step (decoder_static, cross_kv set up untimed)"


def worker_ctranslate2(a, inp, ref, res):
    import ctranslate2
    import numpy as np

    res["version"] = f"ctranslate2 {ctranslate2.__version__} (float32)"
    res["rss_after_import_mb"] = current_rss_mb()
    t0 = time.perf_counter()
    m = ctranslate2.models.Whisper(os.path.join(a.models, "ct2"), device="cpu", compute_type="float32",
                                   intra_threads=a.threads, inter_threads=1)
    res["load_ms"] = (time.perf_counter() - t0) * 1e3
    feats = ctranslate2.StorageView.from_array(np.ascontiguousarray(inp["mel"]))
    enc = m.encode(feats, to_cpu=True)
    res["check_encoder"] = maxdiff(np.array(enc), ref["encoder"])
    res["encoder_ms"] = timeit(lambda: m.encode(feats, to_cpu=True), a.reps)
    tokens = [int(x) for x in inp["tokens"][0]]
    # tiny.en ids (<|startofprev|> is 50360 and <|notimestamps|> 50362 in the .en vocabulary)
    eot, sot, prev, nots = 50256, 50257, 50360, 50362

    def gen(prompt, max_length, **kw):
        return m.generate(enc, [prompt], beam_size=1, max_length=max_length, suppress_tokens=[eot],
                          suppress_blank=False, **kw)

    # ctranslate2's Whisper has no single decoder call. Its prompt is [<|startofprev|> previous
    # text] <|startoftranscript|> ... [prefix]: everything up to <|startoftranscript|> is run as
    # one batched decoder call, tokens after it are forced one step at a time. So:
    # - check: forced prefix tokens[1:] after <|startoftranscript|>; the logits returned for
    #   step s are openai-whisper's row s.
    r = gen(tokens[:STEP_POSITION], STEP_POSITION + 1, return_logits_vocab=True)
    rows = r[0].logits[0]
    d = 0.0
    for s_, lg in enumerate(rows):
        g = np.array(lg)
        ok = g > -1e30  # suppressed entries are -FLT_MAX
        d = max(d, float(np.abs(g[ok] - ref["logits"][0, s_][ok]).max()))
    res["check_logits"] = d
    res["check_note"] = f"logits of {len(rows)} forced-prefix steps against openai-whisper's rows 0..{len(rows) - 1}"
    # - static figure, the same work as wisp's "last logits, cross K/V included" row: a prompt
    #   <|startofprev|> + 126 tokens + <|startoftranscript|> + <|notimestamps|>. generate() runs
    #   everything before the last task token (128 tokens) as one batched decoder call, which also
    #   makes the cross-attention K/V; return_no_speech_prob then projects the
    #   <|startoftranscript|> row - the last of the 128 - onto the vocabulary. max_length 1:
    #   nothing is generated. (Without return_no_speech_prob no row is projected at all.)
    static_prompt = [prev] + tokens[1:N_STATIC - 1] + [sot, nots]
    r = gen(static_prompt, 1, return_no_speech_prob=True)[0]
    assert not r.sequences_ids[0] and 0 <= r.no_speech_prob <= 1
    res["decoder_last_ms"] = timeit(lambda: gen(static_prompt, 1, return_no_speech_prob=True), a.reps)
    res["decoder_note"] = ("generate(), 1 batched call on a 128-token prompt, cross K/V included, the last row projected "
                           "onto the vocabulary (return_no_speech_prob), 0 tokens generated")
    # - step: after a prompt of S = 31 tokens (<|startofprev|> + 29 + <|startoftranscript|>) and
    #   the start token <|notimestamps|> (no timestamp rules, so each step is decoder + log-softmax
    #   + argmax), generate(max_length L) takes min(L // 2, L - S) greedy steps at positions
    #   S, S+1, ... (eot is suppressed, so it never stops early). Two calls whose step counts
    #   differ by the steps at positions S+2 .. 2*64-(S+2), centred on 64; their time difference
    #   over that count is ms per token, with the prompt pass and cross K/V cancelling out.
    p = [prev] + tokens[1:30] + [sot, nots]
    S = len(p) - 1
    first, last = S + 2, 2 * STEP_POSITION - (S + 2)
    short_len, long_len = first, 2 * (last - S + 1)
    n_short = len(gen(p, short_len)[0].sequences_ids[0])
    n_long = len(gen(p, long_len)[0].sequences_ids[0])
    assert (n_short, n_long) == (first - S, last - S + 1), (n_short, n_long)
    t_long = timeit(lambda: gen(p, long_len), a.reps)
    t_short = timeit(lambda: gen(p, short_len), a.reps)
    res["step_ms"] = (t_long - t_short) / (n_long - n_short)
    res["step_note"] = (f"(generate max_length {long_len}: {n_long} steps - max_length {short_len}: {n_short} steps) / "
                        f"{n_long - n_short}: positions {first}..{last}, mean {(first + last) / 2:g}; "
                        "each step includes log-softmax, eot suppression and argmax")


def worker_whispercpp(a, inp, ref, res):
    import ctypes

    import numpy as np

    import _pywhispercpp as pw
    import pywhispercpp

    site = os.path.dirname(os.path.dirname(os.path.abspath(pywhispercpp.__file__)))
    lib = ctypes.CDLL(os.path.join(site, "libwhisper.so.1"))
    lib.whisper_init_from_file.restype = ctypes.c_void_p
    lib.whisper_init_from_file.argtypes = [ctypes.c_char_p]
    lib.whisper_set_mel.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.c_int, ctypes.c_int]
    lib.whisper_encode.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    lib.whisper_decode.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int32), ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.whisper_get_logits.restype = ctypes.POINTER(ctypes.c_float)
    lib.whisper_get_logits.argtypes = [ctypes.c_void_p]
    lib.whisper_n_vocab.argtypes = [ctypes.c_void_p]
    lib.whisper_print_system_info.restype = ctypes.c_char_p
    lib.whisper_log_set.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    ver = "1.8.5" if os.path.exists(os.path.join(site, "libwhisper.so.1.8.5")) else "?"
    cp = pw.whisper_context_default_params()
    res["version"] = f"whisper.cpp {ver} (pywhispercpp {pywhispercpp.__version__ if hasattr(pywhispercpp, '__version__') else '1.5.1'}), flash_attn={cp.flash_attn}"
    res["system_info"] = lib.whisper_print_system_info().decode()
    res["rss_after_import_mb"] = current_rss_mb()
    T = a.threads
    t0 = time.perf_counter()
    # whisper.cpp 1.8.5 aborts on an f32 file (GGML_ASSERT(src0->type == GGML_TYPE_F16) in the
    # CPU im2col of the encoder conv): it runs the f16 file, checked against openai-whisper on
    # that file's weights.
    ref = np.load(os.path.join(a.models, "ref_f16.npz"))
    model_file = os.path.join(a.models, "model-f16.bin")
    res["model"] = "model-f16.bin"
    t0 = time.perf_counter()
    ctx = lib.whisper_init_from_file(model_file.encode())
    res["load_ms"] = (time.perf_counter() - t0) * 1e3
    assert ctx, "whisper_init_from_file failed"
    mel = np.ascontiguousarray(inp["mel"][0], dtype=np.float32)  # (n_mels, 3000), whisper.cpp's layout
    assert lib.whisper_set_mel(ctx, mel.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), mel.shape[1], mel.shape[0]) == 0
    res["encoder_ms"] = timeit(lambda: lib.whisper_encode(ctx, 0, T), a.reps)
    n_vocab = lib.whisper_n_vocab(ctx)
    toks = np.ascontiguousarray(inp["tokens"][0], dtype=np.int32)
    tp = toks.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))

    def logits():
        return np.ctypeslib.as_array(lib.whisper_get_logits(ctx), shape=(n_vocab,)).copy()

    assert lib.whisper_decode(ctx, tp, N_STATIC, 0, T) == 0
    # whisper_get_logits has a row per token of the call, but whisper.cpp's decoder graph
    # projects only the last token onto the vocabulary (earlier rows are left stale).
    last = np.ctypeslib.as_array(lib.whisper_get_logits(ctx), shape=(N_STATIC, n_vocab))[-1].copy()
    res["check_logits"] = maxdiff(last, ref["logits"][0, -1])
    res["check_note"] = ("model-f16.bin against openai-whisper on its weights; whisper.cpp rounds activations to f16 in "
                         "f16 matmuls and keeps an f16 KV cache (flash attention): ~1e-1 on logits of |x| <= 11. "
                         "No encoder-output API: checked through the logits (last row of the 128-token call)")
    res["decoder_last_nokv_ms"] = timeit(lambda: lib.whisper_decode(ctx, tp, N_STATIC, 0, T), a.reps)
    res["decoder_note"] = ("whisper_decode(128 tokens, n_past 0): the last token projected onto the vocabulary; "
                           "cross K/V made by whisper_encode (excluded)")
    assert lib.whisper_decode(ctx, tp, STEP_POSITION, 0, T) == 0
    step_tp = ctypes.cast(ctypes.addressof(tp.contents) + 4 * STEP_POSITION, ctypes.POINTER(ctypes.c_int32))
    step = lambda: lib.whisper_decode(ctx, step_tp, 1, STEP_POSITION, T)  # noqa: E731 (re-fills cell 64)
    step()
    res["check_step"] = maxdiff(logits(), ref["step_logits"])
    res["step_ms"] = timeit(step, a.reps * 4)
    if a.e2e:
        from pywhispercpp.model import Model

        audio = read_audio(os.path.join(a.models, "audio10min.wav"))
        m = Model(model_file, redirect_whispercpp_logs_to=None, n_threads=T,
                  print_progress=False, print_realtime=False, temperature_inc=0.0, no_context=False, language="en")
        t0 = time.perf_counter()
        segs = m.transcribe(audio)
        res["e2e_ms"] = (time.perf_counter() - t0) * 1e3
        res["e2e_segments"] = len(segs)
        res["e2e_note"] = "pywhispercpp Model.transcribe: greedy, temperature_inc 0 (no fallback), no_context False"


def run_worker(a):
    import numpy as np

    inp = np.load(os.path.join(a.models, "inputs.npz"))
    ref = np.load(os.path.join(a.models, "ref.npz"))
    res = {"engine": a.worker, "threads": a.threads}
    fn = {"torch": worker_torch, "onnxruntime": worker_onnxruntime, "executorch": worker_executorch,
          "ctranslate2": worker_ctranslate2, "whisper.cpp": worker_whispercpp}[a.worker]
    fn(a, inp, ref, res)
    res["rss_peak_mb"] = rss_mb()
    print("RESULT " + json.dumps(res), flush=True)


# ---------------------------------------------------------------- wisp (its own bench command)

# Result key <- the row of `wisp bench`'s table (src/cli/bench_command.cc). The three static-call
# keys are the three kinds of work the peers' "decoder static 128" figures cover (see DECODER_WORK).
WISP_ROWS = {
    "load_ms": "load (LoadGgmlModel)",
    "encoder_ms": "encoder, one 30-s window",
    "cross_kv_ms": "decoder: cross-attention K/V (SetAudioFeatures, 1x1500xd)",
    "decoder_nokv_ms": "decoder: static call, 128 tokens, all logits, cross K/V excluded",
    "decoder_ms": "decoder: static call, 128 tokens, all logits, cross K/V included",
    "decoder_last_nokv_ms": "decoder: static call, 128 tokens, last logits, cross K/V excluded",
    "decoder_last_ms": "decoder: static call, 128 tokens, last logits, cross K/V included",
    "step_ms": "decode step at position 64 (per token)",
}


def run_wisp(a, threads, env, model="model.bin", name="wisp"):
    res = {"engine": name, "threads": threads, "model": model}
    exe = a.wisp
    if not os.path.exists(exe):
        res["error"] = f"{exe} not built"
        return res
    cmd = [exe, "bench", "-m", os.path.join(a.models, model), "-t", str(threads), "--reps", str(a.reps),
           "--only", "load,encoder,decoder,step"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode:
        res["error"] = p.stderr.strip()[-300:]
        return res
    res["command"] = " ".join(cmd)
    rows, work = {}, {}
    for line in p.stdout.splitlines():
        m = re.match(r"\|\s*([^|]+?)\s*\|\s*([0-9.]+)\s*\|\s*([^|]*?)\s*\|", line)
        if m:
            rows[m.group(1)] = float(m.group(2))
            work[m.group(1)] = m.group(3)
        m = re.search(r"peak RSS.*?:\s*([0-9.]+) MB", line)
        if m:
            res["rss_peak_mb"] = float(m.group(1))
    for key, label in WISP_ROWS.items():
        if label in rows:
            res[key] = rows[label]
            g = re.match(r"([0-9.]+) GFLOP", work[label])
            if g:
                res[key.replace("_ms", "_gflop")] = float(g.group(1))
        else:
            res.setdefault("missing_rows", []).append(label)
    if "missing_rows" in res:
        res["error"] = f"{exe} bench lacks the rows {res['missing_rows']}: rebuild it from this tree"
        return res
    res["version"] = "wisp " + subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                              capture_output=True, text=True).stdout.strip() + " (working tree)"
    res["check_note"] = "equivalence with openai-whisper: tests/equivalence_test.cc (tests/golden)"
    if a.e2e:
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", exe, "transcribe", "-m", os.path.join(a.models, model),
                            "-t", str(threads), os.path.join(a.models, "audio10min.wav")],
                           capture_output=True, text=True, env=env)
        res["e2e_ms"] = (time.perf_counter() - t0) * 1e3
        res["e2e_note"] = "wisp transcribe (process wall time, includes load)"
        if p.returncode == 0:
            res["e2e_segments"] = len([l for l in p.stdout.splitlines() if l.strip()])
            res["e2e_rss_mb"] = int(p.stderr.strip().splitlines()[-1]) / 1024.0
        else:
            res["e2e_error"] = p.stderr.strip()[-300:]
    return res


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run_engine(a, engine, threads):
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(threads)
    before = loadavg()
    t0 = time.time()
    if engine == "wisp":
        res = run_wisp(a, threads, env)
    elif engine == "wisp-f16":
        res = run_wisp(a, threads, env, "model-f16.bin", "wisp-f16")
    else:
        if engine == "executorch":
            py = os.path.join(REPO, ".venv-peers-et", "bin", "python")
            if not os.path.exists(py):
                return {"engine": engine, "threads": threads, "error": "not installed (tools/peers/setup_executorch.sh)"}
            prefix = [os.path.join(HERE, "et_env.sh"), py]
        else:
            prefix = [sys.executable]
        cmd = prefix + [os.path.abspath(__file__), "--worker", engine, "--threads", str(threads),
                        "--models", a.models, "--reps", str(a.reps)] + ([] if a.e2e else ["--no-e2e"])
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        lines = [l for l in p.stdout.splitlines() if l.startswith("RESULT ")]
        if p.returncode or not lines:
            res = {"engine": engine, "threads": threads, "error": (p.stderr.strip() or p.stdout.strip())[-600:]}
        else:
            res = json.loads(lines[-1][7:])
    res["loadavg_before"] = before
    res["loadavg_after"] = loadavg()
    res["wall_s"] = round(time.time() - t0, 1)
    return res


# The "decoder static 128" figure is one call on 128 tokens over the audio features, but engines
# differ in what the call covers; each result fills the column of the work it does, and wisp's bench
# reports all three, so every ratio compares equal work:
#   decoder_ms            all 128 rows projected onto the vocabulary, cross K/V made in the call
#                         (torch, onnxruntime, executorch: the exported graph computes both)
#   decoder_last_ms       the last row only, cross K/V made in the call (ctranslate2's prompt pass)
#   decoder_last_nokv_ms  the last row only, cross K/V made elsewhere (whisper.cpp: whisper_encode)
DECODER_WORK = [("decoder_ms", "static 128: all logits, +cross K/V"),
                ("decoder_last_ms", "static 128: last logits, +cross K/V"),
                ("decoder_last_nokv_ms", "static 128: last logits, no cross K/V")]
FIGURES = ([("load_ms", "load"), ("encoder_ms", "encoder 30 s")] + DECODER_WORK +
           [("step_ms", "step @64 (per token)"), ("e2e_ms", "10-min file e2e"), ("rss_peak_mb", "peak RSS (MB)")])


def markdown(results, threads_list, header=""):
    out = [header] if header else []
    for t in threads_list:
        rows = [r for r in results if r["threads"] == t]
        base = {name: next((r for r in rows if r["engine"] == name and "error" not in r), None)
                for name in ("wisp", "wisp-f16")}
        out.append(f"\n### {t} thread{'s' if t > 1 else ''}\n")
        out.append("| engine | " + " | ".join(f for _, f in FIGURES) + " | load avg (before → after) |")
        out.append("|---|" + "---:|" * len(FIGURES) + "---|")
        for r in rows:
            cells = []
            wisp = base["wisp-f16" if r.get("model") == "model-f16.bin" else "wisp"]
            for key, _ in FIGURES:
                v = r.get(key)
                if v is None:
                    cells.append("—")
                    continue
                txt = f"{v:.1f}" if v >= 10 else f"{v:.2f}"
                if key == "e2e_ms":
                    txt = f"{v / 1000:.1f} s (RTF {v / 1000 / 600:.3f})"
                w = wisp.get(key) if wisp and r is not wisp else None
                if w:
                    txt += f" ({v / w:.2f}×)"
                cells.append(txt)
            if "error" in r:
                cells = [f"not run: {r['error'][:120]}"] + [""] * (len(FIGURES) - 1)
            out.append(f"| {r['engine']} | " + " | ".join(cells) + f" | {r.get('loadavg_before', '')} → {r.get('loadavg_after', '')} |")
    out.append("\n(×) = engine figure / wisp's at the same thread count on the same file (whisper.cpp: "
               "against wisp-f16, both on model-f16.bin): above 1 means wisp is faster/smaller.\n")
    gflop = next((r for r in results if r["engine"] == "wisp" and "error" not in r), {})
    work = {"decoder_ms": "all 128 rows projected onto the vocabulary, cross-attention K/V computed in the call "
                          "(torch, onnxruntime, executorch; wisp's seed-shape figure)",
            "decoder_last_ms": "only the last row projected, cross K/V computed in the call (ctranslate2)",
            "decoder_last_nokv_ms": "only the last row projected, cross K/V computed elsewhere (whisper.cpp: in "
                                    "whisper_encode, so its encoder column includes them)"}
    out.append("The three static-128 columns are the same 128-token call doing different work; each engine fills the "
               "one its call does and is compared with wisp's row of the same work:")
    for key, name in DECODER_WORK:
        g = gflop.get(key.replace("_ms", "_gflop"))
        out.append(f"- *{name}*: {work[key]}" + (f"; {g:.2f} GFLOP for this model" if g else ""))
    out.append("")
    out.append("\n### Same function: max |diff| against openai-whisper (fp32)\n")
    out.append("| engine | threads | encoder output | logits | step logits | how |")
    out.append("|---|---:|---:|---:|---:|---|")
    for r in results:
        if "error" in r:
            continue
        f = lambda k: f"{r[k]:.1e}" if k in r else "—"  # noqa: E731
        out.append(f"| {r['engine']} | {r['threads']} | {f('check_encoder')} | {f('check_logits')} | {f('check_step')} | {r.get('check_note', '')} |")
    out.append("\n### Notes per engine\n")
    seen = set()
    for r in results:
        if r["engine"] in seen:
            continue
        seen.add(r["engine"])
        notes = [r.get(k) for k in ("version", "load_note", "decoder_note", "step_note", "e2e_note", "error") if r.get(k)]
        out.append(f"- **{r['engine']}**: " + "; ".join(notes))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="/tmp/wisp-peers")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--reps", type=int, help="repetitions per figure, the median is reported (default 5; "
                                              "the step: 4x as many)")
    ap.add_argument("--quick", action="store_true",
                    help="the whole table (every engine, 1 and 2 threads, e2e) with 3 reps, the fewest that give a "
                         "median; writes /tmp/peers-quick.json and .md unless --json/--markdown say otherwise. "
                         "~13-15 min on an idle 2-core machine, of which e2e ~11 (--no-e2e: ~3)")
    ap.add_argument("--no-e2e", dest="e2e", action="store_false")
    ap.add_argument("--wisp", default=os.path.join(REPO, "build", "bin", "wisp"))
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.reps is None:
        a.reps = 3 if a.quick else 5
    if a.worker:
        a.threads = int(a.threads)
        return run_worker(a)
    if a.quick:
        a.json = a.json or "/tmp/peers-quick.json"
        a.markdown = a.markdown or "/tmp/peers-quick.md"
    started = time.time()
    load_start = loadavg()
    threads_list = [int(x) for x in a.threads.split(",")]
    results = []
    for t in threads_list:
        for e in a.engines.split(","):
            r = run_engine(a, e, t)
            print(f"[bench_peers] {e} t={t}: " + json.dumps({k: v for k, v in r.items() if k.endswith(("_ms", "_mb")) or k in ("error", "loadavg_before")}), flush=True)
            results.append(r)
            if a.json:
                with open(a.json, "w") as f:
                    json.dump(results, f, indent=1)
    utc = lambda t: time.strftime("%Y-%m-%d %H:%M", time.gmtime(t))  # noqa: E731
    header = (f"Run of {utc(started)}–{utc(time.time())[11:]} UTC (`bench_peers.py {' '.join(sys.argv[1:])}`, "
              f"{(time.time() - started) / 60:.1f} min, reps {a.reps}), {cpu_model()}, {os.cpu_count()} CPUs; "
              f"load average before: {load_start}, after: {loadavg()}.")
    md = markdown(results, threads_list, header)
    print(md)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(md)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Writes the weight-reader test fixtures with the reference torch/numpy into a directory.

usage: fixtures.py <pth|security|formats|npy|nonfinite> <out_dir>
       fixtures.py check_safetensors <file> <ref_prefix>
       fixtures.py check_npy <jobs.json>

Reference values are dumped as `<name>.ref.json` (name, dtype, shape, offset, count per tensor)
plus `<name>.ref.bin` (every tensor as float32, C order, concatenated), so the TypeScript tests
compare against what torch itself holds, not against another reader of ours.
"""
import json
import os
import pickle
import struct
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "..", "tools", "parity"))


def dump_ref(sd, prefix):
    import torch
    index, off = [], 0
    with open(prefix + ".ref.bin", "wb") as f:
        for k, t in sd.items():
            a = t.detach().to(torch.float32).contiguous().numpy().astype("<f4")
            f.write(a.tobytes())
            index.append({"name": k, "dtype": str(t.dtype).replace("torch.", ""),
                          "shape": list(t.shape), "offset": off, "count": int(t.numel())})
            off += int(t.numel())
    with open(prefix + ".ref.json", "w") as f:
        json.dump(index, f)


def small_state_dict():
    """A conv/BN/linear state_dict plus every dtype and view layout the reader must handle."""
    import torch
    import torch.nn as nn
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 2))
    m.train()
    m(torch.randn(2, 3, 6, 6))  # running stats move, num_batches_tracked becomes 1
    sd = m.state_dict()
    sd["1.num_batches_tracked"].fill_(123456789)  # int64 that float32 must round
    base = torch.randn(4, 5)
    sd["view.t"] = base.t()                       # non-contiguous, shares storage with view.slice
    sd["view.slice"] = base[1:3, 2:]              # storage offset 7, strides (5, 1)
    sd["view.permuted"] = torch.randn(2, 3, 4).permute(2, 0, 1)
    sd["view.row"] = base[3]                      # contiguous slice of the same storage
    sd["dtype.half"] = torch.randn(2, 3).half()
    sd["dtype.bf16"] = torch.randn(5).bfloat16()
    sd["dtype.double"] = torch.randn(3, 2, dtype=torch.float64) * 1e3
    sd["dtype.int64"] = torch.tensor([-5, 0, 7, 2 ** 40 + 3], dtype=torch.int64)
    sd["dtype.int32"] = torch.tensor([-70000, 1, 70000], dtype=torch.int32)
    sd["dtype.int16"] = torch.tensor([-300, 300], dtype=torch.int16)
    sd["dtype.int8"] = torch.tensor([-128, 127], dtype=torch.int8)
    sd["dtype.uint8"] = torch.tensor([0, 255, 3], dtype=torch.uint8)
    sd["dtype.bool"] = torch.tensor([True, False, True])
    sd["scalar"] = torch.tensor(3.25)
    sd["empty"] = torch.zeros(0, 3)
    return sd


def gen_pth(out):
    import torch
    import torchvision
    sd = small_state_dict()
    dump_ref(sd, os.path.join(out, "small"))
    p = lambda n: os.path.join(out, n)
    torch.save(sd, p("small_zip.pth"))
    torch.save(sd, p("small_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save(sd, p("small_zip_p4.pth"), pickle_protocol=4)
    torch.save(sd, p("small_zip_p5.pth"), pickle_protocol=5)
    torch.save(sd, p("small_legacy_p4.pth"), _use_new_zipfile_serialization=False, pickle_protocol=4)
    torch.save({"state_dict": sd, "epoch": 3, "arch": "tiny"}, p("wrapped_state_dict_zip.pth"))
    torch.save({"model": sd, "lr": 0.1}, p("wrapped_model_legacy.pth"), _use_new_zipfile_serialization=False)
    # keep_vars=True keeps nn.Parameter objects: pickled through torch._utils._rebuild_parameter.
    torch.manual_seed(1)
    lin = torch.nn.Linear(3, 2)
    psd = lin.state_dict(keep_vars=True)
    assert isinstance(psd["weight"], torch.nn.Parameter)
    torch.save(psd, p("params_zip.pth"))
    torch.save(psd, p("params_legacy.pth"), _use_new_zipfile_serialization=False)
    dump_ref(psd, p("params"))
    # A real torchvision architecture (random init, no download).
    torch.manual_seed(2)
    sq = torchvision.models.squeezenet1_1().state_dict()
    torch.save(sq, p("squeezenet_zip.pth"))
    torch.save(sq, p("squeezenet_legacy.pth"), _use_new_zipfile_serialization=False)
    dump_ref(sq, p("squeezenet"))
    # Damaged copies.
    for name in ("squeezenet_zip", "squeezenet_legacy"):
        data = open(p(name + ".pth"), "rb").read()
        open(p(name + "_half.pth"), "wb").write(data[: len(data) // 2])
    with zipfile.ZipFile(p("small_zip.pth")) as src, zipfile.ZipFile(p("missing_storage.pth"), "w") as dst:
        for info in src.infolist():
            if not info.filename.endswith("/data/0"):
                dst.writestr(info, src.read(info.filename))
    with zipfile.ZipFile(p("small_zip.pth")) as src, zipfile.ZipFile(p("deflated_zip.pth"), "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    write_big_endian_copy(p("small_zip.pth"), p("big_endian_zip.pth"))
    # torch < 1.0 pickled storages saved from a GPU as torch.cuda.<X>Storage.
    legacy = open(p("small_legacy.pth"), "rb").read()
    open(p("cuda_storage_legacy.pth"), "wb").write(legacy.replace(b"ctorch\nFloatStorage\n", b"ctorch.cuda\nFloatStorage\n"))
    # Expanded views (stride 0) repeat storage elements: refused by the reader (tensor views must not overlap).
    torch.save({"view.expand": torch.randn(3).expand(2, 3)}, p("expand_zip.pth"))
    torch.save({"view.expand": torch.randn(3).expand(2, 3)}, p("expand_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save([torch.zeros(2)], p("list_zip.pth"))
    torch.save({"w": torch.zeros(2), "epoch": 3}, p("mixed_zip.pth"))


def write_big_endian_copy(src_path, dst_path):
    """What torch.save writes on a big-endian machine: byteorder 'big' and byte-swapped storages."""
    import numpy as np
    import torch
    sizes = {}

    class Storages(pickle.Unpickler):  # only collects storage keys; never used on untrusted data
        def persistent_load(self, pid):
            sizes[pid[2]] = pid[1].__name__
            return None

        def find_class(self, module, name):
            if module == "torch" and name.endswith("Storage"):
                return type(name, (), {"__name__": name})
            if (module, name) == ("collections", "OrderedDict"):
                return type("D", (dict,), {})  # accepts BUILD's _metadata attribute
            return lambda *a, **k: None

    with zipfile.ZipFile(src_path) as src:
        prefix = src.namelist()[0].split("/")[0]
        Storages(src.open(prefix + "/data.pkl")).load()
        with zipfile.ZipFile(dst_path, "w") as dst:
            for info in src.infolist():
                data = src.read(info.filename)
                key = info.filename.split("/data/")[-1] if "/data/" in info.filename else None
                if key is not None:
                    size = getattr(torch, sizes[key])().element_size()
                    data = np.frombuffer(data, np.uint8).reshape(-1, size)[:, ::-1].tobytes()
                if not info.filename.endswith("/byteorder"):
                    dst.writestr(info, data)
            dst.writestr(prefix + "/byteorder", "big")  # torch 1.13 writes none (= native)


# ---------------------------------------------------------------------------------------------
# Malicious checkpoints: each payload creates a marker file when Python unpickles it.

def payloads(target):
    import os as _os
    import subprocess

    class System:
        def __reduce__(self):
            return (_os.system, ("touch " + target,))

    class Eval:
        def __reduce__(self):
            return (eval, ("__import__('os').system('touch %s')" % target,))

    class Popen:
        def __reduce__(self):
            return (subprocess.Popen, (["touch", target],))

    # Protocols 2, 4 and 3: GLOBAL, STACK_GLOBAL, and GLOBAL without the Python 2 name mapping.
    return {"system": (System(), 2), "eval": (Eval(), 4), "popen": (Popen(), 3)}


def legacy_wrap(obj_pickle):
    out = pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2) + pickle.dumps(1001, protocol=2)
    out += pickle.dumps({"protocol_version": 1001, "little_endian": True,
                         "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2)
    return out + obj_pickle + pickle.dumps([], protocol=2)


def write_evil(out, target_dir, tag):
    """Writes every malicious variant; markers go to target_dir/<tag>_<variant>."""
    import torch
    files = {}
    for name in ("system", "eval", "popen"):
        for fmt in ("zip", "legacy"):
            key = "%s_%s" % (name, fmt)
            target = os.path.join(target_dir, "%s_%s" % (tag, key))
            obj, proto = payloads(target)[name]
            data = pickle.dumps({"w": obj}, protocol=proto)
            path = os.path.join(out, "%s_%s.pth" % (tag, key))
            if fmt == "zip":
                with zipfile.ZipFile(path, "w") as z:
                    z.writestr("archive/data.pkl", data)
                    z.writestr("archive/version", "3\n")
            else:
                open(path, "wb").write(legacy_wrap(data))
            files[key] = (path, target)
    # Through torch.save itself, after a genuine tensor.
    for fmt in ("zip", "legacy"):
        key = "torchsave_" + fmt
        target = os.path.join(target_dir, "%s_%s" % (tag, key))
        obj, _ = payloads(target)["system"]
        path = os.path.join(out, "%s_%s.pth" % (tag, key))
        torch.save({"w": torch.zeros(2), "evil": obj}, path, _use_new_zipfile_serialization=(fmt == "zip"))
        files[key] = (path, target)
    return files


def gen_security(out):
    import torch
    evil = write_evil(out, out, "PWNED")
    # Proof that the payloads are live: the same constructions run code under Python's loaders.
    proof_dir = os.path.join(out, "proof")
    os.makedirs(proof_dir)
    proof = write_evil(proof_dir, proof_dir, "PROOF")
    live = {}
    for key, (path, target) in proof.items():
        try:
            if key.startswith("torchsave"):
                torch.load(path)
            elif key.endswith("_zip"):
                with zipfile.ZipFile(path) as z:
                    pickle.loads(z.read("archive/data.pkl"))
            else:
                with open(path, "rb") as f:
                    for _ in range(4):
                        pickle.load(f)
        except Exception:
            pass
        if key.startswith("popen"):
            import time
            time.sleep(0.3)  # Popen returns before touch finishes
        live[key] = os.path.exists(target)
    manifest = {
        "files": {k: {"path": v[0], "marker": v[1]} for k, v in evil.items()},
        "live": live,
        "globals": {"system": "%s.system" % os.system.__module__, "eval": "builtins.eval",
                    "popen": "subprocess.Popen", "torchsave": "%s.system" % os.system.__module__},
    }
    json.dump(manifest, open(os.path.join(out, "security.json"), "w"))


# ---------------------------------------------------------------------------------------------

def gen_formats(out):
    """One state_dict as .safetensors, zip .pth and legacy .pth, plus its reference values."""
    import torch
    from write_safetensors import write_safetensors
    sd = small_state_dict()
    # safetensors stores contiguous tensors; the writer makes each one contiguous.
    write_safetensors(os.path.join(out, "small.safetensors"), sd)
    dump_ref(sd, os.path.join(out, "small"))
    torch.save(sd, os.path.join(out, "small.pth"))
    torch.save(sd, os.path.join(out, "small_legacy.pth"), _use_new_zipfile_serialization=False)


def check_safetensors(path, ref_prefix):
    """Reads a safetensors file with plain json/numpy and reports the max abs diff to a reference."""
    import numpy as np
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    ref = json.load(open(ref_prefix + ".ref.json"))
    refbin = np.fromfile(ref_prefix + ".ref.bin", dtype="<f4")
    worst, names = 0.0, []
    for r in ref:
        h = header[r["name"]]
        assert h["dtype"] == "F32" and h["shape"] == r["shape"], (r["name"], h)
        b, e = h["data_offsets"]
        got = np.frombuffer(data[8 + n + b:8 + n + e], dtype="<f4")
        want = refbin[r["offset"]:r["offset"] + r["count"]]
        assert got.shape == want.shape, r["name"]
        if got.size:
            worst = max(worst, float(np.max(np.abs(got - want))))
        names.append(r["name"])
    print(json.dumps({"maxAbsDiff": worst, "names": names, "metadata": header.get("__metadata__")}))


def gen_npy(out):
    import numpy as np
    rng = np.random.default_rng(0)
    arrays = {
        "f4": rng.standard_normal((2, 3, 4)).astype("<f4"),
        "f8": rng.standard_normal((5,)) * 1e6,
        "f2": rng.standard_normal((3, 2)).astype("<f2"),
        "i8": np.array([[-(2 ** 40), -1, 0], [1, 7, 2 ** 33]], dtype="<i8"),
        "i4": np.array([-70000, 70000], dtype="<i4"),
        "u1": np.arange(0, 256, 17, dtype="|u1").reshape(4, 4),
        "b1": np.array([True, False, True]),
        "be_f4": rng.standard_normal((4,)).astype(">f4"),
        "scalar": np.array(2.5, dtype="<f4"),
        "empty": np.zeros((0, 4), dtype="<f4"),
        "fortran": np.asfortranarray(rng.standard_normal((3, 4, 2)).astype("<f4")),
    }
    index = {}
    for name, a in arrays.items():
        np.save(os.path.join(out, name + ".npy"), a)
        np.ascontiguousarray(a).astype("<f4").tofile(os.path.join(out, name + ".ref.bin"))
        index[name] = {"descr": np.lib.format.dtype_to_descr(a.dtype), "shape": list(a.shape),
                       "fortran": bool(a.flags.f_contiguous and not a.flags.c_contiguous)}
    np.save(os.path.join(out, "v2.npy"), arrays["f4"])  # rewritten below as format 2.0
    raw = open(os.path.join(out, "v2.npy"), "rb").read()
    hlen = struct.unpack("<H", raw[8:10])[0]
    header = raw[10:10 + hlen]
    open(os.path.join(out, "v2.npy"), "wb").write(b"\x93NUMPY\x02\x00" + struct.pack("<I", hlen - 2) + header[:-3] + b"\n" + raw[10 + hlen:])
    index["v2"] = dict(index["f4"])
    np.save(os.path.join(out, "object.npy"), np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(os.path.join(out, "structured.npy"), np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))
    np.save(os.path.join(out, "c16.npy"), np.zeros(2, dtype="<c16"))
    json.dump(index, open(os.path.join(out, "npy.json"), "w"))


def check_npy(paths_json):
    """Loads npy files written by our writer; compares values and bytes with numpy's own np.save."""
    import io
    import numpy as np
    jobs = json.load(open(paths_json))
    report = []
    for job in jobs:
        got = np.load(job["path"])
        want = np.fromfile(job["ref"], dtype="<f4").reshape(job["shape"])
        buf = io.BytesIO()
        np.save(buf, want)
        same_bytes = buf.getvalue() == open(job["path"], "rb").read()
        diff = float(np.max(np.abs(got - want))) if want.size else 0.0
        report.append({"path": job["path"], "dtype": str(got.dtype), "shape": list(got.shape),
                       "maxAbsDiff": diff, "sameBytes": same_bytes})
    print(json.dumps(report))


def gen_nonfinite(out):
    """Checkpoints torch writes after a diverged run: NaN weights, an Inf bias (also in float16)."""
    import torch
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3))
    sd = m.state_dict()
    sd["0.weight"][1, 2, 0, 1] = float("nan")
    torch.save(sd, os.path.join(out, "nan_zip.pth"))
    torch.save(sd, os.path.join(out, "nan_legacy.pth"), _use_new_zipfile_serialization=False)
    sd = {k: v.clone().half() for k, v in m.state_dict().items()}
    sd["0.weight"].zero_()
    sd["0.bias"][3] = float("inf")
    torch.save(sd, os.path.join(out, "inf_half_zip.pth"))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "check_safetensors":
        check_safetensors(sys.argv[2], sys.argv[3])
    elif cmd == "check_npy":
        check_npy(sys.argv[2])
    else:
        {"pth": gen_pth, "security": gen_security, "formats": gen_formats, "npy": gen_npy,
         "nonfinite": gen_nonfinite}[cmd](sys.argv[2])

"""Reference side of the image parity tests: runs Pillow / torchvision on raw images written by
the jest tests and writes the results back as raw bytes.

usage: /usr/bin/python3 pil_ref.py <dir>   (reads <dir>/jobs.json, writes <dir>/results.json)

A job: {"input": file, "mode": "RGB"|"L"|"RGBA"|"F", "width", "height", "steps": [...], "output": file}
Raw files are HWC uint8, or little-endian float32 for mode F. Steps, applied in order:
  {"op": "resize", "size": [w, h], "filter": name}          Image.resize
  {"op": "gaussian", "radius": r}                           ImageFilter.GaussianBlur(r)
  {"op": "boxblur", "radius": r}                            ImageFilter.BoxBlur(r)
  {"op": "crop", "box": [l, t, r, b]}                       Image.crop
  {"op": "tv_resize", "size": s, "filter": name}            torchvision Resize(s, interpolation)
  {"op": "tv_centercrop", "size": [h, w]}                   torchvision CenterCrop((h, w))
  {"op": "tv_totensor"}                                     torchvision ToTensor (output: float32 HWC)
"""
import json
import os
import sys

import numpy as np
from PIL import Image, ImageFilter

FILTERS = {
    "nearest": Image.NEAREST,
    "box": Image.BOX,
    "bilinear": Image.BILINEAR,
    "hamming": Image.HAMMING,
    "bicubic": Image.BICUBIC,
    "lanczos": Image.LANCZOS,
}
_tv = None


def tv():
    global _tv
    if _tv is None:
        import torchvision.transforms as T
        _tv = T
    return _tv


def tv_interp(name):
    return getattr(tv().InterpolationMode, name.upper())


def load(d, job):
    raw = open(os.path.join(d, job["input"]), "rb").read()
    w, h, mode = job["width"], job["height"], job["mode"]
    if mode == "F":
        return Image.fromarray(np.frombuffer(raw, "<f4").reshape(h, w).copy(), "F")
    ch = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    arr = np.frombuffer(raw, np.uint8).reshape((h, w) if ch == 1 else (h, w, ch))
    return Image.fromarray(arr, mode)


def apply(img, step):
    op = step["op"]
    if op == "resize":
        return img.resize(tuple(step["size"]), FILTERS[step["filter"]])
    if op == "gaussian":
        return img.filter(ImageFilter.GaussianBlur(step["radius"]))
    if op == "boxblur":
        return img.filter(ImageFilter.BoxBlur(step["radius"]))
    if op == "crop":
        return img.crop(tuple(step["box"]))
    if op == "tv_resize":
        return tv().Resize(step["size"], interpolation=tv_interp(step["filter"]))(img)
    if op == "tv_centercrop":
        return tv().CenterCrop(tuple(step["size"]))(img)
    if op == "tv_totensor":
        return tv().ToTensor()(img).permute(1, 2, 0).contiguous().numpy()
    raise ValueError("unknown op " + op)


def main():
    d = sys.argv[1]
    jobs = json.load(open(os.path.join(d, "jobs.json")))
    results = []
    for job in jobs:
        img = load(d, job)
        for step in job["steps"]:
            img = apply(img, step)
        if isinstance(img, np.ndarray):
            arr = img.astype("<f4")
            width, height = arr.shape[1], arr.shape[0]
        else:
            arr = np.asarray(img)
            arr = arr.astype("<f4") if img.mode == "F" else arr.astype(np.uint8)
            width, height = img.size
        with open(os.path.join(d, job["output"]), "wb") as f:
            f.write(arr.tobytes())
        results.append({"width": width, "height": height})
    import inspect
    import PIL
    info = {
        "pillow": PIL.__version__,
        "reducing_gap_default": repr(inspect.signature(Image.Image.resize).parameters["reducing_gap"].default),
    }
    json.dump({"info": info, "results": results}, open(os.path.join(d, "results.json"), "w"))


if __name__ == "__main__":
    main()

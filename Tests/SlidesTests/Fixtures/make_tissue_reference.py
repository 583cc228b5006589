"""Writes tissue_reference.json: OpenCV's outputs on a small synthetic H&E-like image.

Run once by hand (python3 with opencv-python 4.x and numpy); the tests read the JSON and never
run Python. The versions used are recorded in the JSON's "generator" field.
The image: 40x32, near-white glass with noise, an elliptical pink/purple tissue blob, a small
glass hole inside it and a few isolated saturated specks.
"""
import json

import cv2
import numpy as np

rng = np.random.default_rng(2024)
h, w = 32, 40
img = np.clip(rng.normal(236, 4, (h, w, 3)), 0, 255)
yy, xx = np.mgrid[0:h, 0:w]
blob = ((xx - 20) / 13.0) ** 2 + ((yy - 15) / 9.0) ** 2 <= 1
pink = np.array([205, 120, 175]) + rng.normal(0, 18, (h, w, 3))
purple = np.array([140, 95, 170]) + rng.normal(0, 18, (h, w, 3))
mix = rng.random((h, w))[..., None] < 0.35
tissue = np.where(mix, purple, pink)
img = np.where(blob[..., None], tissue, img)
img[14:16, 19:21] = [238, 236, 240]  # a glass hole inside the tissue
for (y, x) in [(2, 3), (28, 35), (5, 36)]:
    img[y, x] = [180, 90, 160]  # specks
img = np.clip(np.rint(img), 0, 255).astype(np.uint8)

sat = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)[:, :, 1]
med = cv2.medianBlur(sat, 7)
med3 = cv2.medianBlur(sat, 3)
otsu, _ = cv2.threshold(med, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
binary = (med > otsu).astype(np.uint8)
closed3 = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
sat_binary = (sat > 20).astype(np.uint8)
sat_closed3 = cv2.morphologyEx(sat_binary, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
sat_closed5 = cv2.morphologyEx(sat_binary, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))

# Otsu on assorted 1-D images: skewed, trimodal, uniform, two spikes.
cases = []
for seed, kind in enumerate(["skewed", "trimodal", "uniform", "spikes"]):
    r = np.random.default_rng(100 + seed)
    if kind == "skewed":
        v = np.concatenate([r.normal(40, 10, 700), r.normal(170, 30, 300)])
    elif kind == "trimodal":
        v = np.concatenate([r.normal(30, 8, 400), r.normal(120, 10, 300), r.normal(220, 6, 300)])
    elif kind == "uniform":
        v = r.integers(0, 256, 1000)
    else:
        v = np.array([60] * 300 + [61] * 5 + [190] * 200)
    v = np.clip(np.rint(v), 0, 255).astype(np.uint8).reshape(1, -1)
    t, _ = cv2.threshold(v, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    cases.append({"kind": kind, "values": v.ravel().tolist(), "threshold": int(t)})

out = {
    "generator": f"make_tissue_reference.py, OpenCV {cv2.__version__}, NumPy {np.__version__}",
    "width": w,
    "height": h,
    "rgb": img.ravel().tolist(),
    "saturation": sat.ravel().tolist(),
    "median7": med.ravel().tolist(),
    "median3": med3.ravel().tolist(),
    "otsu": int(otsu),
    "closed3": closed3.ravel().tolist(),
    "satClosed3": sat_closed3.ravel().tolist(),
    "satClosed5": sat_closed5.ravel().tolist(),
    "otsuCases": cases,
}
with open("tissue_reference.json", "w") as f:
    json.dump(out, f, separators=(",", ":"))
print("otsu", otsu, "tissue pixels", int(binary.sum()), [c["threshold"] for c in cases])

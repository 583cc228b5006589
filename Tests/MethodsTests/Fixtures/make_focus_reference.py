#!/usr/bin/env python3
"""Makes focus_reference.json: OpenCV / PyWavelets reference values for FocusDetectorTests.

    python3 make_focus_reference.py            # writes focus_reference.json beside this file

Detectors (the Swift code must match these):
  laplacian_var  cv2.Laplacian(gray, cv2.CV_64F).var()       (ksize=1, BORDER_REFLECT_101)
  haar_energy    cA,(cH,cV,cD) = pywt.dwt2(gray.astype(np.float64), 'haar');
                 np.mean(cH**2 + cV**2 + cD**2)
  tong           Tong et al., ICME 2004, written after blur_detect() in
                 github.com/pedrofrodenas/blur-Detection-Haar-Wavelet/blob/master/blur_wavelet.py
                 (the grey image is given, so no cvtColor), with two scalings of the edge maps:
                 'orthonormal' (literal) and 'level-normalized' (E_i / 2**(i-1)).
Images: "formula" images are regenerated in Swift from the integer formulas below; "stored"
images (random bytes, cv2.GaussianBlur series) are stored as base64 of the raw row-major bytes.
"""
import base64
import json
import os

import cv2
import numpy as np
import pywt

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- formula images (also in Swift)
def lcg_noise(h, w, seed):
    """64-bit LCG (Knuth MMIX constants), top byte of each state: row-major h*w bytes."""
    s = seed
    out = np.zeros(h * w, dtype=np.uint8)
    for i in range(h * w):
        s = (s * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        out[i] = s >> 56
    return out.reshape(h, w)


def formula(name, h, w):
    i, j = np.meshgrid(np.arange(h, dtype=np.int64), np.arange(w, dtype=np.int64), indexing="ij")
    if name == "pattern":        # the brief's formula: (i*37 + j*91 + (i*j) % 13) % 256
        v = (i * 37 + j * 91 + (i * j) % 13) % 256
    elif name == "smooth":       # slow quadratic bowl, 0..~200
        v = ((i - h // 2) ** 2 + (j - w // 3) ** 2) * 200 // (h * h // 4 + w * w // 2)
    elif name == "checker":      # 4-pixel checkerboard of 30 / 220
        v = np.where(((i // 4) + (j // 4)) % 2 == 0, 30, 220)
    elif name == "ramp_edge":    # vertical edge 40 → 210 as a linear ramp over columns 57..70
        v = 40 + np.clip(j - 57, 0, 14) * 170 // 14
    elif name == "noise":
        return lcg_noise(h, w, 12345)
    else:
        raise ValueError(name)
    return v.astype(np.uint8)


# ---------------------------------------------------------------- references
def laplacian_var(g):
    return float(cv2.Laplacian(g, cv2.CV_64F).var())


def haar_energy(g):
    _, (ch, cv, cd) = pywt.dwt2(g.astype(np.float64), "haar")
    return float(np.mean(ch ** 2 + cv ** 2 + cd ** 2))


def tong(g, scaling="orthonormal", threshold=35.0):
    """blur_detect() of blur_wavelet.py on a grey image, with a choice of edge-map scaling."""
    m, n = g.shape
    y = g[0:int(m / 16) * 16, 0:int(n / 16) * 16]
    if y.size == 0:  # the reference would raise in pywt; the Swift code returns 0 / 100
        return dict(per=0.0, blur_extent=100.0, edges=0, da=0, rg=0, brg=0)
    ll1, (lh1, hl1, hh1) = pywt.dwt2(y, "haar")
    ll2, (lh2, hl2, hh2) = pywt.dwt2(ll1, "haar")
    _, (lh3, hl3, hh3) = pywt.dwt2(ll2, "haar")
    e1 = np.sqrt(np.power(lh1, 2) + np.power(hl1, 2) + np.power(hh1, 2))
    e2 = np.sqrt(np.power(lh2, 2) + np.power(hl2, 2) + np.power(hh2, 2))
    e3 = np.sqrt(np.power(lh3, 2) + np.power(hl3, 2) + np.power(hh3, 2))
    if scaling == "level-normalized":
        e2 = e2 / 2.0
        e3 = e3 / 4.0
    m1, n1 = e1.shape
    emax1, emax2, emax3 = [], [], []
    for x in range(0, m1, 8):           # same raster order as the reference's while loop
        for z in range(0, n1, 8):
            emax1.append(np.max(e1[x:x + 8, z:z + 8]))
            emax2.append(np.max(e2[x // 2:x // 2 + 4, z // 2:z // 2 + 4]))
            emax3.append(np.max(e3[x // 4:x // 4 + 2, z // 4:z // 4 + 2]))
    edges = da = rg = rs = brg = 0
    for a, b, c in zip(map(float, emax1), map(float, emax2), map(float, emax3)):
        if not (a > threshold or b > threshold or c > threshold):   # Rule 1
            continue
        edges += 1
        if a > b and b > c:                                         # Rule 2
            da += 1
        is_rg = a < b and b < c                                     # Rule 3
        is_rs = b > a and b > c                                     # Rule 4
        rg += is_rg
        rs += is_rs
        if (is_rg or is_rs) and a < threshold:                      # Rule 5
            brg += 1
    per = da / edges if edges else 0.0      # reference: 0/0 -> nan
    blur_extent = brg / (rg + rs) if (rg + rs) else 100.0   # reference's sentinel
    return dict(per=per, blur_extent=blur_extent, edges=edges, da=da, rg=rg + rs, brg=brg)


def scores(g):
    return dict(laplacian_var=laplacian_var(g), haar_energy=haar_energy(g),
                tong=tong(g, "orthonormal"), tong_norm=tong(g, "level-normalized"))


def main():
    images = []
    for name, h, w in [("pattern", 64, 80), ("pattern", 37, 29), ("smooth", 64, 64),
                       ("checker", 48, 48), ("ramp_edge", 128, 128), ("noise", 96, 112),
                       ("noise", 15, 17)]:
        g = formula(name, h, w)
        images.append(dict(name=f"{name}_{h}x{w}", kind="formula", formula=name,
                           height=h, width=w, scores=scores(g)))
    rng = np.random.default_rng(2004)
    stored = [("random_33x47", rng.integers(0, 256, (33, 47), dtype=np.uint8)),
              ("random_63x65", rng.integers(0, 256, (63, 65), dtype=np.uint8))]
    # Blur series: a textured 96×96 tile (noise + stripes + a disc) under growing Gaussian blur.
    base = rng.integers(0, 256, (96, 96), dtype=np.uint8)
    yy, xx = np.mgrid[0:96, 0:96]
    tex = (0.4 * base + 60 * ((xx // 6) % 2) + 90 * ((yy - 48) ** 2 + (xx - 40) ** 2 < 400))
    tex = np.clip(tex, 0, 255).astype(np.uint8)
    for sigma in (0.0, 0.5, 1.0, 2.0, 4.0):
        g = tex if sigma == 0 else cv2.GaussianBlur(tex, (0, 0), sigma)
        stored.append((f"blur_sigma_{sigma:g}", g))
    for name, g in stored:
        images.append(dict(name=name, kind="stored", height=int(g.shape[0]),
                           width=int(g.shape[1]),
                           pixels=base64.b64encode(np.ascontiguousarray(g).tobytes()).decode(),
                           scores=scores(g)))
    out = dict(numpy=np.__version__, opencv=cv2.__version__, pywavelets=pywt.__version__,
               generator="make_focus_reference.py", images=images)
    path = os.path.join(HERE, "focus_reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")
    for im in images:
        s = im["scores"]
        print(f"{im['name']:>20}: lap {s['laplacian_var']:.4f} haar {s['haar_energy']:.4f} "
              f"tong {s['tong']} norm {s['tong_norm']}")


if __name__ == "__main__":
    main()

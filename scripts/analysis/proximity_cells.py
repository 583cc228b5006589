"""How far apart the two foci of the proximity design lie on each bag's tile grid.

Reads a bag folder cached by `replicate transmil --profile proximity` (`.cache/bags/<key>`, with
slides.csv) and the slide layouts it was cut from (`.cache/datasets/<key>/layouts`), intersects each
kept tile's 256-px level-0 square with the lymphoid and necrosis polygons (shapely), and prints, per
proximity label, the Chebyshev cell distance between the nearest tiles that hold at least
`--coverage` of each kind. Not a test dependency (`pip install shapely safetensors numpy`).

    python3 scripts/analysis/proximity_cells.py .cache/bags/<key> .cache/datasets/<key>
"""
import argparse
import csv
import json
import os

import numpy as np
from safetensors.numpy import load_file
from shapely.geometry import Polygon, box

parser = argparse.ArgumentParser()
parser.add_argument("bags")
parser.add_argument("dataset")
parser.add_argument("--coverage", type=float, default=0.05)
parser.add_argument("--tile", type=int, default=256)
args = parser.parse_args()

rows = []
for record in csv.DictReader(open(os.path.join(args.bags, "slides.csv"))):
    path = os.path.join(args.bags, record["slide_id"] + ".safetensors")
    if not os.path.exists(path):
        continue
    coords = load_file(path)["coords"]
    layout = json.load(open(os.path.join(args.dataset, "layouts", record["slide_id"] + ".json")))
    foci = {kind: [Polygon(r["outline"]["outer"]) for r in layout["rareRegions"] if r["structure"] == kind]
            for kind in ("lymphoid-aggregate", "necrosis")}
    cells = {kind: [] for kind in foci}
    for x, y in coords:
        square = box(x, y, x + args.tile, y + args.tile)
        for kind, polygons in foci.items():
            if sum(p.intersection(square).area for p in polygons) / args.tile**2 > args.coverage:
                cells[kind].append((int(y // args.tile), int(x // args.tile)))
    pairs = [max(abs(a[0] - b[0]), abs(a[1] - b[1]))
             for a in cells["lymphoid-aggregate"] for b in cells["necrosis"]]
    rows.append((int(record["proximity_label"]), min(pairs) if pairs else None))

for label in (1, 0):
    distances = [d for l, d in rows if l == label]
    present = [d for d in distances if d is not None]
    counts = np.bincount(present, minlength=8) if present else []
    print(f"proximity_label {label}: {len(distances)} slides, {len(distances) - len(present)} without a tile of one kind;"
          f" slides per cell distance 0, 1, 2, ...: {[int(c) for c in counts]}")

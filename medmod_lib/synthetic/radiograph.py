"""Procedural chest radiographs for the synthetic MIMIC-CXR-JPG images.

The renderer builds a projected *density* map from a few analytic shapes
(torso, lungs, heart, mediastinum, spine, ribs, clavicles, diaphragm domes),
lets each CheXpert finding edit that map where the finding lives, and maps
density to brightness with a film curve, slight blur and quantum noise.
Everything is vectorised numpy on broadcast 1-D coordinate axes; images larger
than :data:`MAX_INTERNAL_SIDE` are rendered smaller and upscaled (PIL bicubic)
with fine-grain noise on top.

Coordinates are normalised to the field of view: ``u`` runs from -1 (image
left, the patient's right on a frontal film) to 1, ``v`` from 0 (top) to 1.
Each finding is one small function in ``_FINDINGS`` (its docstring says what
it draws); Cardiomegaly, Enlarged Cardiomediastinum and the volume loss of
Atelectasis change the layout in ``_geometry`` instead. Every finding has its
own random stream, so adding one never moves another, the anatomy or the noise.

Examples:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> img = render_radiograph({"Cardiomegaly": 1.0}, view="PA", height=320, width=272, rng=rng)
    >>> img.shape, img.dtype
    ((320, 272), dtype('uint8'))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from PIL import Image

from medmod_lib.reference import CHEXPERT_LABELS

#: Accepted ``view`` values; "LL" (left lateral) is drawn as "LATERAL".
VIEWS: tuple[str, ...] = ("AP", "PA", "LATERAL", "LL")
#: Support devices the renderer draws: endotracheal tube, nasogastric tube,
#: central venous catheter, ECG leads.
DEVICES: tuple[str, ...] = ("et", "ng", "cvc", "ecg")
_DEVICE_WIDTH = {"et": 6.0, "ng": 1.5, "cvc": 1.2}  # pixels at 256 px
#: Images whose longer side exceeds this are rendered at this size and upscaled.
MAX_INTERNAL_SIDE = 512
#: Linear attenuation of the film curve: brightness = 1 - exp(-FILM_GAIN * density).
FILM_GAIN = 1.5
_AIR = 0.62  # density removed by a full-thickness, fully aerated lung
_BONE = 0.12  # density of a rib band
_BICUBIC = Image.Resampling.BICUBIC


@dataclass(frozen=True)
class Anatomy:
    """Per-patient chest geometry and exposure, in field-of-view units.

    Horizontal sizes are fractions of the image half-width, vertical ones
    fractions of the image height (see the module docstring). One patient keeps
    one ``Anatomy`` across studies; each image adds its own positioning jitter.

    Attributes:
        body_width: Half-width of the torso at the lung bases.
        thorax_width: Half-width of the rib cage (inner margin) at the lung bases.
        lung_top: Height of the lung apices.
        diaphragm: Height of the costophrenic angles.
        dome: How far the diaphragm domes rise above the costophrenic angles.
        heart_ratio: Cardiothoracic ratio on a PA film (normal: below 0.5).
        mediastinum_width: Half-width of the superior mediastinum.
        rib_spacing: Vertical distance between posterior ribs.
        rotation: Axial rotation; shifts the mediastinum by this fraction of
            the thorax and makes one lung look wider (-1..1, typically small).
        soft_tissue: Water-equivalent thickness of the torso (body habitus).
        brightness: Additive exposure offset of the film.
        contrast: Multiplicative contrast of the film.
    """

    body_width: float = 0.9
    thorax_width: float = 0.72
    lung_top: float = 0.14
    diaphragm: float = 0.76
    dome: float = 0.08
    heart_ratio: float = 0.43
    mediastinum_width: float = 0.1
    rib_spacing: float = 0.075
    rotation: float = 0.0
    soft_tissue: float = 0.9
    brightness: float = 0.0
    contrast: float = 1.0

    @classmethod
    def sample(cls, rng: np.random.Generator) -> Anatomy:
        """Draw a plausible adult chest; all values stay in their documented ranges."""
        u = [float(x) for x in rng.uniform(size=12)]  # Python floats keep arrays float32
        return cls(
            body_width=0.84 + 0.1 * u[0],
            thorax_width=0.66 + 0.1 * u[1],
            lung_top=0.11 + 0.05 * u[2],
            diaphragm=0.72 + 0.07 * u[3],
            dome=0.06 + 0.04 * u[4],
            heart_ratio=0.38 + 0.08 * u[5],
            mediastinum_width=0.085 + 0.03 * u[6],
            rib_spacing=0.068 + 0.016 * u[7],
            rotation=0.08 * (u[8] - 0.5),
            soft_tissue=0.82 + 0.16 * u[9],
            brightness=0.06 * (u[10] - 0.5),
            contrast=0.9 + 0.2 * u[11],
        )


# --------------------------------------------------------------------------- geometry
@lru_cache(maxsize=32)
def _axes(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates: u (W,) in (-1, 1) and v (H,) in (0, 1), read-only."""
    u = (np.arange(width, dtype=np.float32) + 0.5) * (2.0 / width) - 1.0
    v = (np.arange(height, dtype=np.float32) + 0.5) / height
    u.flags.writeable = False
    v.flags.writeable = False
    return u, v


@dataclass(frozen=True)
class _Lung:
    """One lung field: an ellipse cut from below by its hemidiaphragm."""

    cx: float
    cy: float
    ax: float
    ay: float
    out: int  # direction of the outer chest wall: +1 image right, -1 image left
    dia: float  # v of the costophrenic angle
    dome: float
    dome_cx: float
    dome_w: float
    slope: float = 0.0

    def diaphragm(self, u: np.ndarray) -> np.ndarray:
        """Height of the diaphragm under each ``u`` (same shape as ``u``)."""
        t = np.clip(1.0 - ((u - self.dome_cx) / self.dome_w) ** 2, 0.0, None)
        return self.dia + self.slope * (u - self.dome_cx) - self.dome * t

    def rho2(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Squared normalised ellipse radius (1 on the lung outline)."""
        return ((u - self.cx) / self.ax) ** 2 + ((v - self.cy) / self.ay) ** 2

    def point(self, rng: np.random.Generator, zone: str = "any") -> tuple[float, float]:
        """A random (u, v) in the aerated lung, away from the heart; zone: any/upper/lower."""
        lo, hi = {"any": (0.0, 1.0), "upper": (0.0, 0.4), "lower": (0.6, 1.0)}[zone]
        top, bottom = self.cy - 0.8 * self.ay, self.dia - self.dome - 0.03
        v = top + rng.uniform(lo, hi) * (bottom - top)
        half = self.ax * np.sqrt(max(0.0, 1.0 - ((v - self.cy) / self.ay) ** 2))
        return float(self.cx + self.out * rng.uniform(-0.2, 0.6) * half), float(v)


@dataclass
class _Canvas:
    """Everything a finding may edit; all arrays are (H, W) float32."""

    u: np.ndarray  # (1, W) jittered anatomical u
    v: np.ndarray  # (H, 1) jittered anatomical v
    k: float  # one u unit expressed in v units on screen: W / (2 H)
    lungs: list[_Lung]
    heart: tuple[float, float, float, float]  # cx, cy, ax, ay
    mid: float  # u of trachea and midline
    carina: float
    stomach: tuple[float, float]
    lateral: bool
    rib_spacing: float
    devices: dict[str, list[tuple[float, float]]]  # centre lines of tubes and lines
    drawn_devices: tuple[str, ...] | None  # the film's devices; None: chosen by intensity
    density: np.ndarray  # everything but air, ribs and metal
    air: np.ndarray  # lung air thickness
    opacity: np.ndarray  # fraction of the air replaced by fluid/tissue (clipped to [0, 1])
    ribs: np.ndarray
    vessels: np.ndarray
    metal: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.metal = np.zeros_like(self.density)

    def box(self, u0: float, u1: float, v0: float, v1: float) -> tuple[slice, slice]:
        """Row and column slices covering the anatomical box [u0, u1] x [v0, v1]."""
        c0, c1 = np.searchsorted(self.u[0], [u0, u1])
        r0, r1 = np.searchsorted(self.v[:, 0], [v0, v1])
        return slice(int(r0), int(r1)), slice(int(c0), int(c1))

    def lung_mask(self, lung: _Lung, rs: slice, cs: slice, edge: float = 0.08) -> np.ndarray:
        """Soft inside-the-lung mask on a sub-window (rows rs, columns cs)."""
        u, v = self.u[:, cs], self.v[rs]
        inside = np.clip((1.0 - lung.rho2(u, v)) / edge, 0.0, 1.0)
        return inside * np.clip((lung.diaphragm(u) - v) / 0.01, 0.0, 1.0)

    def blob(self, cu: float, cv: float, r: float, rs: slice, cs: slice) -> np.ndarray:
        """Gaussian of radius ``r`` (v units, round on screen) on a sub-window."""
        du = (self.u[:, cs] - cu) * self.k
        return np.exp(-((du**2 + (self.v[rs] - cv) ** 2) / (r * r)))

    def polyline(self, pts: list[tuple[float, float]], value: float, width: float) -> None:
        """Burn a smooth curve through ``pts`` (anatomical u, v) into the metal layer.

        Consecutive triples are joined by quadratic Bezier arcs through the
        midpoints; ``width`` is in pixels of the internal image.
        """
        h, w = self.metal.shape
        p = np.asarray(pts, dtype=np.float64)
        mids = np.concatenate([p[:1], (p[1:-1] + p[2:]) / 2 if len(p) > 2 else p[1:]])
        curves = []
        for i in range(len(p) - 1 if len(p) <= 2 else len(p) - 2):
            a, b, c = (mids[i], p[i + 1], mids[i + 1]) if len(p) > 2 else (p[0], p[0], p[1])
            n = int(np.hypot(*(np.abs(c - a) * (w / 2, h))) * 2) + 4
            t = np.linspace(0.0, 1.0, n)[:, None]
            curves.append((1 - t) ** 2 * a + 2 * (1 - t) * t * b + t**2 * c)
        pts_uv = np.concatenate(curves)
        cols = np.interp(pts_uv[:, 0], self.u[0], np.arange(w))
        rows = np.interp(pts_uv[:, 1], self.v[:, 0], np.arange(h))
        rad = max(0.5, width / 2)
        offs = np.arange(-int(rad), int(rad) + 1)
        for dr in offs:
            for dc in offs:
                if dr * dr + dc * dc <= rad * rad + 0.25:
                    r = np.clip(np.rint(rows + dr).astype(np.intp), 0, h - 1)
                    c = np.clip(np.rint(cols + dc).astype(np.intp), 0, w - 1)
                    self.metal[r, c] = np.maximum(self.metal[r, c], value)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Band-limited noise (H, W) with about ``cells`` blobs across the longer side."""
    h, w = shape
    gh, gw = max(2, round(cells * h / max(h, w))), max(2, round(cells * w / max(h, w)))
    small = rng.standard_normal((gh, gw)).astype(np.float32)
    return np.asarray(Image.fromarray(small).resize((w, h), _BICUBIC))


def _smoothstep(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _pow75(x: np.ndarray) -> np.ndarray:
    """clip(x, 0, 1) ** 0.75 with square roots (several times faster than ``**``)."""
    r = np.sqrt(np.clip(x, 0.0, 1.0))
    return r * np.sqrt(r)


def _band(x: np.ndarray, half: float, edge: float) -> np.ndarray:
    """1 where |x| < half, falling linearly to 0 over ``edge``."""
    return np.clip((half - np.abs(x)) / edge + 0.5, 0.0, 1.0)


def _segment(c: _Canvas, p0: tuple[float, float], p1: tuple[float, float], half: float) -> None:
    """Add a bone bar (clavicle) from p0 to p1 of half-thickness ``half`` (v units)."""
    rs, cs = c.box(
        min(p0[0], p1[0]) - 0.1,
        max(p0[0], p1[0]) + 0.1,
        min(p0[1], p1[1]) - 0.06,
        max(p0[1], p1[1]) + 0.06,
    )
    ax, ay = (p1[0] - p0[0]) * c.k, p1[1] - p0[1]
    du, dv = (c.u[:, cs] - p0[0]) * c.k, c.v[rs] - p0[1]
    t = np.clip((du * ax + dv * ay) / (ax * ax + ay * ay), 0.0, 1.0)
    d = np.sqrt((du - t * ax) ** 2 + (dv - t * ay) ** 2)
    c.density[rs, cs] += 0.3 * np.sqrt(np.clip(1.0 - (d / half) ** 2, 0.0, 1.0))


# --------------------------------------------------------------------------- anatomy
def _lungs_and_vessels(c: _Canvas, tex: np.ndarray, hila: list[tuple[float, float]]) -> None:
    """Aerated lung fields with vascular markings fading from the hila."""
    ridge = np.clip(1.0 - np.abs(tex) * 5.0, 0.0, 1.0)
    ridge *= ridge
    for lung, (hu, hv) in zip(c.lungs, hila, strict=True):
        rs, cs = c.box(lung.cx - lung.ax, lung.cx + lung.ax, lung.cy - lung.ay, lung.dia + 0.01)
        u, v = c.u[:, cs], c.v[rs]
        thick = np.sqrt(np.sqrt(np.clip(1.0 - lung.rho2(u, v), 0.0, 1.0)))  # ~ depth ** 0.5
        c.air[rs, cs] += thick * np.clip((lung.diaphragm(u) - v) / 0.008, 0.0, 1.0)
        near = np.exp(-(((u - hu) * c.k) ** 2 + (v - hv) ** 2) / 0.05)
        c.vessels[rs, cs] = np.maximum(c.vessels[rs, cs], ridge[rs, cs] * (0.35 + 0.65 * near))
        rs, cs = c.box(hu - 0.2, hu + 0.2, hv - 0.12, hv + 0.12)
        c.density[rs, cs] += 0.1 * c.blob(hu, hv, 0.05, rs, cs)


def _frontal(c: _Canvas, a: Anatomy, tw: float, mw: float, widen: float, tex: np.ndarray) -> None:
    """Draw a PA/AP chest into the canvas (geometry already set on ``c``)."""
    u, v, left, right = c.u, c.v, c.lungs[0], c.lungs[1]
    axis = a.rotation * tw  # the chest wall's midline; c.mid also moves with volume loss
    bw = a.body_width * (0.84 + 0.16 * _smoothstep(v, 0.02, 0.25))
    body = _pow75(1.0 - (u / bw) ** 2)
    dia = np.where(u < c.mid, left.diaphragm(u), right.diaphragm(u))
    below = np.clip((v - dia) / 0.012, 0.0, 1.0)
    c.density += a.soft_tissue * body + 0.08 * body * below
    # Humeral heads and the gastric air bubble under the left hemidiaphragm.
    for s in (-1, 1):
        rs, cs = c.box(s * 0.95 - 0.2, s * 0.95 + 0.2, 0.0, 0.3)
        c.density[rs, cs] += 0.2 * c.blob(s * 0.96, 0.13, 0.07, rs, cs) ** 0.5
    gu, gv = right.cx + 0.1, right.dia + 0.05
    rs, cs = c.box(gu - 0.2, gu + 0.2, gv - 0.1, gv + 0.1)
    c.density[rs, cs] -= 0.1 * c.blob(gu, gv, 0.04, rs, cs)
    # Mediastinum (widened superiorly by Enlarged Cardiomediastinum), spine, trachea.
    bump = widen * np.exp(-(((v - 0.3) / 0.15) ** 2))
    half = mw * (1.0 + 2.0 * bump)
    med = _band(u - c.mid, half, 0.02) * (v > 0.02)
    spine = _band(u - axis * 0.3, 0.07, 0.015) * (0.75 + 0.25 * np.cos(v * (2 * np.pi / 0.05)))
    trachea = _band(u - c.mid, 0.028, 0.01) * (v < c.carina)
    c.density += (0.05 + 0.1 * bump) * med + 0.1 * spine - 0.15 * trachea
    ku, kv = c.mid + mw * (1.0 + widen) + 0.01, 0.27
    rs, cs = c.box(ku - 0.2, ku + 0.2, kv - 0.1, kv + 0.1)
    c.density[rs, cs] += 0.2 * c.blob(ku, kv, 0.035 * (1.0 + widen), rs, cs)
    # Heart: an ellipsoid whose projected thickness gives the silhouette.
    hx, hy, hax, hay = c.heart
    rs, cs = c.box(hx - hax - 0.15, hx + hax + 0.15, hy - hay, hy + hay)
    lean = hx + 0.8 * (v[rs] - hy)  # apex down and to the patient's left; keeps the width
    heart = np.sqrt(
        np.clip(1.0 - ((c.u[:, cs] - lean) / hax) ** 2 - ((v[rs] - hy) / hay) ** 2, 0, 1)
    )
    c.density[rs, cs] += 0.08 * np.sqrt(heart) * (1.0 - below[rs, cs])
    _lungs_and_vessels(c, tex, [(c.mid - 0.2, 0.45), (c.mid + 0.22, 0.46)])
    c.air *= 1.0 - med
    c.air[rs, cs] *= 1.0 - np.clip(4.0 * heart, 0.0, 1.0)
    # Ribs: posterior arcs sloping down laterally, fainter anterior arcs, clavicles.
    reach = tw * 1.12 + 0.05
    rs, cs = c.box(axis - reach, axis + reach, a.lung_top - 0.07, max(left.dia, right.dia) + 0.07)
    u, v, dia = u[:, cs], v[rs], dia[:, cs]
    au = np.abs(u - axis)
    phase = (v - 0.36 * (au - 0.08) ** 2) / a.rib_spacing
    post = np.clip((np.cos(phase * 2 * np.pi) - 0.3) / 0.45, 0.0, 1.0)
    phase2 = (v - 0.28 * (tw - au)) / (a.rib_spacing * 1.2)
    ant = 0.4 * np.clip((np.cos(phase2 * 2 * np.pi) - 0.5) / 0.4, 0.0, 1.0) * (au > 0.2)
    lat = np.clip((au - 0.07) / 0.04, 0.0, 1.0) * np.clip((tw * 1.12 - au) / 0.05, 0.0, 1.0)
    vert = _smoothstep(v, a.lung_top - 0.06, a.lung_top) * np.clip((dia + 0.06 - v) / 0.06, 0, 1)
    c.ribs[rs, cs] += (post + ant) * lat * vert
    cv = a.lung_top + 0.05
    for s in (-1, 1):
        _segment(
            c, (axis + s * 0.05, cv + 0.02), (axis + s * 0.62 * a.body_width, cv - 0.04), 0.016
        )


def _lateral(c: _Canvas, a: Anatomy, widen: float, tex: np.ndarray) -> None:
    """Draw a lateral chest (patient facing image left, spine on the right)."""
    u, v, lung = c.u, c.v, c.lungs[0]
    bw = a.body_width * (0.8 + 0.2 * _smoothstep(v, 0.0, 0.25))
    body = _pow75(1.0 - ((u + 0.02) / bw) ** 2)
    below = np.clip((v - lung.diaphragm(u)) / 0.012, 0.0, 1.0)
    c.density += a.soft_tissue * body + 0.08 * body * below
    rs, cs = c.box(-0.5, 0.6, 0.0, 0.35)
    c.density[rs, cs] += 0.22 * c.blob(0.05, 0.08, 0.14, rs, cs)  # arms raised over the apex
    su = lung.cx + lung.ax * 0.92
    spine = _band(u - su, 0.1, 0.015) * (0.7 + 0.3 * np.cos(v * (2 * np.pi / 0.055)) ** 2)
    sternum = _band(u - (lung.cx - lung.ax - 0.01), 0.02, 0.01) * (v > 0.2) * (v < 0.62)
    trachea = _band(u - (c.mid + 0.18 * (v - c.carina)), 0.035, 0.01) * (v < c.carina)
    c.density += 0.12 * spine + 0.08 * sternum - 0.08 * trachea * _smoothstep(v, 0.0, 0.15)
    am_u, am_v = lung.cx - lung.ax * 0.45, 0.36  # anterior mediastinum (retrosternal space)
    rs, cs = c.box(am_u - 0.4, am_u + 0.4, am_v - 0.25, am_v + 0.25)
    ant_med = widen * c.blob(am_u, am_v, 0.1, rs, cs)
    c.density[rs, cs] += 0.3 * ant_med
    rs2, cs2 = c.box(0.0, 0.3, 0.18, 0.42)
    c.density[rs2, cs2] += 0.15 * c.blob(0.14, 0.29, 0.05, rs2, cs2)  # aortic arch
    hx, hy, hax, hay = c.heart
    rh, ch = c.box(hx - hax - 0.2, hx + hax + 0.2, hy - hay, hy + hay)
    lean = hx - 0.6 * (v[rh] - hy)  # the posterior heart border slopes back towards the base
    heart = np.sqrt(
        np.clip(1.0 - ((c.u[:, ch] - lean) / hax) ** 2 - ((v[rh] - hy) / hay) ** 2, 0, 1)
    )
    c.density[rh, ch] += 0.06 * np.sqrt(heart) * (1.0 - below[rh, ch])
    _lungs_and_vessels(c, tex, [(0.08, 0.45)])
    c.air *= 1.0 - np.clip(spine * 1.5, 0.0, 1.0)
    c.air[rh, ch] *= 1.0 - 0.8 * np.clip(3.0 * heart, 0.0, 1.0)  # lungs wrap around it
    c.air[rs, cs] *= 1.0 - np.clip(ant_med, 0.0, 1.0)
    phase = (v + 0.3 * u) / a.rib_spacing
    ribs = np.clip((np.cos(phase * 2 * np.pi) - 0.4) / 0.45, 0.0, 1.0)
    vert = _smoothstep(v, a.lung_top - 0.04, a.lung_top + 0.02) * (v < lung.dia)
    c.ribs += 0.6 * ribs * np.clip((u - 0.05) / 0.1, 0.0, 1.0) * (u < su) * vert


# --------------------------------------------------------------------------- findings
def _lung_box(c: _Canvas, lung: _Lung) -> tuple[slice, slice, np.ndarray, np.ndarray]:
    rs, cs = c.box(lung.cx - lung.ax, lung.cx + lung.ax, lung.cy - lung.ay, lung.dia + 0.01)
    return rs, cs, c.u[:, cs], c.v[rs]


def _on(c: _Canvas, side: int) -> _Lung:
    return c.lungs[0] if len(c.lungs) == 1 or side < 0 else c.lungs[1]


def _effusion(c: _Canvas, x: float, rng: np.random.Generator, side: int) -> None:
    """Fluid in the costophrenic angle: a meniscus rising towards the chest wall."""
    lungs = c.lungs if len(c.lungs) == 2 and rng.uniform() < 0.3 else [_on(c, side)]
    for lung in lungs:
        rs, cs, u, v = _lung_box(c, lung)
        h = 0.05 + 0.22 * x
        wall = np.clip(lung.out * (u - lung.cx) / lung.ax, 0.0, 1.0) ** 2
        top = lung.dia - h * (0.55 + 0.45 * wall)
        fluid = np.clip((v - top) / (0.02 + 0.05 * h), 0.0, 1.0)
        c.opacity[rs, cs] += fluid


def _pneumothorax(c: _Canvas, x: float, rng: np.random.Generator, side: int) -> None:
    """Apical/lateral air rim: a thin visceral pleural line, no markings beyond it."""
    lung = _on(c, side)
    rs, cs, u, v = _lung_box(c, lung)
    depth = 0.07 + 0.28 * x
    apical = np.clip(
        0.3 + 0.7 * (lung.cy - v) / lung.ay + 0.5 * lung.out * (u - lung.cx) / lung.ax, 0.15, 1.0
    )
    thr = (1.0 - depth * apical) ** 2
    r2 = lung.rho2(u, v)
    mask = c.lung_mask(lung, rs, cs)
    gap = np.clip((r2 - thr) / 0.02, 0.0, 1.0) * mask
    line = np.exp(-(((r2 - thr) / 0.012) ** 2)) * mask * (apical > 0.3)
    c.vessels[rs, cs] *= 1.0 - gap
    c.opacity[rs, cs] = c.opacity[rs, cs] * (1.0 - gap) + 0.15 * x * (1.0 - gap) * mask
    c.air[rs, cs] += 0.35 * gap
    c.density[rs, cs] += 0.1 * line


def _patches(
    c: _Canvas,
    lung: _Lung,
    rng: np.random.Generator,
    *,
    r: float,
    amp: float,
    patchy: float,
    zone: str = "any",
    bronchograms: bool = False,
) -> None:
    """A textured opacity of radius ``r`` inside ``lung`` (optionally with air bronchograms)."""
    cu, cv = lung.point(rng, zone)
    rs, cs = c.box(cu - 3 * r / c.k, cu + 3 * r / c.k, cv - 3 * r, cv + 3 * r)
    env = c.blob(cu, cv, r, rs, cs)
    shape = (rs.stop - rs.start, cs.stop - cs.start)
    if min(shape) < 2:
        return
    tex = _smooth_noise(rng, shape, 6)
    dense = np.clip(env * (1.7 + patchy * tex) - 0.5, 0.0, 1.0) * amp
    if bronchograms:
        tubes = np.clip(1.0 - np.abs(_smooth_noise(rng, shape, 5)) / 0.12, 0.0, 1.0)
        dense *= 1.0 - 0.6 * tubes * env
    c.opacity[rs, cs] += dense * c.lung_mask(lung, rs, cs)


def _consolidation(c: _Canvas, x: float, rng: np.random.Generator, side: int) -> None:
    """Dense, fairly homogeneous airspace opacity with air bronchograms."""
    _patches(c, _on(c, side), rng, r=0.05 + 0.08 * x, amp=1.0, patchy=0.25, bronchograms=True)


def _pneumonia(c: _Canvas, x: float, rng: np.random.Generator, side: int) -> None:
    """One or two ill-defined patchy opacities, usually in a lower zone."""
    for _ in range(1 + int(x > 0.5)):
        zone = "lower" if rng.uniform() < 0.7 else "any"
        _patches(c, _on(c, side), rng, r=0.04 + 0.07 * x, amp=0.8, patchy=0.6, zone=zone)


def _lung_opacity(c: _Canvas, x: float, rng: np.random.Generator, side: int) -> None:
    """Several faint patches scattered over one or both lungs."""
    for _ in range(2 + int(2 * x)):
        lung = c.lungs[int(rng.integers(len(c.lungs)))]
        _patches(c, lung, rng, r=0.03 + 0.05 * x, amp=0.6, patchy=0.7)


def _edema(c: _Canvas, x: float, rng: np.random.Generator, side: int) -> None:
    """Bilateral perihilar ("bat-wing") haze with indistinct, prominent vessels."""
    for lung in c.lungs:
        rs, cs, u, v = _lung_box(c, lung)
        hu = lung.cx - lung.out * 0.4 * lung.ax if len(c.lungs) == 2 else lung.cx
        haze = np.exp(
            -(((u - hu) / (0.8 * lung.ax)) ** 2)
            - ((v - lung.cy + 0.2 * lung.ay) / (0.6 * lung.ay)) ** 2
        )
        c.opacity[rs, cs] += (0.6 * haze + 0.15) * x * c.lung_mask(lung, rs, cs)
        c.vessels[rs, cs] *= 1.0 + 0.8 * x


def _atelectasis(c: _Canvas, x: float, rng: np.random.Generator, side: int) -> None:
    """Plate-like basal band plus basal haze (volume loss is set in the layout)."""
    lung = _on(c, side)
    rs, cs, u, v = _lung_box(c, lung)
    v0 = lung.dia - lung.dome - rng.uniform(0.03, 0.08)
    line = v0 + rng.uniform(-0.08, 0.08) * (u - lung.cx)
    along = np.clip(1.0 - ((u - lung.cx) / (0.75 * lung.ax)) ** 2, 0.0, 1.0)
    plate = np.exp(-(((v - line) / (0.007 + 0.012 * x)) ** 2)) * along
    basal = _smoothstep(v, v0 - 0.05, lung.dia) * 0.3 * x
    c.opacity[rs, cs] += (0.9 * plate + basal) * c.lung_mask(lung, rs, cs)


def _lesion(c: _Canvas, x: float, rng: np.random.Generator, side: int) -> None:
    """A round nodule (small intensity) or mass (large intensity)."""
    lung = _on(c, side)
    cu, cv = lung.point(rng, "any")
    r = 0.018 + 0.05 * x
    rs, cs = c.box(cu - 1.5 * r / c.k, cu + 1.5 * r / c.k, cv - 1.5 * r, cv + 1.5 * r)
    d2 = ((c.u[:, cs] - cu) * c.k) ** 2 + (c.v[rs] - cv) ** 2
    sphere = np.sqrt(np.clip(1.0 - d2 / (r * r), 0.0, 1.0))
    c.opacity[rs, cs] += 1.6 * sphere
    c.density[rs, cs] += 0.06 * sphere


def _pleural_other(c: _Canvas, x: float, rng: np.random.Generator, side: int) -> None:
    """Irregular pleural thickening along the lateral (or posterior) chest wall."""
    lung = _on(c, side)
    rs, cs, u, v = _lung_box(c, lung)
    t = (0.012 + 0.03 * x) / lung.ax
    lateral = np.clip(lung.out * (u - lung.cx) / lung.ax / 0.3, 0.0, 1.0)
    r2 = lung.rho2(u, v)
    rim = np.clip((r2 - (1.0 - 2 * t)) / 0.03, 0.0, 1.0) * np.clip((1.02 - r2) / 0.02, 0.0, 1.0)
    lumpy = 0.6 + 0.4 * np.clip(_smooth_noise(rng, rim.shape, 8), -1.0, 1.0)
    rim *= lateral * lumpy * np.clip((lung.diaphragm(u) - v) / 0.01, 0.0, 1.0)
    c.opacity[rs, cs] += rim
    c.density[rs, cs] += 0.05 * rim


def _fracture(c: _Canvas, x: float, rng: np.random.Generator, side: int) -> None:
    """Gaps (cortical breaks) in one or two ribs over the lateral lung."""
    lung = _on(c, side)
    for _ in range(1 + int(x > 0.6)):
        fu = lung.cx + lung.out * rng.uniform(0.3, 0.8) * lung.ax
        fv = rng.uniform(lung.cy - 0.7 * lung.ay, lung.cy + 0.2 * lung.ay)
        gw, sp = 0.004 + 0.012 * x, c.rib_spacing
        rs, cs = c.box(fu - 0.06, fu + 0.06, fv - sp, fv + sp)
        gap = _band(c.u[:, cs] - fu, gw, 0.006) * _band(c.v[rs] - fv, 0.6 * sp, 0.01)
        c.ribs[rs, cs] *= 1.0 - gap


def _support_devices(c: _Canvas, x: float, rng: np.random.Generator, side: int) -> None:
    """ET tube, NG tube, central line and ECG leads: bright lines (1 to 4 devices).

    The devices are ``c.drawn_devices`` when the caller names them (an intubated
    patient has the ET tube); otherwise ``1 + round(3 x)`` of them at random.
    """
    ws = max(1.0, c.metal.shape[0] / 256)
    chosen = c.drawn_devices
    if chosen is None:
        chosen = rng.permutation(list(DEVICES))[: 1 + int(round(3 * x))]
    for name in chosen:
        if name == "ecg":
            for _ in range(int(rng.integers(2, 5))):
                pu, pv = rng.uniform(-0.75, 0.75), rng.uniform(0.08, 0.7)
                t = np.linspace(0, 2 * np.pi, 13)
                ring = [(pu + 0.02 * np.cos(a) / c.k, pv + 0.02 * np.sin(a)) for a in t]
                c.polyline(ring, 1.6, 1.5 * ws)
                end = (np.sign(pu) * 1.05, pv + rng.uniform(-0.3, 0.3))
                bend = ((pu + end[0]) / 2, (pv + end[1]) / 2 + rng.uniform(-0.1, 0.1))
                c.polyline([(pu, pv), bend, end], 1.2, ws)
        else:  # an ET tube is ~11 mm wide: ~2.5 % of a film's width
            c.polyline(c.devices[name], 1.3 if name == "et" else 1.6, _DEVICE_WIDTH[name] * ws)


#: Drawing order: pleural air last among lung findings so no marking crosses it.
_FINDINGS = {
    "Edema": _edema,
    "Lung Opacity": _lung_opacity,
    "Pneumonia": _pneumonia,
    "Consolidation": _consolidation,
    "Atelectasis": _atelectasis,
    "Lung Lesion": _lesion,
    "Pleural Effusion": _effusion,
    "Pleural Other": _pleural_other,
    "Pneumothorax": _pneumothorax,
    "Fracture": _fracture,
    "Support Devices": _support_devices,
}


# --------------------------------------------------------------------------- layout
def _geometry(a: Anatomy, view: str, f: Mapping[str, float], sides: Mapping[str, int]) -> dict:
    """Lungs, heart and device paths for one film, with finding-driven shape changes.

    Cardiomegaly sets the cardiothoracic ratio to 0.52-0.66 (PA); AP films
    magnify the heart by 10 % and sit 0.03 higher (poorer inspiration);
    Atelectasis raises its hemidiaphragm and pulls the mediastinum towards it.
    """
    cm, atl = f.get("Cardiomegaly", 0.0), f.get("Atelectasis", 0.0)
    atl_side = sides.get("Atelectasis", 1)
    ap = view == "AP"
    ctr = max(a.heart_ratio, 0.52 + 0.14 * cm) if cm > 0 else a.heart_ratio
    ctr *= 1.1 if ap else 1.0
    dia0 = a.diaphragm - (0.03 if ap else 0.0)
    carina = a.lung_top + 0.2
    if view in ("LATERAL", "LL"):
        ax = 0.62 + 0.5 * (a.thorax_width - 0.7)
        dia = dia0 + 0.02 - 0.04 * atl
        lung = _Lung(
            cx=0.04,
            cy=dia - 0.06,
            ax=ax,
            ay=dia - 0.04 - a.lung_top,
            out=1,
            dia=dia,
            dome=1.2 * a.dome,
            dome_cx=0.04 - 0.1 * ax,
            dome_w=1.1 * ax,
            slope=0.05,
        )
        hax = 0.32 * ctr / 0.43
        heart = (lung.cx - lung.ax + 0.8 * hax + 0.04, dia - 0.1, hax, 0.19 + 0.04 * cm)
        mid, eso = 0.1, 0.24
        devices = {
            "et": [
                (mid - 0.18 * (carina + 0.02), -0.02),
                (mid - 0.18 * (carina - 0.1), 0.1),
                (mid - 0.01, carina - 0.05),
            ],
            "cvc": [(-0.3, a.lung_top - 0.03), (-0.08, 0.24), (-0.02, carina + 0.08)],
        }
        lungs, stomach = [lung], (heart[0] - 0.05, dia + 0.07)
    else:
        tw, mid = a.thorax_width, a.rotation * a.thorax_width + 0.035 * atl * atl_side
        lungs = []
        for s in (-1, 1):
            ax = (tw - 0.09) / 2 * (1.0 + s * a.rotation)
            dia = dia0 - (0.025 if s < 0 else 0.0) - (0.06 * atl if s == atl_side else 0.0)
            cx = mid + s * (0.09 + ax)
            lungs.append(
                _Lung(
                    cx=cx,
                    cy=dia - 0.03,
                    ax=ax,
                    ay=dia - 0.03 - a.lung_top,
                    out=s,
                    dia=dia,
                    dome=a.dome,
                    dome_cx=cx - s * 0.15 * ax,
                    dome_w=1.15 * ax,
                )
            )
        hax = ctr * tw
        heart = (mid + 0.28 * hax, dia0 - 0.08 - 0.02 * cm, hax, 0.16 + 0.04 * cm)
        eso, stomach = mid + 0.015, (lungs[1].cx + 0.1, lungs[1].dia + 0.06)
        devices = {
            "et": [(mid, -0.02), (mid + 0.003, 0.1), (mid + 0.006, carina - 0.05)],
            "cvc": [
                (mid - 0.62 * a.body_width, a.lung_top + 0.03),
                (mid - 0.15, a.lung_top + 0.07),
                (mid - 0.07, carina),
                (mid - 0.07, carina + 0.08),
            ],
        }
    devices["ng"] = [
        (eso, -0.02),
        (eso + 0.01, 0.4),
        (eso + 0.02, lungs[-1].dia - 0.05),
        stomach,
        (stomach[0] + 0.06, stomach[1] + 0.03),
    ]
    return {
        "lungs": lungs,
        "heart": heart,
        "mid": mid,
        "carina": carina,
        "stomach": stomach,
        "devices": devices,
    }


# --------------------------------------------------------------------------- public API
def _check(findings: Mapping[str, float], view: str, height: int, width: int) -> dict[str, float]:
    unknown = sorted(set(findings) - set(CHEXPERT_LABELS))
    if unknown:
        raise ValueError(
            f"Unknown finding(s) {unknown}; valid CheXpert names: {', '.join(CHEXPERT_LABELS)}"
        )
    if view not in VIEWS:
        raise ValueError(f"Unknown view {view!r}; expected one of {', '.join(VIEWS)}")
    if height < 16 or width < 16:
        raise ValueError(f"Image size {height}x{width} is too small; use at least 16x16 pixels")
    out = {}
    for name, value in findings.items():
        x = float(value)
        if not 0.0 <= x <= 1.0:  # also rejects NaN
            raise ValueError(
                f"Finding {name!r} has intensity {value!r}; expected a value in [0, 1]"
            )
        if x > 0 and name != "No Finding":
            out[name] = x
    return out


def render_radiograph(
    findings: Mapping[str, float],
    *,
    view: str,
    height: int,
    width: int,
    rng: np.random.Generator,
    anatomy: Anatomy | None = None,
    devices: Sequence[str] | None = None,
) -> np.ndarray:
    """Render one synthetic chest radiograph.

    Args:
        findings: CheXpert name -> intensity in [0, 1]; missing or 0 means absent.
            Intensity scales the size/density of a finding. "No Finding" draws
            nothing (a film without other findings is clean).
        view: "PA", "AP", "LATERAL" or "LL" (drawn as LATERAL).
        height: Rows of the output image.
        width: Columns of the output image.
        rng: Source of all randomness; the same state gives the same image.
        anatomy: The patient's geometry; drawn from ``rng`` when omitted.
        devices: Which :data:`DEVICES` a present "Support Devices" draws (e.g. the
            ET tube of an intubated patient); ``None``: 1 to 4 at random, more
            at higher intensity.

    Returns:
        uint8 array (height, width), MONOCHROME2 (bone bright, air dark).

    Raises:
        ValueError: Unknown finding name (the message lists the valid ones),
            intensity outside [0, 1], unknown view, a side below 16 pixels, or an
            unknown device.
    """
    f = _check(findings, view, height, width)
    if devices is not None:
        devices = tuple(devices)
        unknown = sorted(set(devices) - set(DEVICES))
        if unknown:
            raise ValueError(f"Unknown devices {unknown}; valid: {list(DEVICES)}")
    a = Anatomy.sample(rng) if anatomy is None else anatomy
    base_seed, finding_seed = (int(s) for s in rng.integers(0, 2**63, size=2))
    base = np.random.default_rng(base_seed)
    # One stream per finding, so adding a finding never moves another one or the anatomy.
    frng = {n: np.random.default_rng([finding_seed, CHEXPERT_LABELS.index(n)]) for n in f}
    sides = {n: int(r.choice([-1, 1])) for n, r in frng.items()}
    scale = min(1.0, MAX_INTERNAL_SIDE / max(height, width))
    h, w = max(16, round(height * scale)), max(16, round(width * scale))
    ap, lateral = view == "AP", view in ("LATERAL", "LL")

    # Per-film positioning: shift, magnification, in-plane tilt, exposure.
    du, dv = float(base.normal(0.0, 0.025)), float(base.normal(0.0, 0.015))
    zoom = float(base.uniform(1.0, 1.08) if ap else base.uniform(0.95, 1.03))
    tilt = float(base.normal(0.0, 2.0 if ap else 0.8))
    u0, v0 = _axes(h, w)
    u = ((u0 - du) / zoom)[None, :]
    v = (0.5 + (v0 - 0.5 - dv) / zoom)[:, None]
    tex = _smooth_noise(base, (h, w), 14) + 0.5 * _smooth_noise(base, (h, w), 30)
    geo = _geometry(a, view, f, sides)
    zeros = np.zeros((h, w), np.float32)
    c = _Canvas(
        u=u,
        v=v,
        k=w / (2 * h),
        lateral=lateral,
        rib_spacing=a.rib_spacing,
        density=zeros.copy(),
        air=zeros.copy(),
        opacity=zeros.copy(),
        ribs=zeros.copy(),
        vessels=zeros,
        drawn_devices=devices,
        **geo,
    )
    if lateral:
        _lateral(c, a, f.get("Enlarged Cardiomediastinum", 0.0), tex)
    else:
        mw = a.mediastinum_width * (1.08 if ap else 1.0)
        _frontal(c, a, a.thorax_width, mw, f.get("Enlarged Cardiomediastinum", 0.0), tex)
    for name, draw in _FINDINGS.items():
        if name in f:
            draw(c, f[name], frng[name], sides[name])

    opacity = np.clip(c.opacity + 0.25 * c.vessels, 0.0, 1.0)
    dens = c.density + _BONE * c.ribs - _AIR * c.air * (1.0 - opacity) + c.metal
    img = 1.0 - np.exp(-FILM_GAIN * np.maximum(dens, 0.0))
    img = (img - 0.4) * a.contrast * (0.92 if ap else 1.0) + 0.4 + a.brightness
    img = _blur(img, 2 if ap else 1)
    img = np.asarray(
        Image.fromarray(img.astype(np.float32)).rotate(
            tilt, resample=Image.Resampling.BILINEAR, fillcolor=float(img[0, 0])
        )
    )
    img = img + base.standard_normal((h, w), dtype=np.float32) * (0.022 if ap else 0.014)
    if (h, w) != (height, width):
        img = np.asarray(Image.fromarray(img.astype(np.float32)).resize((width, height), _BICUBIC))
        img = img + base.standard_normal((height, width), dtype=np.float32) * 0.012
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _blur(img: np.ndarray, passes: int) -> np.ndarray:
    """Separable [1, 2, 1] / 4 binomial blur, ``passes`` times, edge-replicated."""
    for _ in range(passes):
        p = np.pad(img, 1, mode="edge")
        img = (p[:-2] + 2 * p[1:-1] + p[2:]) * 0.25
        img = (img[:, :-2] + 2 * img[:, 1:-1] + img[:, 2:]) * 0.25
    return img

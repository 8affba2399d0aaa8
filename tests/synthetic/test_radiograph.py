"""Behaviour of the procedural chest-radiograph renderer."""

from __future__ import annotations

import numpy as np
import pytest

from medmod_lib.reference import CHEXPERT_LABELS
from medmod_lib.synthetic.radiograph import Anatomy, _geometry, render_radiograph

H, W = 160, 136  # rows, columns: the 320x272 aspect at half size


def _render(findings: dict[str, float], view: str = "PA", seed: int = 0, **kw) -> np.ndarray:
    kw.setdefault("height", H)
    kw.setdefault("width", W)
    anatomy = kw.pop("anatomy", Anatomy())
    rng = np.random.default_rng(seed)
    return render_radiograph(findings, view=view, rng=rng, anatomy=anatomy, **kw).astype(float)


def _diff(findings: dict[str, float], view: str = "PA", seed: int = 0) -> np.ndarray:
    """Pixel change caused by ``findings`` on the same patient, film and noise."""
    return _render(findings, view, seed) - _render({}, view, seed)


def _zone(img: np.ndarray, u0: float, u1: float, v0: float, v1: float) -> np.ndarray:
    """Pixels of the box u in [u0, u1] (-1..1 across), v in [v0, v1] (0..1 down)."""
    h, w = img.shape
    c0, c1 = round((u0 + 1) / 2 * w), round((u1 + 1) / 2 * w)
    return img[round(v0 * h) : round(v1 * h), c0:c1]


# --------------------------------------------------------------------------- contract
@pytest.mark.parametrize("view", ["PA", "AP", "LATERAL", "LL"])
@pytest.mark.parametrize(("height", "width"), [(64, 64), (320, 272), (40, 90)])
def test_shape_dtype_and_range(view: str, height: int, width: int) -> None:
    img = render_radiograph(
        {"Edema": 0.5}, view=view, height=height, width=width, rng=np.random.default_rng(1)
    )
    assert img.shape == (height, width) and img.dtype == np.uint8
    assert img.min() < 40 and img.max() > 150  # dark background, bright mediastinum/abdomen


def test_large_image_is_upscaled_to_the_exact_size() -> None:
    img = render_radiograph({}, view="AP", height=1300, width=1100, rng=np.random.default_rng(0))
    assert img.shape == (1300, 1100) and img.dtype == np.uint8
    assert np.abs(np.diff(img.astype(int), axis=1)).mean() > 1  # fine grain, not a smooth upscale


def test_same_rng_state_gives_the_same_image_and_another_seed_differs() -> None:
    def make(seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return render_radiograph(
            {"Pneumonia": 0.7, "Support Devices": 1.0}, view="AP", height=96, width=80, rng=rng
        )

    np.testing.assert_array_equal(make(5), make(5))
    assert np.abs(make(5).astype(int) - make(6)).mean() > 1


def test_anatomy_sample_is_deterministic_and_normal_hearts_are_below_ctr_half() -> None:
    assert Anatomy.sample(np.random.default_rng(3)) == Anatomy.sample(np.random.default_rng(3))
    rng = np.random.default_rng(0)
    for _ in range(200):
        a = Anatomy.sample(rng)
        _, _, hax, _ = _geometry(a, "PA", {}, {})["heart"]
        assert 0.35 < hax / a.thorax_width < 0.5
        _, _, hax, _ = _geometry(a, "PA", {"Cardiomegaly": 0.05}, {})["heart"]
        assert hax / a.thorax_width > 0.52


def test_absent_and_zero_intensity_findings_and_no_finding_draw_nothing() -> None:
    clean = _render({})
    np.testing.assert_array_equal(clean, _render({"Edema": 0.0, "Fracture": 0}))
    np.testing.assert_array_equal(clean, _render({"No Finding": 1.0}))


def test_adding_a_finding_leaves_the_rest_of_the_film_alone() -> None:
    d = _diff({"Lung Lesion": 0.5})
    assert (d != 0).mean() < 0.05  # a nodule, not a different patient or noise field
    both = _render({"Lung Lesion": 0.5, "Support Devices": 1.0}) - _render({"Support Devices": 1.0})
    assert np.abs(both - d).max() < 60  # the nodule is drawn where it was without the devices


def test_unknown_finding_names_raise_and_list_valid_names() -> None:
    with pytest.raises(ValueError, match="Cardiomegaly.*Support Devices") as err:
        _render({"Cardiomegally": 1.0})
    assert "Cardiomegally" in str(err.value)


@pytest.mark.parametrize("view", ["", "pa", "AP_AXIAL", "LAO"])
def test_unknown_views_raise(view: str) -> None:
    with pytest.raises(ValueError, match="view.*AP, PA, LATERAL, LL"):
        _render({}, view=view)


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan")])
def test_intensity_outside_unit_interval_raises(value: float) -> None:
    with pytest.raises(ValueError, match="Edema.*\\[0, 1\\]"):
        _render({"Edema": value})


def test_tiny_images_raise() -> None:
    with pytest.raises(ValueError, match="16x16"):
        _render({}, height=8, width=64)


# --------------------------------------------------------------------------- findings
def test_cardiomegaly_widens_the_cardiac_silhouette() -> None:
    d = _diff({"Cardiomegaly": 1.0})
    assert _zone(d, 0.25, 0.65, 0.5, 0.7).mean() > 25  # left heart border moves into the lung
    assert np.abs(_zone(d, -0.9, -0.1, 0.1, 0.35)).mean() < 1  # upper right lung untouched
    row = _render({"Cardiomegaly": 1.0})[int(0.62 * H)]
    normal = _render({})[int(0.62 * H)]
    assert (row > 150).sum() > (normal > 150).sum() + 0.08 * W


def test_enlarged_cardiomediastinum_widens_the_upper_mediastinum() -> None:
    row, normal = (_render(f)[int(0.3 * H)] for f in ({"Enlarged Cardiomediastinum": 1.0}, {}))
    assert (row > 170).sum() >= (normal > 170).sum() + 0.06 * W
    assert np.abs(_diff({"Enlarged Cardiomediastinum": 1.0})[int(0.9 * H)]).max() < 1


def test_pleural_effusion_whitens_the_lower_lateral_zone() -> None:
    d = _diff({"Pleural Effusion": 1.0})
    assert d.min() >= 0
    low = max(_zone(d, -0.7, -0.4, 0.62, 0.72).mean(), _zone(d, 0.4, 0.7, 0.62, 0.72).mean())
    assert low > 60
    assert _zone(d, -0.9, 0.9, 0.0, 0.35).max() == 0  # apices untouched
    assert _diff({"Pleural Effusion": 0.2}).sum() < 0.5 * d.sum()  # intensity scales the size


def test_pneumothorax_darkens_an_apex() -> None:
    for seed in range(3):
        with_ptx, clean = _render({"Pneumothorax": 1.0}, seed=seed), _render({}, seed=seed)
        apices = [(-0.7, -0.4, 0.2, 0.4), (0.4, 0.7, 0.2, 0.4)]
        drops = [_zone(clean, *b).mean() - _zone(with_ptx, *b).mean() for b in apices]
        assert max(drops) > 8
        # No markings beyond the pleural line: the lucent rim is flatter than before.
        rim = (with_ptx - clean) < -10
        assert rim.sum() > 50 and with_ptx[rim].mean() < clean[rim].mean() - 15


def test_support_devices_add_thin_bright_lines_only() -> None:
    d = _diff({"Support Devices": 1.0}, view="AP")
    assert d.min() >= 0
    bright = d > 40
    assert 0.002 < bright.mean() < 0.06
    # Thin: almost every bright pixel has a non-bright pixel within 3 pixels across.
    assert (bright[:, 3:] & bright[:, :-3]).sum() < 0.6 * bright.sum()


@pytest.mark.parametrize(
    "name", ["Consolidation", "Pneumonia", "Lung Opacity", "Edema", "Lung Lesion", "Pleural Other"]
)
@pytest.mark.parametrize("view", ["PA", "LATERAL"])
def test_lung_opacities_only_brighten_inside_the_lungs(name: str, view: str) -> None:
    d = _diff({name: 1.0}, view=view)
    assert d.min() >= 0 and d.max() > 25
    assert _zone(d, -1, 1, 0.88, 1.0).max() == 0  # nothing below the diaphragm
    assert d[:, :3].max() == 0 and d[:, -3:].max() == 0  # nor outside the body


def test_edema_is_bilateral_and_perihilar() -> None:
    d = _diff({"Edema": 1.0})
    hila = (_zone(d, -0.45, -0.2, 0.35, 0.55).mean(), _zone(d, 0.2, 0.45, 0.35, 0.55).mean())
    assert min(hila) > 10
    assert min(hila) > _zone(d, -0.75, -0.6, 0.2, 0.3).mean()


def test_lung_lesion_is_a_round_compact_opacity_growing_with_intensity() -> None:
    small, large = ((_diff({"Lung Lesion": x}) > 20).sum() for x in (0.1, 1.0))
    assert 0 < small < large < 0.05 * H * W


def test_atelectasis_raises_a_hemidiaphragm_and_adds_a_basal_band() -> None:
    d = _diff({"Atelectasis": 1.0})
    assert d.max() > 40
    # Volume loss shifts the mediastinum a little; the change is mostly basal.
    assert np.abs(d[int(0.55 * H) :]).mean() > 1.5 * np.abs(d[: int(0.35 * H)]).mean()


def test_fracture_breaks_a_rib_laterally() -> None:
    d = _diff({"Fracture": 1.0})
    assert d.max() <= 0 and d.min() < -8  # a gap in bright bone
    rows, cols = np.nonzero(d < -4)
    assert np.abs((cols + 0.5) / W * 2 - 1).min() > 0.2  # over the lateral lung, not the spine


def test_lateral_view_has_a_different_geometry() -> None:
    pa, lat = _render({}, "PA"), _render({}, "LATERAL")
    # Frontal: symmetric lungs either side of a bright midline; lateral: one lung field.
    assert pa[int(0.45 * H), W // 2] > pa[int(0.45 * H), W // 4] + 60
    assert np.abs(pa - pa[:, ::-1]).mean() < np.abs(lat - lat[:, ::-1]).mean()


# --------------------------------------------------------------------------- learnability
def _auroc(y: np.ndarray, s: np.ndarray) -> float:
    pos, neg = s[y == 1], s[y == 0]
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg).mean())


def test_a_linear_probe_on_small_images_detects_cardiomegaly_and_effusion() -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    n, names = 320, ["Cardiomegaly", "Pleural Effusion", "Edema", "Pneumonia", "Support Devices"]
    x, y = np.empty((n, 256)), np.zeros((n, 2))
    for i in range(n):
        f = {name: float(rng.uniform(0.3, 1.0)) for name in names if rng.uniform() < 0.35}
        img = render_radiograph(f, view=str(rng.choice(["AP", "PA"])), height=64, width=64, rng=rng)
        x[i] = img.reshape(16, 4, 16, 4).mean(axis=(1, 3)).ravel() / 255
        y[i] = ["Cardiomegaly" in f, "Pleural Effusion" in f]
    for k in range(2):
        model = LogisticRegression(C=10.0, max_iter=3000).fit(x[:220], y[:220, k])
        assert _auroc(y[220:, k], model.decision_function(x[220:])) > 0.85


def test_every_label_is_accepted() -> None:
    img = render_radiograph(
        dict.fromkeys(CHEXPERT_LABELS, 1.0),
        view="PA",
        height=64,
        width=64,
        rng=np.random.default_rng(0),
    )
    assert img.shape == (64, 64)


def test_named_devices_are_drawn_and_only_those() -> None:
    """An intubated patient's film: the ET tube down the trachea, at a visible width."""
    sd = {"Support Devices": 0.2}
    tube = _render(sd, "AP", devices=["et"]) - _render({}, "AP")
    trachea = _zone(tube, -0.08, 0.08, 0.0, 0.2)
    assert (trachea > 40).any(axis=0).sum() >= 3  # several columns wide at 136 px
    assert (_zone(tube, -1.0, -0.3, 0.0, 1.0) <= 40).all()  # nothing else, e.g. no leads
    # a central line instead: the trachea stays clear
    line = _render(sd, "AP", devices=["cvc"]) - _render({}, "AP")
    assert (_zone(line, -0.02, 0.02, 0.0, 0.08) <= 40).all()
    with pytest.raises(ValueError, match="Unknown devices"):
        _render(sd, "AP", devices=["pacemaker"])

"""Claims about the Shapeset-3x2 data set (Glorot & Bengio 2010) as `fanin.data.shapeset` renders it."""

from __future__ import annotations

import math
from contextlib import contextmanager

import pytest
import torch

import fanin.data.shapeset as shapeset
from fanin.data.shapeset import IMAGE_SIZE, SHAPESET_CLASSES, render_shapeset

N = 30_000
DEFAULT_THREADS = torch.get_num_threads()


@contextmanager
def threads(count: int):
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # The images do not depend on the thread count (tested below), but on a shared 2-core machine
    # two intra-op threads slow down ~10x whenever another process takes a core; one thread does not.
    with threads(1):
        yield


@pytest.fixture(scope="module")
def rendered(one_thread):
    return render_shapeset(N, torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def scene(one_thread):
    return shapeset._sample_scene(8_000, torch.Generator().manual_seed(1), IMAGE_SIZE)


def _assert_frequency(labels: torch.Tensor, classes: list[int], p: float) -> None:
    # Binomial: a class count over N images has sd sqrt(p(1-p)/N); 5 sd makes a false alarm
    # vanishingly rare (< 1e-6 per class) while catching any bias above ~1 percentage point.
    tolerance = 5 * math.sqrt(p * (1 - p) / len(labels))
    for c in classes:
        frequency = (labels == c).double().mean().item()
        assert abs(frequency - p) < tolerance, f"{SHAPESET_CLASSES[c]}: {frequency:.4f} vs {p:.4f}"


def _distinct_per_image(images: torch.Tensor) -> torch.Tensor:
    values = images.flatten(1).sort(1).values
    return 1 + (values.diff(dim=1) != 0).sum(1)


def test_there_are_nine_classes_named_after_their_shapes():
    assert len(SHAPESET_CLASSES) == 9 and len(set(SHAPESET_CLASSES)) == 9
    singles = SHAPESET_CLASSES[:3]
    assert singles == ("triangle", "parallelogram", "ellipse")
    for pair in SHAPESET_CLASSES[3:]:
        assert all(part in singles for part in pair.split("+"))


def test_images_and_labels_have_the_promised_types_and_shapes(rendered):
    images, labels = rendered
    assert images.shape == (N, IMAGE_SIZE, IMAGE_SIZE) and images.dtype == torch.float32
    assert labels.shape == (N,) and labels.dtype == torch.int64
    assert labels.min() >= 0 and labels.max() <= 8


def test_single_shapes_are_one_sixth_each(rendered):
    _assert_frequency(rendered[1], [0, 1, 2], 1 / 6)


def test_same_shape_pairs_are_one_eighteenth_each(rendered):
    _assert_frequency(rendered[1], [3, 4, 5], 1 / 18)


def test_mixed_pairs_are_one_ninth_each(rendered):
    _assert_frequency(rendered[1], [6, 7, 8], 1 / 9)


def test_pixels_lie_in_minus_one_to_one(rendered):
    images, _ = rendered
    assert images.min() >= -1 and images.max() <= 1


def test_each_image_shows_one_grey_level_per_object_plus_background(rendered):
    images, labels = rendered[0][:5_000], rendered[1][:5_000]  # sorting every pixel is the slow part
    n_objects = torch.where(labels < 3, 1, 2)
    assert torch.equal(_distinct_per_image(images), n_objects + 1)


def test_objects_and_background_come_from_opposite_grey_ranges(rendered):
    # [0, 0.45] and [0.55, 1] map to [-1, -0.1] and [0.1, 1]: no pixel is in between, and each
    # image has both a dark and a light level, the background alone on its side.
    images, labels = rendered[0][:5_000], rendered[1][:5_000]
    flat = images.flatten(1)
    assert not ((flat > -0.1) & (flat < 0.1)).any()
    light_levels = _distinct_per_image(flat.clamp(min=0)) - (flat < 0).any(1).long()
    dark_levels = _distinct_per_image(flat.clamp(max=0)) - (flat > 0).any(1).long()
    n_objects = torch.where(labels < 3, 1, 2)
    assert torch.equal(light_levels + dark_levels, n_objects + 1)
    assert ((light_levels == 1) | (dark_levels == 1)).all()


def test_background_is_painted_in_the_background_range(scene):
    images = shapeset._compose(scene, IMAGE_SIZE).flatten(1)
    background = ~(scene.first | scene.second)
    # Swapped ranges: a light background, [0.55, 1] -> [0.1, 1]; else a dark one, [0, 0.45] -> [-1, -0.1].
    in_background_range = torch.where(scene.dark_objects[:, None], images >= 0.1, images <= -0.1)
    assert in_background_range[background].all()
    assert not in_background_range[~background].any()


def test_dark_objects_on_light_background_half_the_time(scene):
    fraction = scene.dark_objects.double().mean().item()
    assert abs(fraction - 0.5) < 5 * math.sqrt(0.25 / len(scene.dark_objects))


def test_two_objects_get_their_own_grey_levels(scene):
    pairs = scene.n_objects == 2
    assert (scene.grey[pairs, 0] != scene.grey[pairs, 1]).all()


def test_second_object_covers_at_most_half_of_the_first(scene):
    overlap = (scene.first & scene.second).sum(1)
    assert (2 * overlap <= scene.first.sum(1)).all()
    # The constraint is not vacuous: objects do touch, sometimes a lot.
    pairs = scene.n_objects == 2
    assert (overlap[pairs] > 0).double().mean() > 0.1
    assert (2 * overlap[pairs] > 0.8 * scene.first[pairs].sum(1)).any()


def test_single_object_images_have_no_second_object(scene):
    assert not scene.second[scene.n_objects == 1].any()


def test_every_object_is_visible(scene):
    visible_first = (scene.first & ~scene.second).sum(1)
    assert visible_first.min() >= 4
    assert scene.second[scene.n_objects == 2].sum(1).min() >= 4


def test_objects_span_a_fifth_to_most_of_the_image(scene):
    # Scales U[0.2, 0.8] per axis: areas range from a small triangle (2% of the image) to a
    # large rectangle (64%), minus what is clipped at the border.
    area = scene.first.sum(1).double() / IMAGE_SIZE**2
    assert area.min() > 0.015 and 0.4 < area.max() <= 0.65
    assert 0.1 < area.mean() < 0.25


def test_labels_name_the_shapes_in_the_image(scene):
    for c, name in enumerate(SHAPESET_CLASSES):
        idx = (scene.labels == c).nonzero().squeeze(1)
        parts = sorted(name.split("+"))
        for i in idx[:20].tolist():
            drawn = scene.shapes[i, : scene.n_objects[i]].tolist()
            assert sorted(shapeset.SHAPES[s] for s in drawn) == parts


def test_same_seed_gives_identical_images():
    a = render_shapeset(500, torch.Generator().manual_seed(7))
    b = render_shapeset(500, torch.Generator().manual_seed(7))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_different_seeds_give_different_images():
    a, _ = render_shapeset(500, torch.Generator().manual_seed(7))
    b, _ = render_shapeset(500, torch.Generator().manual_seed(8))
    assert not torch.equal(a, b)


def test_images_do_not_depend_on_the_thread_count():
    if DEFAULT_THREADS < 2:
        pytest.skip("needs more than one intra-op thread to compare")
    with threads(DEFAULT_THREADS):
        many = render_shapeset(1_000, torch.Generator().manual_seed(9))
    one = render_shapeset(1_000, torch.Generator().manual_seed(9))
    assert torch.equal(many[0], one[0]) and torch.equal(many[1], one[1])


def test_successive_calls_continue_the_stream():
    generator = torch.Generator().manual_seed(7)
    a, _ = render_shapeset(100, generator)
    b, _ = render_shapeset(100, generator)
    assert not torch.equal(a, b)


def test_padding_vertices_do_not_change_a_polygon():
    triangle = torch.tensor([[[4.0, 4.0], [28.0, 6.0], [10.0, 27.0]]])
    padded = shapeset._pad(triangle, 20)
    assert padded.shape == (1, 20, 2)
    mask = shapeset._rasterize(triangle, IMAGE_SIZE)
    assert torch.equal(shapeset._rasterize(padded, IMAGE_SIZE), mask)
    # Pixel count near the exact area, |cross((24, 2), (6, 23))| / 2 = 270.
    assert abs(mask.sum().item() - 270) < 15


def test_an_axis_aligned_square_covers_exactly_its_pixels():
    square = torch.tensor([[[8.0, 8.0], [24.0, 8.0], [24.0, 24.0], [8.0, 24.0]]])
    mask = shapeset._rasterize(square, IMAGE_SIZE).view(IMAGE_SIZE, IMAGE_SIZE)
    expected = torch.zeros(IMAGE_SIZE, IMAGE_SIZE, dtype=torch.bool)
    expected[8:24, 8:24] = True
    assert torch.equal(mask, expected)


def test_fallback_redraws_still_honour_the_overlap_limit(monkeypatch):
    # Skip the vectorized rounds so that every violating pair goes through the per-image fallback.
    monkeypatch.setattr(shapeset, "_VECTOR_ROUNDS", 0)
    scene = shapeset._sample_scene(300, torch.Generator().manual_seed(2), IMAGE_SIZE)
    assert (2 * (scene.first & scene.second).sum(1) <= scene.first.sum(1)).all()


def test_gives_up_loudly_rather_than_looping_forever(monkeypatch):
    monkeypatch.setattr(shapeset, "_VECTOR_ROUNDS", 0)
    monkeypatch.setattr(shapeset, "_FALLBACK_ROUNDS", 0)
    with pytest.raises(RuntimeError, match="no place"):
        shapeset._sample_scene(300, torch.Generator().manual_seed(2), IMAGE_SIZE)


def test_other_image_sizes_scale_the_same_shapes():
    images, labels = render_shapeset(200, torch.Generator().manual_seed(3), size=64)
    assert images.shape == (200, 64, 64)
    assert torch.equal(_distinct_per_image(images), torch.where(labels < 3, 2, 3))


@pytest.mark.parametrize("n", [0, -5, 2.5, True])
def test_rejects_a_non_positive_or_non_integer_count(n):
    with pytest.raises(ValueError, match="n must be"):
        render_shapeset(n, torch.Generator())


def test_rejects_a_missing_generator():
    with pytest.raises(ValueError, match="generator"):
        render_shapeset(10, 0)


def test_rejects_images_too_small_for_the_smallest_object():
    with pytest.raises(ValueError, match="size"):
        render_shapeset(10, torch.Generator(), size=8)

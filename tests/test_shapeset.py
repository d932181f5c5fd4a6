"""Claims about the Shapeset-3x2 data set (Glorot & Bengio 2010) as `fanin.data.shapeset` renders it."""

from __future__ import annotations

import math
from contextlib import contextmanager

import pytest
import torch

import fanin.data.shapeset as shapeset
from fanin.data.shapeset import IMAGE_SIZE, SHAPESET_CLASSES, render_shapeset

N = 30_000


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


def test_grey_levels_are_8_bit(rendered):
    levels = (rendered[0][:5_000] + 1) * 255 / 2
    assert torch.allclose(levels, levels.round(), atol=1e-3)


def test_objects_and_background_come_from_opposite_8_bit_ranges(scene):
    # Glorot's ranges [0, 0.45] and [0.55, 1] in 8 bits: 0..114 and 140..255, swapped half of the time.
    dark = scene.dark_objects
    assert ((scene.grey >= 0) & (scene.grey <= 114)).all(1)[dark].all()
    assert ((scene.grey >= 140) & (scene.grey <= 255)).all(1)[~dark].all()
    assert ((scene.background >= 140) & (scene.background <= 255))[dark].all()
    assert ((scene.background >= 0) & (scene.background <= 114))[~dark].all()
    assert set(scene.background[~dark].tolist()) == set(range(0, 115))  # every level of the range is drawn


def test_background_and_objects_are_painted_at_their_levels(scene):
    images = ((shapeset._compose(scene, IMAGE_SIZE).flatten(1) + 1) * 255 / 2).round().long()
    background = ~(scene.first | scene.second)
    assert torch.equal(images[background], scene.background[:, None].expand_as(images)[background])
    on_top = scene.second  # the second object is painted over the first
    assert torch.equal(images[on_top], scene.grey[:, 1:].expand_as(images)[on_top])
    first_visible = scene.first & ~scene.second
    assert torch.equal(images[first_visible], scene.grey[:, :1].expand_as(images)[first_visible])


def test_dark_objects_on_light_background_half_the_time(scene):
    fraction = scene.dark_objects.double().mean().item()
    assert abs(fraction - 0.5) < 5 * math.sqrt(0.25 / len(scene.dark_objects))


def test_one_or_two_objects_are_drawn_half_the_time_each(scene):
    fraction = (scene.drawn_objects == 2).double().mean().item()
    assert abs(fraction - 0.5) < 5 * math.sqrt(0.25 / len(scene.drawn_objects))


def test_single_object_images_have_no_second_object(scene):
    assert not scene.second[scene.n_objects == 1].any()


def test_every_vertex_keeps_a_one_pixel_margin_so_no_object_is_clipped(scene):
    polygons = scene.polygons[scene.n_objects == 2].flatten(1, 2)
    assert polygons.min() >= shapeset.MARGIN - 1e-4 and polygons.max() <= IMAGE_SIZE - shapeset.MARGIN + 1e-4
    border = torch.zeros(IMAGE_SIZE, IMAGE_SIZE, dtype=torch.bool)
    border[0], border[-1], border[:, 0], border[:, -1] = True, True, True, True
    assert not ((scene.first | scene.second) & border.flatten()).any()


def test_scales_are_a_fifth_to_four_fifths_of_the_image_larger_along_the_base(scene):
    s = scene.scales[:, 0]
    assert (s >= 0.2 * IMAGE_SIZE - 1e-4).all() and (s <= 0.8 * IMAGE_SIZE + 1e-4).all()
    assert (s[:, 0] >= s[:, 1]).all()


def _base_rotation_steps(k: int) -> set[int]:
    """Python 2's integer arithmetic of polygongen._corners, written out for rotation_resolution 255."""
    r, low = 255, set()
    for r1 in range(r // k):
        low.add(min(r - (r - 1) // k + r1, r - 1) if r1 > (r - 1) // (2 * k) else r1)
    return low


@pytest.mark.parametrize("shape", [0, 1, 2])
def test_pre_rotation_spans_one_symmetry_period_of_the_regular_polygon(shape):
    shapes = torch.full((20_000,), shape)
    theta1, theta3 = shapeset._rotations(shapes, torch.Generator().manual_seed(4))
    step = 2 * math.pi / 255
    assert set((theta1 / step).round().long().tolist()) == _base_rotation_steps(shapeset.N_VERTICES[shape])
    assert set((theta3 / step).round().long().tolist()) == set(range(254))


@pytest.mark.parametrize("shape", [0, 1, 2])
def test_the_base_edge_is_relevelled_then_turned_by_the_final_rotation(shape):
    # Before theta3, the edge from the last vertex to the first is horizontal whatever the pre-rotation and
    # scales; theta3 then turns it, so its direction is theta3 (mod pi).
    m, k = 500, shapeset.N_VERTICES[shape]
    shapes = torch.full((m,), shape)
    theta1, theta3 = shapeset._rotations(shapes, torch.Generator().manual_seed(5))
    objects = shapeset._place(shapes, theta1, theta3,
                              torch.rand(m, 4, generator=torch.Generator().manual_seed(6)), IMAGE_SIZE)
    edge = objects.polygons[:, 0] - objects.polygons[:, k - 1]
    angle = torch.atan2(edge[:, 1], edge[:, 0])
    difference = torch.remainder(angle - theta3 + math.pi / 2, math.pi) - math.pi / 2
    assert difference.abs().max() < 1e-3


def test_a_base_shape_is_the_regular_polygon_on_the_circle_of_diameter_one():
    for k in shapeset.N_VERTICES:
        polygon = shapeset._regular_polygon(k)
        assert torch.allclose(polygon.norm(dim=1), torch.full((k,), 0.5))
        assert abs(polygon[0, 1] - polygon[-1, 1]) < 1e-6  # one edge horizontal


def _estimated_overlap(old, old_centre, old_area, new, new_centre, new_area) -> float:
    """polygongen._corners' estimate for one pair, in plain Python (the first centre truncated, as int32)."""
    px, py = int(old_centre[0]), int(old_centre[1])
    vx, vy = new_centre[0] - px, new_centre[1] - py
    d = math.hypot(vx, vy)
    reach = (max(((x - px) * vx + (y - py) * vy) / d for x, y in old)
             + max(((x - new_centre[0]) * -vx + (y - new_centre[1]) * -vy) / d for x, y in new))
    if reach < d:
        return 0.0
    return new_area * (1 - math.exp(-(reach - d) / (d / math.log(2)))) / old_area


def test_kept_second_objects_pass_the_original_overlap_estimate(scene):
    pairs = (scene.n_objects == 2).nonzero().squeeze(1)[:300].tolist()
    k = shapeset.N_VERTICES
    area = lambda i, o: (scene.scales[i, o].prod().item() * k[scene.shapes[i, o]]  # noqa: E731
                         * math.sin(2 * math.pi / k[scene.shapes[i, o]]) / (2 * math.pi))
    for i in pairs:
        estimate = _estimated_overlap(scene.polygons[i, 0].tolist(), scene.centres[i, 0].tolist(), area(i, 0),
                                      scene.polygons[i, 1].tolist(), scene.centres[i, 1].tolist(), area(i, 1))
        assert estimate <= shapeset.MAX_OVERLAP + 1e-5
    assert (scene.rejections[scene.n_objects == 2] < shapeset.MAX_REJECTIONS).all()
    assert (scene.rejections > 0).any()  # the estimate does reject draws


def test_second_objects_are_redrawn_and_dropped_after_fifty_rejections(monkeypatch):
    # With a cap of one rejection, every second object the estimate refuses once is dropped, as after 50;
    # the image then has one object and its label names that shape.
    monkeypatch.setattr(shapeset, "MAX_REJECTIONS", 1)
    scene = shapeset._sample_scene(2_000, torch.Generator().manual_seed(2), IMAGE_SIZE)
    dropped = (scene.drawn_objects == 2) & (scene.n_objects == 1)
    assert dropped.any()
    assert (scene.rejections[dropped] == 1).all()
    assert (scene.labels[dropped] < 3).all() and torch.equal(scene.labels[dropped], scene.shapes[dropped, 0])
    assert not scene.second[dropped].any()


def test_rejection_keeps_the_second_objects_occlusion_small(scene):
    # The estimate is not a pixel count, but it keeps the first object mostly visible.
    pairs = scene.n_objects == 2
    covered = (scene.first & scene.second)[pairs].sum(1).double() / scene.first[pairs].sum(1)
    assert covered.mean() < 0.2 and (covered > 0.5).double().mean() < 0.01
    assert (covered > 0).double().mean() > 0.5  # objects do touch: the constraint is not vacuous


def test_object_areas_follow_the_scales_times_the_polygons_area(scene):
    # Area of the n-gon on the unit-diameter circle, scaled by (s_x, s_y): s_x s_y n sin(2 pi / n) / 8;
    # pygame's filled polygon adds about half the perimeter (its row ends are inclusive).
    k = torch.tensor(shapeset.N_VERTICES, dtype=torch.float64)[scene.shapes[:, 0]]
    exact = scene.scales[:, 0].double().prod(1) * k * torch.sin(2 * math.pi / k) / 8
    pixels = scene.first.sum(1).double()
    assert (pixels > 0.7 * exact).all()
    assert 1.0 < (pixels / exact).median() < 1.4


def test_same_seed_gives_identical_images():
    a = render_shapeset(500, torch.Generator().manual_seed(7))
    b = render_shapeset(500, torch.Generator().manual_seed(7))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_different_seeds_give_different_images():
    a, _ = render_shapeset(500, torch.Generator().manual_seed(7))
    b, _ = render_shapeset(500, torch.Generator().manual_seed(8))
    assert not torch.equal(a, b)


def test_images_do_not_depend_on_the_thread_count():
    # Explicit counts: under `make test` each worker runs with one thread (tests/conftest.py).
    with threads(2):
        many = render_shapeset(1_000, torch.Generator().manual_seed(9))
    with threads(1):
        one = render_shapeset(1_000, torch.Generator().manual_seed(9))
    assert torch.equal(many[0], one[0]) and torch.equal(many[1], one[1])


def test_the_pixels_are_drawn_on_the_device_asked_for_from_the_cpu_generators_stream():
    # On "meta" every op must run where the images are asked for: a CPU tensor mixed in raises, as on a GPU.
    images, labels = render_shapeset(5_000, torch.Generator().manual_seed(9), device="meta")
    assert images.device.type == labels.device.type == "meta" and images.shape == (5_000, 32, 32)
    on_cpu = render_shapeset(5_000, torch.Generator().manual_seed(9), device="cpu")
    default = render_shapeset(5_000, torch.Generator().manual_seed(9))
    assert torch.equal(on_cpu[0], default[0]) and torch.equal(on_cpu[1], default[1])


def test_successive_calls_continue_the_stream():
    generator = torch.Generator().manual_seed(7)
    a, _ = render_shapeset(100, generator)
    b, _ = render_shapeset(100, generator)
    assert not torch.equal(a, b)


def test_other_image_sizes_scale_the_same_shapes():
    images, labels = render_shapeset(200, torch.Generator().manual_seed(3), size=64)
    assert images.shape == (200, 64, 64)
    # two objects may share a grey level (1 in 115), never with the background
    levels = _distinct_per_image(images)
    assert (levels[labels < 3] == 2).all() and ((levels[labels >= 3] >= 2) & (levels[labels >= 3] <= 3)).all()


def test_a_polygon_fills_the_pixels_pygame_fills():
    # A 20-gon of the original generator whose truncated vertices dent it at x = 13 and 14; pygame 2.6.1
    # filled these pixel ranges per row (y: x_first..x_last), measured in a scratch run of glorotxa/Shapeset.
    vertices = [[15.979, 8.953], [17.814, 7.354], [19.982, 6.362], [22.27, 6.074], [24.456, 6.518],
                [26.324, 7.651], [27.693, 9.362], [28.427, 11.483], [28.456, 13.808], [27.776, 16.107],
                [26.454, 18.157], [24.619, 19.756], [22.451, 20.748], [20.162, 21.036], [17.977, 20.592],
                [16.109, 19.459], [14.74, 17.748], [14.006, 15.626], [13.977, 13.302], [14.657, 11.003]]
    pygame_rows = {6: (19, 24), 7: (17, 26), 8: (15, 26), 9: (14, 27), 10: (14, 27), 11: (14, 28),
                   12: (13, 28), 13: (13, 28), 14: (13, 27), 15: (14, 27), 16: (14, 27), 17: (14, 26),
                   18: (15, 26), 19: (16, 24), 20: (17, 22), 21: (20, 20)}
    expected = torch.zeros(IMAGE_SIZE, IMAGE_SIZE, dtype=torch.bool)
    for y, (first, last) in pygame_rows.items():
        expected[y, first : last + 1] = True
    mask = shapeset._rasterize(torch.tensor([vertices]), IMAGE_SIZE).view(IMAGE_SIZE, IMAGE_SIZE)
    assert torch.equal(mask, expected)


def test_a_square_fills_its_truncated_corners_inclusively():
    square = torch.tensor([[[8.7, 8.2], [24.9, 8.2], [24.9, 24.5], [8.7, 24.5]]])
    mask = shapeset._rasterize(square, IMAGE_SIZE).view(IMAGE_SIZE, IMAGE_SIZE)
    expected = torch.zeros(IMAGE_SIZE, IMAGE_SIZE, dtype=torch.bool)
    expected[8:25, 8:25] = True
    assert torch.equal(mask, expected)


def test_padding_vertices_do_not_change_a_polygon():
    triangle = torch.tensor([[[4.0, 4.0], [28.0, 6.0], [10.0, 27.0]]])
    mask = shapeset._rasterize(triangle, IMAGE_SIZE)
    assert torch.equal(shapeset._rasterize(shapeset._pad(triangle, 20), IMAGE_SIZE), mask)


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

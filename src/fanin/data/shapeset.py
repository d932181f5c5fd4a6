"""Shapeset-3x2: Glorot & Bengio's (2010) synthetic shapes, rendered in batches with tensor ops.

Glorot & Bengio, "Understanding the difficulty of training deep feedforward neural networks" (AISTATS 2010)
train on Shapeset-3x2, an infinite stream of 32x32 grey images of one or two objects (triangle,
parallelogram, ellipse), 9 classes. The laws here are those of Glorot's own generator, glorotxa/Shapeset
(`polygongen.Polygongen` with the Shapeset-3x2 settings of `simpleexemple.py`, drawn by
`buildfeaturespolygon.buildimage`), batched with torch and seeded by the caller's generator:

* **Objects**: 1 or 2 per image (`nb_poly_min=1, nb_poly_max=2`, probability 1/2 each); each object's shape
  uniform over the three (`n_vert_list=[3, 4, 20]`: an ellipse is a 20-gon).
* **Base shape** (`n_sided`): the regular n-gon inscribed in a circle of diameter 1 about the origin, with a
  horizontal edge. It is pre-rotated by r1 steps of 2*pi/255 (`rotation_resolution=255`), r1 uniform on
  {0, ..., 255 // n - 1} and folded to negative angles above (254 // 2n), so the pre-rotation spans one
  symmetry period of the n-gon (`poly_type=2`: this is what makes triangles and parallelograms irregular).
* **Scale** per axis U[0.2, 0.8] x 32 pixels (`scale_min`, `scale_max`), the larger on x; then the inverse
  rotation theta2 = -atan(s_y / s_x * tan(theta1)) re-levels the base edge, and a rotation by r3 steps,
  r3 uniform on {0, ..., 253} (`rot_max=1`: `randint(0, 254)`), turns the object.
* **Translation** per axis uniform among the positions keeping every vertex at least 1 pixel inside the
  image: an object is never clipped (`+1`/`-1` in `_corners`).
* **Overlap rejection** (`overlap_max=0.5`, `rejectionmax=50`): the second object's overlap with the first
  is estimated from the vertices, as in `_corners`: the two objects' extents along the line joining their
  centres, proj, against the centres' distance d; if proj >= d the overlap factor is 1 - 2^-((proj-d)/d),
  and the draw is rejected when (area of the new object) x factor / (area of the first) > 0.5, areas taken
  as s_x s_y times the n-gon's area ratio to its circle, n sin(2 pi/n) / 2 pi. A rejected draw redraws scale
  and translation only (shape and rotations stay); after 50 rejections the second object is dropped and
  the image, and its label, have one object. The first object's centre enters as the original stores it,
  truncated to whole pixels (`rval_pos` is int32).
* **Grey levels**, 8 bits (`fg/bg_min/max`, `inv_chance=0.5`): with probability 1/2 the objects are light,
  U{140..255}, on a dark background U{0..114}; else the ranges are swapped. Each object has its own level;
  the second is painted over the first. Pixels are level / 255 mapped to [-1, 1] (`neg=True`).
* **Pixels** (pygame's filled polygon): see `_rasterize` for the rule and how closely it matches pygame.

Measured against the original (ported to Python 3, pygame 2.6.1, 20,000 images each): mean object area per
shape 93.7 / 133.1 / 193.7 pixels (original 93.4 / 132.6 / 193.2), object pixels per image 197 (197), no
object pixel on the border in either, the first object's share covered by the second 0.124 (0.120) on average,
0.93 (0.93) rejections per two-object image, no second object dropped in either, 231 grey levels in both.

On a GPU (`device=`) the pixels are drawn where the network trains: the random draws and each object's
geometry (a few numbers per image, and the rejection loop) stay on the caller's CPU generator, so a run's
stream is the same on every device, and the rasterization and compositing, three quarters of the CPU's time,
run on the device, in integer arithmetic from the same float32 vertices: the same pixels, to the bit,
wherever they are drawn.

Deliberate differences: the random draws come in a batched order of their own (the same laws, not the same
stream as numpy's RandomState); images are stored row = y, where pygame's `pixels2d` array is x-major, a
transpose under which these laws are symmetric; class indices follow SHAPESET_CLASSES (singles, same-shape
pairs, mixed pairs), not the order of `convertout`.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import torch

SHAPESET_CLASSES: tuple[str, ...] = (
    "triangle", "parallelogram", "ellipse",
    "triangle+triangle", "parallelogram+parallelogram", "ellipse+ellipse",
    "triangle+parallelogram", "triangle+ellipse", "parallelogram+ellipse",
)
SHAPES = ("triangle", "parallelogram", "ellipse")
N_VERTICES = (3, 4, 20)  # per shape, in SHAPES order
MAX_VERTICES = max(N_VERTICES)
IMAGE_SIZE = 32
MIN_SIZE = 16  # smaller images would leave the smallest objects (0.2 of the size) a pixel or two

SCALE_RANGE = (0.2, 0.8)  # of the image size, per axis
ROTATION_STEPS = 255  # rotations are multiples of 2*pi / 255
MARGIN = 1.0  # pixels kept free between every vertex and the image border
DARK_LEVELS = (0, 114)  # 8-bit grey levels, inclusive: int(0.45 * 255)
LIGHT_LEVELS = (140, 255)  # int(0.55 * 255)
MAX_OVERLAP = 0.5  # estimated fraction of the first object's area the second may cover
MAX_REJECTIONS = 50  # draws of the second object before it is dropped

# Unordered pair of shapes -> class index, matching SHAPESET_CLASSES.
_PAIR_CLASS = torch.tensor([[3, 6, 7], [6, 4, 8], [7, 8, 5]])
# Images per scene: bounds the memory of one call whatever n is (masks are n x size^2 bools).
_SCENE_CHUNK = 4096


class _Scene(NamedTuple):
    """One batch before compositing; private, but the tests read it to check the laws."""

    labels: torch.Tensor  # int64 (n,)
    # int64 (n,): objects in the image, 1 or 2 (a dropped second object is not counted)
    n_objects: torch.Tensor
    drawn_objects: torch.Tensor  # int64 (n,): objects asked for, 1 or 2
    shapes: torch.Tensor  # int64 (n, 2), index into SHAPES; column 1 meaningful where n_objects == 2
    polygons: torch.Tensor  # float32 (n, 2, MAX_VERTICES, 2): vertices (x, y) in pixels, padded
    scales: torch.Tensor  # float32 (n, 2, 2): (s_x, s_y) in pixels per object
    centres: torch.Tensor  # float32 (n, 2, 2): each object's translation, the centre of its circle
    rejections: torch.Tensor  # int64 (n,): rejected draws of the second object
    first: torch.Tensor  # bool (n, size*size), pixels of the first object
    second: torch.Tensor  # bool (n, size*size), of the second object; all False for one object
    background: torch.Tensor  # int64 (n,), 8-bit grey level
    grey: torch.Tensor  # int64 (n, 2), 8-bit grey level of each object
    dark_objects: torch.Tensor  # bool (n,): dark objects on a light background


class _Objects(NamedTuple):
    polygons: torch.Tensor  # (m, MAX_VERTICES, 2)
    scales: torch.Tensor  # (m, 2)
    centres: torch.Tensor  # (m, 2), the translation


def render_shapeset(
    n: int, generator: torch.Generator, size: int = IMAGE_SIZE, device: torch.device | str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(images float32 (n, size, size) in [-1, 1], labels int64 (n,) in 0..8), on `device` (default: the CPU).

    Deterministic given the generator state, which it advances: successive calls continue the stream, and
    the same state gives the same images on every device.
    """
    n, size = _check_args(n, generator, size)
    device = torch.device("cpu") if device is None else torch.device(device)
    images = torch.empty(n, size, size, device=device)
    labels = torch.empty(n, dtype=torch.int64, device=device)
    for start in range(0, n, _SCENE_CHUNK):
        stop = min(start + _SCENE_CHUNK, n)
        scene = _sample_scene(stop - start, generator, size, device)
        images[start:stop] = _compose(scene, size)
        labels[start:stop] = scene.labels
    return images, labels


def _check_args(n: int, generator: torch.Generator, size: int) -> tuple[int, int]:
    """(n, size) as plain ints; numpy integers are welcome, bools and floats are not."""
    if not _is_int(n) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
        raise ValueError(f"generator must be a CPU torch.Generator, got {generator!r}")
    if not _is_int(size) or size < MIN_SIZE:
        raise ValueError(f"size must be an int >= {MIN_SIZE} (smaller objects would vanish), got {size!r}")
    return int(n), int(size)


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _sample_scene(n: int, generator: torch.Generator, size: int, device: torch.device | None = None
                  ) -> _Scene:
    """Draw colours, shapes and both objects' geometry for n images, in a fixed order of draws, on the CPU;
    the masks are rasterized on `device`."""
    dark, background, grey = _grey_levels(n, generator)
    drawn = 1 + torch.randint(2, (n,), generator=generator)
    shapes = torch.randint(len(SHAPES), (n, 2), generator=generator)
    first = _draw_objects(shapes[:, 0], generator, size)
    polygons = first.polygons[:, None].repeat(1, 2, 1, 1)
    scales = first.scales[:, None].repeat(1, 2, 1)
    centres = first.centres[:, None].repeat(1, 2, 1)
    rejections = torch.zeros(n, dtype=torch.int64)
    kept = torch.zeros(n, dtype=torch.bool)
    pairs = (drawn == 2).nonzero().squeeze(1)
    if pairs.numel():
        second, ok, rejected = _place_second(first, shapes[:, 0], pairs, shapes[pairs, 1], generator, size)
        polygons[pairs, 1], scales[pairs, 1], centres[pairs, 1] = (second.polygons, second.scales,
                                                                    second.centres)
        rejections[pairs], kept[pairs] = rejected, ok
    n_objects = 1 + kept.long()
    first_mask = _rasterize_shapes(polygons[:, 0], shapes[:, 0], size, device)
    second_mask = torch.zeros_like(first_mask)
    if kept.any():
        second_mask[kept.to(first_mask.device)] = _rasterize_shapes(polygons[kept, 1], shapes[kept, 1], size,
                                                                     device)
    labels = torch.where(kept, _PAIR_CLASS[shapes[:, 0], shapes[:, 1]], shapes[:, 0])
    return _Scene(labels, n_objects, drawn, shapes, polygons, scales, centres, rejections, first_mask,
                  second_mask, background, grey, dark)


def _grey_levels(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(dark objects, background level, two object levels): 8-bit, from opposite ranges."""
    u = torch.rand(n, 4, generator=generator)
    dark = u[:, 0] < 0.5
    levels = lambda lo, hi, v: lo + (v * (hi - lo + 1)).long().clamp(max=hi - lo)  # noqa: E731
    background = torch.where(dark, levels(*LIGHT_LEVELS, u[:, 1]), levels(*DARK_LEVELS, u[:, 1]))
    grey = torch.where(dark[:, None], levels(*DARK_LEVELS, u[:, 2:]), levels(*LIGHT_LEVELS, u[:, 2:]))
    return dark, background, grey


def _draw_objects(shapes: torch.Tensor, generator: torch.Generator, size: int) -> _Objects:
    """Fresh objects of the given shapes: rotations, then scale and translation (`_corners`)."""
    theta1, theta3 = _rotations(shapes, generator)
    return _place(shapes, theta1, theta3, torch.rand(len(shapes), 4, generator=generator), size)


def _rotations(shapes: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The pre-rotation theta1 (one symmetry period of the n-gon, folded about 0) and the rotation theta3."""
    u = torch.rand(len(shapes), 2, generator=generator)
    k = torch.tensor(N_VERTICES)[shapes]
    r1 = (u[:, 0] * (ROTATION_STEPS // k)).long()
    fold = r1 > (ROTATION_STEPS - 1) // (2 * k)
    r1 = torch.where(fold, (ROTATION_STEPS - (ROTATION_STEPS - 1) // k + r1).clamp(max=ROTATION_STEPS - 1),
                     r1)
    r3 = (u[:, 1] * (ROTATION_STEPS - 1)).long()
    step = 2 * math.pi / ROTATION_STEPS
    return r1 * step, r3 * step


def _place(shapes: torch.Tensor, theta1: torch.Tensor, theta3: torch.Tensor, u: torch.Tensor, size: int
           ) -> _Objects:
    """Scale (u[:, :2]) and translate (u[:, 2:]) pre-rotated base shapes; vertices in pixels."""
    lo, hi = SCALE_RANGE
    scales = size * (lo + (hi - lo) * u[:, :2])
    scales = torch.stack((scales.amax(1), scales.amin(1)), 1)  # the base stays horizontal: s_x >= s_y
    theta2 = -torch.atan(scales[:, 1] / scales[:, 0] * torch.tan(theta1))
    points = _rotate(_rotate(_base_polygons(shapes), theta1) * scales[:, None, :], theta2 + theta3)
    low = MARGIN - points.amin(1)
    high = size - MARGIN - points.amax(1)
    centres = low + u[:, 2:] * (high - low)
    return _Objects(points + centres[:, None, :], scales, centres)


def _rotate(points: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Each polygon (m, k, 2) turned by its angle theta (m,), as numpy.dot(points, gen_rot(theta))."""
    cos, sin = theta.cos()[:, None], theta.sin()[:, None]
    x, y = points[..., 0], points[..., 1]
    return torch.stack((x * cos - y * sin, x * sin + y * cos), dim=-1)


def _base_polygons(shapes: torch.Tensor) -> torch.Tensor:
    """The regular n-gon of each shape on the circle of radius 1/2, padded to MAX_VERTICES (`n_sided`)."""
    table = torch.stack([_pad(_regular_polygon(k)[None], MAX_VERTICES)[0] for k in N_VERTICES])
    return table[shapes]


def _regular_polygon(k: int) -> torch.Tensor:
    """(k, 2): vertices at angles 2 pi (t/k + 1/2k + 1/4), t = 0..k-1, which puts one edge horizontal."""
    angle = 2 * math.pi * (torch.arange(k, dtype=torch.float64) / k + 1 / (2 * k) + 1 / 4)
    return (0.5 * torch.stack((angle.cos(), angle.sin()), 1)).float()


def _area_ratio(shapes: torch.Tensor) -> torch.Tensor:
    """A regular n-gon's area over its circumscribed circle's, n sin(2 pi / n) / 2 pi (`arearatio`)."""
    k = torch.tensor(N_VERTICES, dtype=torch.float32)[shapes]
    return k * torch.sin(2 * math.pi / k) / (2 * math.pi)


def _place_second(first: _Objects, first_shapes: torch.Tensor, pairs: torch.Tensor, shapes: torch.Tensor,
                  generator: torch.Generator, size: int) -> tuple[_Objects, torch.Tensor, torch.Tensor]:
    """Second objects for images `pairs`: (objects, kept, rejections), after at most MAX_REJECTIONS redraws.

    All pending objects are redrawn together; an object still estimated to cover too much of the first
    after MAX_REJECTIONS rejections is dropped (kept False), as the original gives up after `rejectionmax`.
    """
    theta1, theta3 = _rotations(shapes, generator)
    old_polygons, old_scales = first.polygons[pairs], first.scales[pairs]
    old_centres = first.centres[pairs].trunc()
    old_area = old_scales.prod(1) * _area_ratio(first_shapes[pairs])
    objects = _place(shapes, theta1, theta3, torch.rand(len(shapes), 4, generator=generator), size)
    rejections = torch.zeros(len(shapes), dtype=torch.int64)
    pending = torch.arange(len(shapes))
    while pending.numel():
        too_much = _covers_too_much(old_polygons[pending], old_centres[pending], old_area[pending],
                                    objects.polygons[pending], objects.centres[pending],
                                    objects.scales[pending].prod(1) * _area_ratio(shapes[pending]))
        pending = pending[too_much]
        rejections[pending] += 1
        pending = pending[rejections[pending] < MAX_REJECTIONS]
        if pending.numel():
            redrawn = _place(shapes[pending], theta1[pending], theta3[pending],
                             torch.rand(len(pending), 4, generator=generator), size)
            for field, value in zip(objects, redrawn, strict=True):
                field[pending] = value
    return objects, rejections < MAX_REJECTIONS, rejections


def _covers_too_much(old: torch.Tensor, old_centre: torch.Tensor, old_area: torch.Tensor,
                     new: torch.Tensor, new_centre: torch.Tensor, new_area: torch.Tensor) -> torch.Tensor:
    """The original's overlap estimate from vertices (`_corners`), vectorized over objects."""
    direction = new_centre - old_centre
    distance = direction.norm(dim=1).clamp(min=1e-12)
    unit = direction / distance[:, None]
    reach_old = ((old - old_centre[:, None]) * unit[:, None]).sum(-1).amax(1)
    reach_new = ((new - new_centre[:, None]) * -unit[:, None]).sum(-1).amax(1)
    reach = reach_old + reach_new
    factor = 1 - torch.exp(-(reach - distance) * math.log(2) / distance)
    return (reach >= distance) & (new_area * factor / old_area > MAX_OVERLAP)


def _pad(polygons: torch.Tensor, k: int) -> torch.Tensor:
    # Repeated vertices make zero-length edges, whose half-plane test is 0 >= 0: always passed.
    last = polygons[:, -1:].expand(-1, k - polygons.shape[1], -1)
    return torch.cat((polygons, last), 1)


def _rasterize_shapes(polygons: torch.Tensor, shapes: torch.Tensor, size: int,
                      device: torch.device | None = None) -> torch.Tensor:
    """Masks of padded polygons, each shape tested against its own edges only (a triangle needs 3 tests),
    on `device` (default: the polygons')."""
    device = polygons.device if device is None else device
    masks = torch.empty(len(shapes), size * size, dtype=torch.bool, device=device)
    for shape, k in enumerate(N_VERTICES):
        idx = (shapes == shape).nonzero().squeeze(1)
        if idx.numel():
            masks[idx.to(device)] = _rasterize(polygons[idx, :k].to(device), size)
    return masks


def _rasterize(polygons: torch.Tensor, size: int) -> torch.Tensor:
    """Which pixels pygame's filled polygon covers: polygons (m, k, 2) -> bool (m, size*size), row-major
    (row = y).

    pygame (2.6.1's `draw_fillpoly`) truncates each vertex to whole pixels, then on every row y fills pixels
    floor(x_left(y)) <= x <= floor(x_right(y)), x_left and x_right the smallest and largest x where the
    truncated polygon's edges cross that row (a horizontal edge on the row gives both its ends). Here every
    edge meets every row at once, in exact integer arithmetic. Truncation can dent a 20-gon, which is why
    this follows the scanline rather than intersecting half-planes. Checked against pygame 2.6.1 on the
    29,997 objects of 20,000 images of the original generator: identical pixels. pygame 1.8.1, which the
    paper used, rounded the row ends in integer C arithmetic instead: about 8 of an object's ~139 pixels
    differ, with no change in the mean area.
    """
    vertices = polygons.trunc().long()
    x1, y1 = vertices[..., 0, None], vertices[..., 1, None]  # (m, k, 1): edge i runs from vertex i ...
    nxt = vertices.roll(-1, dims=1)
    x2, y2 = nxt[..., 0, None], nxt[..., 1, None]  # ... to vertex i + 1
    row = torch.arange(size, device=vertices.device)
    spans = (row >= torch.minimum(y1, y2)) & (row <= torch.maximum(y1, y2))  # (m, k, size)
    flat = y1 == y2
    crossing = x1 + torch.div((row - y1) * (x2 - x1), torch.where(flat, 1, y2 - y1), rounding_mode="floor")
    far = size + 1
    left = torch.where(spans, torch.where(flat, torch.minimum(x1, x2), crossing), far).amin(1)  # (m, size)
    right = torch.where(spans, torch.where(flat, torch.maximum(x1, x2), crossing), -far).amax(1)
    column = row
    inside = (column >= left[..., None]) & (column <= right[..., None])  # (m, row, column)
    return inside.view(len(polygons), size * size)


def _compose(scene: _Scene, size: int) -> torch.Tensor:
    """Paint background, first then second object; 8-bit levels mapped to [-1, 1] as `buildimage` does."""
    device = scene.first.device
    background, grey = scene.background[:, None].to(device), scene.grey.to(device)
    image = torch.where(scene.first, grey[:, :1], background)
    image = torch.where(scene.second, grey[:, 1:], image)
    return (image.float() * (2 / 255) - 1).view(-1, size, size)

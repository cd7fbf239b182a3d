//! A small map drawn without any third-party service: the geometry of an inline SVG with the
//! jurisdiction's reference point, the epicentre (or the warning's polygons and circles), the
//! distance between them, a graticule and a scale bar. Equirectangular around the mean
//! latitude, which is accurate enough at the few hundred kilometres an alert covers.
//!
//! Only numbers are computed here; the template draws them (and escapes the labels).

use crate::assess::geo::distance_km;
use serde::Serialize;

pub const WIDTH: f64 = 640.0;
pub const HEIGHT: f64 = 400.0;
const MARGIN: f64 = 36.0;
const KM_PER_DEG: f64 = 111.195;

#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub x: String,
    pub y: String,
    pub label: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub x1: String,
    pub y1: String,
    pub x2: String,
    pub y2: String,
    pub label: String,
    /// Where the label goes.
    pub lx: String,
    pub ly: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Circle {
    pub cx: String,
    pub cy: String,
    pub r: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Map {
    pub width: u32,
    pub height: u32,
    pub title: String,
    pub desc: String,
    pub grid: Vec<Line>,
    pub home: Point,
    pub epicentre: Option<Point>,
    /// Jurisdiction → epicentre, labelled with the distance.
    pub link: Option<Line>,
    /// `points` attributes of warning polygons.
    pub polygons: Vec<String>,
    pub circles: Vec<Circle>,
    pub scale: Line,
}

/// What to draw, in degrees.
pub struct Input<'a> {
    pub home: (f64, f64),
    pub home_label: &'a str,
    /// (lat, lon, label)
    pub epicentre: Option<(f64, f64, String)>,
    /// Rings of (lon, lat).
    pub polygons: &'a [Vec<(f64, f64)>],
    /// (lat, lon, radius km)
    pub circles: &'a [(f64, f64, f64)],
}

/// `北纬30.30度`, as the alert texts write coordinates.
pub fn coord(v: f64, pos: &str, neg: &str) -> String {
    format!("{}{:.2}度", if v >= 0.0 { pos } else { neg }, v.abs())
}

fn f(v: f64) -> String {
    format!("{v:.1}")
}

/// The 16-point Chinese compass direction (正北, 东北偏北, …, 西南偏西) from `from` to `to`.
pub fn direction_zh(from: (f64, f64), to: (f64, f64)) -> &'static str {
    let dy = to.0 - from.0;
    let dx = (to.1 - from.1) * from.0.to_radians().cos();
    let deg = dx.atan2(dy).to_degrees().rem_euclid(360.0);
    const NAMES: [&str; 16] = [
        "正北",
        "东北偏北",
        "东北",
        "东北偏东",
        "正东",
        "东南偏东",
        "东南",
        "东南偏南",
        "正南",
        "西南偏南",
        "西南",
        "西南偏西",
        "正西",
        "西北偏西",
        "西北",
        "西北偏北",
    ];
    NAMES[(((deg + 11.25) / 22.5) as usize) % 16]
}

fn nice_step(span: f64, max_lines: f64, steps: &[f64]) -> f64 {
    steps
        .iter()
        .copied()
        .find(|s| span / s <= max_lines)
        .unwrap_or(*steps.last().unwrap_or(&10.0))
}

fn deg_label(v: f64, pos: &str, neg: &str) -> String {
    let s = format!("{:.2}", v.abs());
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}°{}", if v >= 0.0 { pos } else { neg })
}

pub fn draw(inp: &Input) -> Map {
    // Every (lat, lon) that must be visible.
    let mut pts: Vec<(f64, f64)> = vec![inp.home];
    if let Some((lat, lon, _)) = &inp.epicentre {
        pts.push((*lat, *lon));
    }
    for ring in inp.polygons {
        pts.extend(ring.iter().map(|(lon, lat)| (*lat, *lon)));
    }
    let lat0 = pts.iter().map(|p| p.0).sum::<f64>() / pts.len() as f64;
    let kx = lat0.to_radians().cos().max(0.05);
    for (lat, lon, r) in inp.circles {
        let dlat = r / KM_PER_DEG;
        let dlon = dlat / kx;
        pts.extend([(lat - dlat, lon - dlon), (lat + dlat, lon + dlon)]);
    }
    let (mut lat_min, mut lat_max) = (f64::MAX, f64::MIN);
    let (mut lon_min, mut lon_max) = (f64::MAX, f64::MIN);
    for (lat, lon) in &pts {
        lat_min = lat_min.min(*lat);
        lat_max = lat_max.max(*lat);
        lon_min = lon_min.min(*lon);
        lon_max = lon_max.max(*lon);
    }
    // At least ~30 km across, and 15 % of air around the drawing.
    let min_span = 0.3;
    let (clat, clon) = ((lat_min + lat_max) / 2.0, (lon_min + lon_max) / 2.0);
    let span_lat = (lat_max - lat_min).max(min_span) * 1.3;
    let span_lon = ((lon_max - lon_min) * kx).max(min_span) * 1.3 / kx;
    let (w, h) = (WIDTH - 2.0 * MARGIN, HEIGHT - 2.0 * MARGIN);
    let s = (w / (span_lon * kx)).min(h / span_lat);
    let x = |lon: f64| WIDTH / 2.0 + (lon - clon) * kx * s;
    let y = |lat: f64| HEIGHT / 2.0 - (lat - clat) * s;
    let px_per_km = s / KM_PER_DEG;

    // Graticule over the whole frame.
    let (vlat_min, vlat_max) = (clat - HEIGHT / 2.0 / s, clat + HEIGHT / 2.0 / s);
    let (vlon_min, vlon_max) = (clon - WIDTH / 2.0 / s / kx, clon + WIDTH / 2.0 / s / kx);
    let steps = [0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 45.0];
    let step = nice_step((vlat_max - vlat_min).max(vlon_max - vlon_min), 6.0, &steps);
    let mut grid = Vec::new();
    let mut v = (vlon_min / step).ceil() * step;
    while v <= vlon_max {
        let gx = x(v);
        grid.push(Line {
            x1: f(gx),
            y1: f(0.0),
            x2: f(gx),
            y2: f(HEIGHT),
            label: deg_label(v, "E", "W"),
            lx: f(gx + 3.0),
            ly: f(12.0),
        });
        v += step;
    }
    let mut v = (vlat_min / step).ceil() * step;
    while v <= vlat_max {
        let gy = y(v);
        grid.push(Line {
            x1: f(0.0),
            y1: f(gy),
            x2: f(WIDTH),
            y2: f(gy),
            label: deg_label(v, "N", "S"),
            lx: f(3.0),
            ly: f(gy - 3.0),
        });
        v += step;
    }

    let home = Point {
        x: f(x(inp.home.1)),
        y: f(y(inp.home.0)),
        label: inp.home_label.to_string(),
    };
    let (epicentre, link) = match &inp.epicentre {
        Some((lat, lon, label)) => {
            let d = distance_km(inp.home.0, inp.home.1, *lat, *lon);
            let (ex, ey) = (x(*lon), y(*lat));
            let (hx, hy) = (x(inp.home.1), y(inp.home.0));
            (
                Some(Point {
                    x: f(ex),
                    y: f(ey),
                    label: label.clone(),
                }),
                Some(Line {
                    x1: f(hx),
                    y1: f(hy),
                    x2: f(ex),
                    y2: f(ey),
                    label: format!("约{d:.0}千米"),
                    lx: f((hx + ex) / 2.0 + 6.0),
                    ly: f((hy + ey) / 2.0 - 6.0),
                }),
            )
        }
        None => (None, None),
    };
    let polygons = inp
        .polygons
        .iter()
        .map(|ring| {
            ring.iter()
                .map(|(lon, lat)| format!("{},{}", f(x(*lon)), f(y(*lat))))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let circles = inp
        .circles
        .iter()
        .map(|(lat, lon, r)| Circle {
            cx: f(x(*lon)),
            cy: f(y(*lat)),
            r: f((r * px_per_km).max(2.0)),
        })
        .collect();

    let km_steps = [
        1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0,
    ];
    let max_km = 0.3 * WIDTH / px_per_km;
    let km = km_steps
        .iter()
        .copied()
        .rev()
        .find(|k| *k <= max_km)
        .unwrap_or(1.0);
    let scale = Line {
        x1: f(MARGIN),
        y1: f(HEIGHT - 14.0),
        x2: f(MARGIN + km * px_per_km),
        y2: f(HEIGHT - 14.0),
        label: format!("{km:.0}千米"),
        lx: f(MARGIN),
        ly: f(HEIGHT - 20.0),
    };

    let (title, desc) = match &inp.epicentre {
        Some((lat, lon, _)) => (
            format!("震中与{}位置示意图", inp.home_label),
            format!(
                "震中位于{}、{}，在{}{}方向约{:.0}千米处。",
                coord(*lat, "北纬", "南纬"),
                coord(*lon, "东经", "西经"),
                inp.home_label,
                direction_zh(inp.home, (*lat, *lon)),
                distance_km(inp.home.0, inp.home.1, *lat, *lon)
            ),
        ),
        None => (
            format!("预警区域与{}位置示意图", inp.home_label),
            format!(
                "图中标出预警区域（{}个多边形、{}个圆形）和{}的位置。",
                inp.polygons.len(),
                inp.circles.len(),
                inp.home_label
            ),
        ),
    };
    Map {
        width: WIDTH as u32,
        height: HEIGHT as u32,
        title,
        desc,
        grid,
        home,
        epicentre,
        link,
        polygons,
        circles,
        scale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lushan_is_west_of_chengdu_and_inside_the_frame() {
        assert_eq!(direction_zh((30.66, 104.07), (30.3, 103.0)), "西南偏西");
        assert_eq!(direction_zh((30.66, 104.07), (29.9, 103.2)), "西南");
        assert_eq!(direction_zh((30.0, 104.0), (31.0, 104.0)), "正北");
        let m = draw(&Input {
            home: (30.66, 104.07),
            home_label: "成都市",
            epicentre: Some((30.3, 103.0, "震中".into())),
            polygons: &[],
            circles: &[],
        });
        let (ex, ey): (f64, f64) = (
            m.epicentre.as_ref().unwrap().x.parse().unwrap(),
            m.epicentre.as_ref().unwrap().y.parse().unwrap(),
        );
        let (hx, hy): (f64, f64) = (m.home.x.parse().unwrap(), m.home.y.parse().unwrap());
        assert!(ex < hx && ey > hy, "epicentre is west and south");
        for v in [ex, hx] {
            assert!((0.0..=WIDTH).contains(&v));
        }
        for v in [ey, hy] {
            assert!((0.0..=HEIGHT).contains(&v));
        }
        assert!(m.link.unwrap().label.starts_with("约1"));
        assert!(!m.grid.is_empty());
    }
}

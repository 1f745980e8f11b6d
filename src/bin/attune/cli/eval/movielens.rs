//! MovieLens 100K in RecBole's atomic files (`ml-100k.inter`, `ml-100k.item`, tab-separated
//! with a typed header), as shipped in the PyPI wheel recbole==1.2.1.

use attune::{AttuneError, Result};
use std::collections::BTreeMap;
use std::path::Path;

pub struct Movie {
    pub id: u32,
    /// "Title (year). Genre, Genre": what gets embedded.
    pub text: String,
    pub genres: Vec<String>,
}

#[derive(Clone, Copy)]
pub struct Rating {
    pub user: u32,
    pub item: u32,
    pub rating: f32,
    /// Seconds since the epoch.
    pub ts: i64,
}

fn rows(path: &Path) -> Result<Vec<Vec<String>>> {
    let text = std::fs::read_to_string(path).map_err(|e| AttuneError::Io(format!("{}: {e}", path.display())))?;
    Ok(text.lines().skip(1).filter(|l| !l.is_empty()).map(|l| l.split('\t').map(str::to_string).collect()).collect())
}

fn num<T: std::str::FromStr>(s: &str, what: &str) -> Result<T> {
    s.trim().parse().map_err(|_| AttuneError::InvalidArgument(format!("bad {what} {s:?}")))
}

pub fn movies(dir: &Path) -> Result<BTreeMap<u32, Movie>> {
    let mut out = BTreeMap::new();
    for r in rows(&dir.join("ml-100k.item"))? {
        if r.len() < 4 {
            return Err(AttuneError::InvalidArgument(format!("item row with {} fields", r.len())));
        }
        let id: u32 = num(&r[0], "item id")?;
        let genres: Vec<String> = r[3].split_whitespace().map(str::to_string).collect();
        let year = if r[2].trim().is_empty() { String::new() } else { format!(" ({})", r[2].trim()) };
        let text = format!("{}{}. {}", r[1].trim(), year, genres.join(", "));
        out.insert(id, Movie { id, text, genres });
    }
    Ok(out)
}

pub fn ratings(dir: &Path) -> Result<Vec<Rating>> {
    rows(&dir.join("ml-100k.inter"))?
        .into_iter()
        .map(|r| {
            if r.len() < 4 {
                return Err(AttuneError::InvalidArgument(format!("rating row with {} fields", r.len())));
            }
            Ok(Rating {
                user: num(&r[0], "user id")?,
                item: num(&r[1], "item id")?,
                rating: num(&r[2], "rating")?,
                ts: num::<f64>(&r[3], "timestamp")? as i64,
            })
        })
        .collect()
}

//! A JSON Canvas folder as one zip: `board.canvas` and the images it
//! names beside it, as the app downloads a canvas; and any zip holding a
//! `.canvas` (the shallowest one, if several) read back with the files its
//! nodes name. Paths in a canvas are relative to its folder (as
//! `corkboard-peer export` writes) or to the vault's root (as Obsidian
//! writes): both are looked up.

use std::collections::HashMap;

use board_model::blob::Hash;

use crate::Error;
#[cfg(feature = "zip")]
use crate::entries;
use crate::entries::Entry;

/// A canvas out of a zip.
#[derive(Clone, Debug, PartialEq)]
pub struct CanvasZip {
    /// The `.canvas` entry's path in the zip.
    pub name: String,
    pub canvas: board_canvas::Canvas,
    /// The bytes of each image path the canvas names that the zip holds.
    pub files: HashMap<String, Vec<u8>>,
}

/// The zip of an exported canvas: `board.canvas` and each image this home
/// has (`image` gives its bytes; one not here yet is left out, its node
/// still names it).
#[cfg(feature = "zip")]
pub fn write(
    exported: &board_canvas::Exported,
    image: &dyn Fn(&Hash) -> Option<Vec<u8>>,
) -> Result<Vec<u8>, Error> {
    entries::write(&to_entries(exported, image))
}

/// The entries of an exported canvas's zip.
pub fn to_entries(exported: &board_canvas::Exported, image: &dyn Fn(&Hash) -> Option<Vec<u8>>) -> Vec<Entry> {
    let mut out = vec![Entry { name: "board.canvas".into(), bytes: exported.json.clone().into_bytes() }];
    for (path, hash) in &exported.files {
        if let Some(bytes) = image(hash) {
            out.push(Entry { name: path.clone(), bytes });
        }
    }
    out
}

/// The canvas in `zip` and the files it names.
#[cfg(feature = "zip")]
pub fn read(zip: &[u8]) -> Result<CanvasZip, Error> {
    from_entries(entries::read(zip)?)
}

/// The canvas among a zip's entries and the files it names.
pub fn from_entries(entries: Vec<Entry>) -> Result<CanvasZip, Error> {
    let canvas_entry = entries
        .iter()
        .filter(|e| e.name.to_ascii_lowercase().ends_with(".canvas"))
        // Not the resource forks some archivers add.
        .filter(|e| !e.name.starts_with("__MACOSX/"))
        .min_by_key(|e| (e.name.matches('/').count(), e.name.clone()))
        .ok_or(Error::NoCanvas)?;
    let canvas = board_canvas::Canvas::parse(&canvas_entry.bytes)
        .map_err(|e| Error::Entry { name: canvas_entry.name.clone(), reason: e.to_string() })?;
    let folder = canvas_entry.name.rsplit_once('/').map_or(String::new(), |(dir, _)| format!("{dir}/"));
    let by_name: HashMap<&str, &Entry> = entries.iter().map(|e| (e.name.as_str(), e)).collect();
    let mut files = HashMap::new();
    for path in canvas.image_paths() {
        let wanted = path.trim_start_matches("./");
        let found = by_name
            .get(format!("{folder}{wanted}").as_str())
            .or_else(|| by_name.get(wanted))
            .copied()
            // A vault-relative path in a zip of a folder inside the vault.
            .or_else(|| entries.iter().find(|e| e.name.ends_with(&format!("/{wanted}"))));
        if let Some(entry) = found {
            files.insert(path.clone(), entry.bytes.clone());
        }
    }
    Ok(CanvasZip { name: canvas_entry.name.clone(), canvas, files })
}

#[cfg(all(test, feature = "zip"))]
mod tests {
    use super::*;

    #[test]
    fn a_zipped_canvas_comes_back_with_its_images() {
        let canvas = r#"{"nodes":[{"id":"a","type":"file","file":"images/cat.png","x":0,"y":0,"width":100,"height":100},
            {"id":"b","type":"file","file":"attachments/dog.png","x":200,"y":0,"width":100,"height":100}],"edges":[]}"#;
        let zip = entries::write(&[
            Entry { name: "Trip/Trip.canvas".into(), bytes: canvas.as_bytes().to_vec() },
            Entry { name: "Trip/images/cat.png".into(), bytes: b"cat".to_vec() },
            Entry { name: "vault/attachments/dog.png".into(), bytes: b"dog".to_vec() },
            Entry { name: "Trip/deeper/other.canvas".into(), bytes: b"{}".to_vec() },
        ])
        .expect("zip");
        let read = read(&zip).expect("read");
        assert_eq!(read.name, "Trip/Trip.canvas");
        assert_eq!(read.canvas.nodes.len(), 2);
        assert_eq!(read.files.get("images/cat.png").map(Vec::as_slice), Some(&b"cat"[..]));
        assert_eq!(read.files.get("attachments/dog.png").map(Vec::as_slice), Some(&b"dog"[..]));
    }

    #[test]
    fn a_zip_without_a_canvas_says_so() {
        let zip = entries::write(&[Entry { name: "notes.txt".into(), bytes: b"hi".to_vec() }]).expect("zip");
        assert!(matches!(read(&zip), Err(Error::NoCanvas)));
    }
}
